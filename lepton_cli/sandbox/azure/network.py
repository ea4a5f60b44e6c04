"""Microsoft.Network: virtual networks (subnets inline and as child resources), network
security groups, public IP addresses, Standard load balancers. Computed back-references
(subnet `ipConfigurations`, backend pool `backendIPConfigurations`) come from the scale sets'
NIC configurations, and deletes those make "in use" are refused with ARM's codes."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

from lepton_cli.sandbox.azure import compute, refs, versions
from lepton_cli.sandbox.azure.backend import new_guid, public
from lepton_cli.sandbox.azure.errors import ArmError, in_use, invalid
from lepton_cli.sandbox.azure.spec import NETWORK_NAME, ResourceType

NET = "Microsoft.Network"
VNET, SUBNET = f"{NET}/virtualNetworks", f"{NET}/virtualNetworks/subnets"
NSG, PIP, LB = f"{NET}/networkSecurityGroups", f"{NET}/publicIPAddresses", f"{NET}/loadBalancers"
# The inline sub-resources of a load balancer: collection -> the type its ids carry.
LB_PARTS = ("frontendIPConfigurations", "backendAddressPools", "probes", "loadBalancingRules",
            "inboundNatRules", "outboundRules")
DEFAULT_RULES = [
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
]


def _network(prefix: str, where: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.ip_network(prefix, strict=True)
    except (ValueError, TypeError):
        raise invalid(f"Value '{prefix}' of {where} is not a valid CIDR notation (address/prefix).",
                      "InvalidAddressPrefixFormat") from None


def _fill(record: dict) -> None:
    record["properties"]["provisioningState"] = record["properties"].get("provisioningState", "Succeeded")
    record["etag"] = f'W/"{new_guid()}"'


# ---- virtual networks and subnets ------------------------------------------------------
def prepare_vnet(backend: Any, new: dict, old: dict | None) -> None:
    props = new["properties"]
    prefixes = (props.get("addressSpace") or {}).get("addressPrefixes") or []
    if not prefixes:
        raise invalid("Virtual network must have at least one address prefix (addressSpace.addressPrefixes).",
                      "InvalidAddressSpace")
    nets = [_network(p, "addressSpace.addressPrefixes") for p in prefixes]
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            if a.overlaps(b):
                raise invalid(f"Address space {a} overlaps {b} in the same virtual network.",
                              "NetcfgInvalidAddressSpace")
    props["resourceGuid"] = old["properties"]["resourceGuid"] if old else new_guid()
    # as in ARM, a PUT without `subnets` means no subnets (those in use refuse to go)
    wanted = props.pop("subnets", None) or []
    new["_subnets"] = copy.deepcopy(wanted)
    existing = {r["name"].lower(): r for r in backend.of_type(SUBNET.lower(), new["id"] + "/")} if old else {}
    names = [s.get("name") for s in wanted]
    if any(not n for n in names):
        raise invalid("Each subnet needs a name.", "InvalidRequestFormat")
    for name, subnet in existing.items():
        if name not in {n.lower() for n in names}:
            check_subnet_delete(backend, subnet)
    _check_subnets(new, [(s["name"], (s.get("properties") or {}).get("addressPrefix")) for s in wanted])
    for s in wanted:
        _check_subnet_refs(backend, new["id"] + "/subnets/" + s["name"], s.get("properties") or {})


def _check_subnets(vnet: dict, subnets: list[tuple[str, Any]]) -> None:
    space = [_network(p, "addressSpace") for p in vnet["properties"]["addressSpace"]["addressPrefixes"]]
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, prefix in subnets:
        if not prefix:
            raise invalid(f"Subnet '{name}' is missing the addressPrefix property.", "InvalidRequestFormat")
        net = _network(prefix, f"subnet '{name}' addressPrefix")
        if not any(net.subnet_of(s) for s in space if s.version == net.version):
            raise invalid(f"Subnet '{name}' is not valid in virtual network '{vnet['name']}': its address prefix "
                          f"{prefix} is outside the virtual network's address space.", "NetcfgSubnetRangeOutsideVnet")
        for other, onet in seen:
            if net.overlaps(onet):
                raise invalid(f"Subnet '{name}' is not valid because its IP address range overlaps with that of an "
                              f"existing subnet '{other}' in virtual network '{vnet['name']}'.",
                              "NetcfgSubnetRangesOverlap")
        seen.append((name, net))


def _check_subnet_refs(backend: Any, subnet_id: str, props: dict) -> None:
    if props.get("networkSecurityGroup"):
        refs.resolve(backend, props["networkSecurityGroup"], "properties.networkSecurityGroup", subnet_id, NSG)


def after_vnet(backend: Any, vnet: dict, old: dict | None) -> None:
    """Inline subnets in the VNet body become child records (and absent ones go)."""
    wanted = vnet.pop("_subnets", [])
    keep = set()
    for s in wanted:
        sid = f"{vnet['id']}/subnets/{s['name']}"
        keep.add(sid.lower())
        prior = backend.get(sid)
        record = {"id": prior["id"] if prior else sid, "name": prior["name"] if prior else s["name"],
                  "type": SUBNET, "properties": copy.deepcopy(s.get("properties") or {}),
                  "_type": SUBNET.lower(), "_sub": vnet["_sub"], "_group": vnet["_group"], "_parent": vnet["id"]}
        record["properties"]["provisioningState"] = vnet["properties"]["provisioningState"]
        _fill(record)
        backend.resources[record["id"].lower()] = record
    for key in [k for k, r in backend.resources.items() if r["_type"] == SUBNET.lower()
                and r["_parent"].lower() == vnet["id"].lower() and k not in keep]:
        backend.resources.pop(key)
    backend.sync_inline(vnet["id"], backend.types[SUBNET.lower()])


def prepare_subnet(backend: Any, new: dict, old: dict | None) -> None:
    vnet = backend.get(new["_parent"])
    others = [(r["name"], r["properties"].get("addressPrefix"))
              for r in backend.of_type(SUBNET.lower(), vnet["id"] + "/") if r["id"].lower() != new["id"].lower()]
    _check_subnets(vnet, others + [(new["name"], new["properties"].get("addressPrefix"))])
    _check_subnet_refs(backend, new["id"], new["properties"])


def subnet_users(backend: Any, subnet_id: str) -> list[str]:
    return [ipc_id for ipc_id, props in compute.nic_ip_configs(backend)
            if props["subnet"]["id"].lower() == subnet_id.lower()]


def check_subnet_delete(backend: Any, subnet: dict) -> None:
    users = subnet_users(backend, subnet["id"])
    if users:
        raise in_use("InUseSubnetCannotBeDeleted",
                     f"Subnet {subnet['name']} is in use by {users[0]} and cannot be deleted. In order to delete "
                     "the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.")


def check_vnet_delete(backend: Any, vnet: dict) -> None:
    for subnet in backend.of_type(SUBNET.lower(), vnet["id"] + "/"):
        check_subnet_delete(backend, subnet)


def show_subnet(backend: Any, record: dict) -> dict:
    out = public(record)
    out["properties"].pop("ipConfigurations", None)  # computed: never what a client sent back
    users = subnet_users(backend, record["id"])
    if users:
        out["properties"]["ipConfigurations"] = [{"id": u} for u in users]
    return out


def show_vnet(backend: Any, record: dict) -> dict:
    out = public(record)
    subnets = backend.of_type(SUBNET.lower(), record["id"] + "/")
    out["properties"]["subnets"] = [show_subnet(backend, r) for r in subnets]
    return out


# ---- network security groups ---------------------------------------------------------------
_DIRECTIONS, _ACCESS = {"inbound": "Inbound", "outbound": "Outbound"}, {"allow": "Allow", "deny": "Deny"}
_PROTOCOLS = {p.lower(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}


def prepare_nsg(backend: Any, new: dict, old: dict | None) -> None:
    props = new["properties"]
    props["resourceGuid"] = old["properties"]["resourceGuid"] if old else new_guid()
    seen: dict[tuple[str, int], str] = {}
    for rule in props.setdefault("securityRules", []):
        name, rp = rule.get("name"), rule.setdefault("properties", {})
        if not name:
            raise invalid("Each security rule needs a name.", "InvalidRequestFormat")
        direction = _DIRECTIONS.get(str(rp.get("direction", "")).lower())
        access = _ACCESS.get(str(rp.get("access", "")).lower())
        protocol = _PROTOCOLS.get(str(rp.get("protocol", "")).lower())
        priority = rp.get("priority")
        if direction is None or access is None or protocol is None:
            raise invalid(f"Security rule {name} has an invalid or missing direction, access or protocol.",
                          "SecurityRuleInvalidProtocol" if protocol is None else "InvalidRequestFormat")
        if not isinstance(priority, int) or not 100 <= priority <= 4096:
            raise invalid(f"Security rule {name} has invalid Priority {priority}. Value provided: {priority} Allowed "
                          "range 100-4096.", "SecurityRuleInvalidPriority")
        if (direction, priority) in seen:
            raise invalid(f"Security rule {name} conflicts with rule {seen[(direction, priority)]}. Rules cannot have "
                          "the same Priority and Direction.", "SecurityRuleConflict")
        seen[(direction, priority)] = name
        rp.update(direction=direction, access=access, protocol=protocol, provisioningState="Succeeded")
        rule.update(id=f"{new['id']}/securityRules/{name}", type=f"{NSG}/securityRules", etag=f'W/"{new_guid()}"')
    props["defaultSecurityRules"] = [
        {"id": f"{new['id']}/defaultSecurityRules/{name}", "name": name, "type": f"{NSG}/defaultSecurityRules",
         "properties": {"description": name, "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
                        "sourceAddressPrefix": src, "destinationAddressPrefix": dst, "access": access,
                        "priority": priority, "direction": direction, "provisioningState": "Succeeded"}}
        for name, priority, direction, access, src, dst in DEFAULT_RULES]


def nsg_users(backend: Any, nsg: dict) -> list[str]:
    target = nsg["id"].lower()
    found = [r["id"] for r in backend.of_type(SUBNET.lower())
             if ((r["properties"].get("networkSecurityGroup") or {}).get("id") or "").lower() == target]
    for vmss in backend.of_type(compute.VMSS.lower()):
        for nic in vmss["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"]:
            ref = (nic["properties"].get("networkSecurityGroup") or {}).get("id") or ""
            if ref.lower() == target:
                found.append(vmss["id"])
    return found


def check_nsg_delete(backend: Any, nsg: dict) -> None:
    users = nsg_users(backend, nsg)
    if users:
        raise in_use("InUseNetworkSecurityGroupCannotBeDeleted",
                     f"Network security group {nsg['id']} cannot be deleted because it is in use by the following "
                     f"resources: {', '.join(users)}. In order to delete the Network security group, remove the "
                     "association with the resource(s).")


def show_nsg(backend: Any, record: dict) -> dict:
    out = public(record)
    out["properties"].pop("subnets", None)
    subnets = [u for u in nsg_users(backend, record) if "/subnets/" in u.lower()]
    if subnets:
        out["properties"]["subnets"] = [{"id": u} for u in subnets]
    return out


# ---- public IP addresses -----------------------------------------------------------------
def prepare_pip(backend: Any, new: dict, old: dict | None) -> None:
    props = new["properties"]
    sku = new.setdefault("sku", {"name": "Basic", "tier": "Regional"})
    sku.setdefault("tier", "Regional")
    if sku.get("name") not in ("Basic", "Standard"):
        raise invalid(f"Public IP address SKU '{sku.get('name')}' is invalid: Basic or Standard.",
                      "InvalidRequestFormat")
    allocation = props.setdefault("publicIPAllocationMethod", "Static" if sku["name"] == "Standard" else "Dynamic")
    if sku["name"] == "Standard" and allocation != "Static":
        raise invalid(f"Standard sku publicIp {new['id']} must have AllocationMethod set to Static.",
                      "InvalidParameter")
    props.setdefault("publicIPAddressVersion", "IPv4")
    props.setdefault("idleTimeoutInMinutes", 4)
    props["resourceGuid"] = old["properties"]["resourceGuid"] if old else new_guid()
    if old is not None and old.get("sku", {}).get("name") != sku["name"]:
        raise invalid("The SKU of a public IP address cannot be changed.", "PublicIPAddressSkuCannotBeChanged")
    if old is not None and old.get("zones") != new.get("zones"):
        raise invalid("The zones of a public IP address cannot be changed.",
                      "ResourceAvailabilityZonesCannotBeModified")
    if old is not None and "ipAddress" in old["properties"]:
        props["ipAddress"] = old["properties"]["ipAddress"]
    elif allocation == "Static":
        n = backend.state["pip"] = backend.state.get("pip", 0) + 1
        props["ipAddress"] = f"20.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"
    label = (props.get("dnsSettings") or {}).get("domainNameLabel")
    if label:
        props["dnsSettings"]["fqdn"] = f"{label}.{new['location']}.cloudapp.azure.com"


def pip_users(backend: Any, pip: dict) -> list[str]:
    target = pip["id"].lower()
    return [f["id"] for lb in backend.of_type(LB.lower())
            for f in lb["properties"].get("frontendIPConfigurations") or []
            if ((f["properties"].get("publicIPAddress") or {}).get("id") or "").lower() == target]


def check_pip_delete(backend: Any, pip: dict) -> None:
    users = pip_users(backend, pip)
    if users:
        raise in_use("PublicIPAddressCannotBeDeleted",
                     f"Public IP address {pip['id']} can not be deleted since it is still allocated to resource "
                     f"{users[0]}. In order to delete the public IP, disassociate/detach the Public IP address "
                     "from the resource.")


def show_pip(backend: Any, record: dict) -> dict:
    out = public(record)
    out["properties"].pop("ipConfiguration", None)
    users = pip_users(backend, record)
    if users:
        out["properties"]["ipConfiguration"] = {"id": users[0]}
    return out


# ---- load balancers ------------------------------------------------------------------------------
def prepare_lb(backend: Any, new: dict, old: dict | None) -> None:
    props, lb_id = new["properties"], new["id"]
    sku = new.setdefault("sku", {"name": "Basic", "tier": "Regional"})
    sku.setdefault("tier", "Regional")
    if sku.get("name") not in ("Basic", "Standard", "Gateway"):
        raise invalid(f"Load balancer SKU '{sku.get('name')}' is invalid.", "InvalidRequestFormat")
    props["resourceGuid"] = old["properties"]["resourceGuid"] if old else new_guid()
    names: dict[str, set[str]] = {}
    for part in LB_PARTS:
        items = props.setdefault(part, [])
        names[part] = set()
        for item in items:
            if not item.get("name"):
                raise invalid(f"Each of {part} needs a name.", "InvalidRequestFormat")
            if item["name"].lower() in names[part]:
                raise invalid(f"Duplicate name {item['name']} in {part}.", "InvalidRequestFormat")
            names[part].add(item["name"].lower())
            item["id"] = f"{lb_id}/{part}/{item['name']}"
            item["type"] = f"{LB}/{part}"
            item["etag"] = f'W/"{new_guid()}"'
            item.setdefault("properties", {})["provisioningState"] = "Succeeded"

    def local(ref: Any, part: str, where: str) -> str:
        value = refs.check_shape(ref, where)
        parent, collection, name = value.rsplit("/", 2)
        if parent.lower() != lb_id.lower() or collection != part or name.lower() not in names[part]:
            raise ArmError(400, "InvalidResourceReference",
                           f"Resource {value} referenced by resource {lb_id} was not found. Please make sure that "
                           "the referenced resource exists, and that both resources are in the same region.")
        return value

    for f in props["frontendIPConfigurations"]:
        fp = f["properties"]
        if fp.get("publicIPAddress"):
            pip = refs.resolve(backend, fp["publicIPAddress"], "frontendIPConfigurations.publicIPAddress", lb_id, PIP,
                               location=new["location"])
            if sku["name"] == "Standard" and pip.get("sku", {}).get("name") != "Standard":
                raise invalid(f"Standard sku load balancer {lb_id} cannot reference Basic sku publicIP {pip['id']}.",
                              "InvalidParameter")
            others = [u for u in pip_users(backend, pip) if not u.lower().startswith(lb_id.lower() + "/")]
            if others:
                raise invalid(f"Resource {pip['id']} is referenced by multiple ipconfigs in resources "
                              f"{others[0]} and {f['id']}.", "PublicIPAddressInUse")
        elif fp.get("subnet"):
            refs.resolve(backend, fp["subnet"], "frontendIPConfigurations.subnet", lb_id, SUBNET)
        else:
            raise invalid(f"Frontend IP configuration {f['name']} needs a publicIPAddress or a subnet.",
                          "InvalidRequestFormat")
    for p in props["probes"]:
        pp = p["properties"]
        protocol = str(pp.get("protocol", ""))
        if protocol not in ("Tcp", "Http", "Https") or not isinstance(pp.get("port"), int):
            raise invalid(f"Probe {p['name']} needs a protocol (Tcp, Http, Https) and a port.", "InvalidRequestFormat")
        if protocol in ("Http", "Https") and not pp.get("requestPath"):
            raise invalid(f"Probe {p['name']} with protocol {protocol} needs a requestPath.", "InvalidRequestFormat")
        pp.setdefault("intervalInSeconds", 15)
        pp.setdefault("numberOfProbes", 2)
    used_rules: dict[str, list[str]] = {}
    for r in props["loadBalancingRules"]:
        rp, where = r["properties"], f"loadBalancingRules[{r['name']}]"
        for key in ("protocol", "frontendPort", "backendPort"):
            if rp.get(key) is None:
                raise invalid(f"Load balancing rule {r['name']} is missing {key}.", "InvalidRequestFormat")
        if not rp.get("frontendIPConfiguration"):
            raise invalid(f"Load balancing rule {r['name']} is missing frontendIPConfiguration.",
                          "InvalidRequestFormat")
        front = local(rp["frontendIPConfiguration"], "frontendIPConfigurations", where)
        used_rules.setdefault(front.lower(), []).append(r["id"])
        if rp.get("backendAddressPool"):
            local(rp["backendAddressPool"], "backendAddressPools", where)
        for pool in rp.get("backendAddressPools") or []:
            local(pool, "backendAddressPools", where)
        if rp.get("probe"):
            local(rp["probe"], "probes", where)
        rp.setdefault("idleTimeoutInMinutes", 4)
        rp.setdefault("enableFloatingIP", False)
        rp.setdefault("loadDistribution", "Default")
    for f in props["frontendIPConfigurations"]:
        rules = used_rules.get(f["id"].lower())
        if rules:
            f["properties"]["loadBalancingRules"] = [{"id": i} for i in rules]
        else:
            f["properties"].pop("loadBalancingRules", None)
    if old is not None:  # a backend pool a scale set still uses cannot be removed
        for pool in old["properties"].get("backendAddressPools") or []:
            if pool["name"].lower() not in names["backendAddressPools"]:
                users = pool_users(backend, pool["id"])
                if users:
                    raise invalid(f"Backend address pool {pool['id']} cannot be removed: it is in use by "
                                  f"{users[0]}.", "LoadBalancerBackendAddressPoolInUseByVirtualMachineScaleSet")


def pool_users(backend: Any, pool_id: str) -> list[str]:
    target = pool_id.lower()
    return [ipc_id for ipc_id, props in compute.nic_ip_configs(backend)
            if any(p["id"].lower() == target for p in props.get("loadBalancerBackendAddressPools") or [])]


def check_lb_delete(backend: Any, lb: dict) -> None:
    for pool in lb["properties"].get("backendAddressPools") or []:
        for ipc in pool_users(backend, pool["id"]):
            vmss = ipc.split("/virtualMachines/")[0]
            raise in_use("LoadBalancerInUseByVirtualMachineScaleSet",
                         f"Cannot delete load balancer {lb['id']} since its child resources {pool['name']} are in "
                         f"use by virtual machine scale set {vmss}.")


def show_lb(backend: Any, record: dict) -> dict:
    out = public(record)
    for pool in out["properties"].get("backendAddressPools") or []:
        pool["properties"].pop("backendIPConfigurations", None)
        users = pool_users(backend, pool["id"])
        if users:
            pool["properties"]["backendIPConfigurations"] = [{"id": u} for u in users]
    return out


TYPES = [
    ResourceType(VNET, versions.NETWORK, etag=True, patch="sync", name_rule=NETWORK_NAME, prepare=prepare_vnet,
                 after_put=after_vnet, check_delete=check_vnet_delete, public=show_vnet),
    ResourceType(SUBNET, versions.NETWORK, etag=True, location="none", inline="subnets", name_rule=NETWORK_NAME,
                 prepare=prepare_subnet, check_delete=check_subnet_delete, public=show_subnet, generic=False,
                 lists_in_subscription=False),
    ResourceType(NSG, versions.NETWORK, etag=True, patch="sync", name_rule=NETWORK_NAME, prepare=prepare_nsg,
                 check_delete=check_nsg_delete, public=show_nsg),
    ResourceType(PIP, versions.NETWORK | {"2018-10-01"}, etag=True, patch="sync", name_rule=NETWORK_NAME,
                 prepare=prepare_pip, check_delete=check_pip_delete, public=show_pip),
    ResourceType(LB, versions.NETWORK, etag=True, patch="sync", name_rule=NETWORK_NAME, prepare=prepare_lb,
                 check_delete=check_lb_delete, public=show_lb),
]
