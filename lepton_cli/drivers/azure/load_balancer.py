"""`load_balancer` on Azure: a Standard static public IP (zone-redundant where the region has
zones, DNS label = its name, so `dns_name` is `<name>.<region>.cloudapp.azure.com`) and a
Standard load balancer: one frontend on that IP, one backend pool (the target scale set joins
it: the compute expansion references `backend_pool_id`, so the balancer exists first), one
health probe and one rule per listener (frontend `port` -> backend `target_port`).

Azure's load balancer works at layer 4: every rule is TCP, and an `http` listener differs from
a `tcp` one only by its probe (HTTP on the health check's path, instead of a TCP connect). It
cannot terminate TLS, so an `https` listener is a validate error: use `protocol: tcp` on 443 to
pass TLS through to the instances (they then hold the certificate), or put Front Door (a `cdn`)
in front. A Standard load balancer is closed by default: the target's network security group
decides who reaches the instances (see docs/azure-load-balancing.md).

The balancer's frontends, pool, probe and rules are parts of one ARM object: a listener or
health-check change is one in-place PUT of the balancer.
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.azure.common import AzureType, parse_id
from lepton_cli.drivers.azure.regions import REGIONS, zone_names
from lepton_cli.drivers.base import ExpandContext, Observed, Primitive, Ref
from lepton_cli.drivers.names import physical_name
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import LoadBalancer, Stack

PUBLIC_IP, LOAD_BALANCER = "azure.public_ip", "azure.load_balancer"
ATTRIBUTES = {"id": (LOAD_BALANCER, "id"), "name": (LOAD_BALANCER, "name"),
              "address": (PUBLIC_IP, "address"), "dns_name": (PUBLIC_IP, "fqdn")}
FRONTEND, POOL, PROBE = "frontend", "pool", "health"
SKU = "Standard"
NAME_LIMIT = 63  # the public IP's DNS label: 3-63 characters, and the balancer's name shares it
IDLE_TIMEOUT = 4  # minutes (Azure's default)


def lb_name(stack: str, name: str) -> str:
    return physical_name(stack, name, limit=NAME_LIMIT, min_length=3)


def target_port(listener) -> int:
    return listener.target_port or listener.port


def needs_network(resource: LoadBalancer) -> bool:
    return False


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource: LoadBalancer = stack.resources[name]
    path = f"resources.{name}.listeners"
    problems = []
    for i, listener in enumerate(resource.listeners):
        if listener.protocol == "https":
            problems.append(Diagnostic(
                summary="Azure's load balancer works at layer 4 and cannot terminate TLS: an https listener is not "
                        "supported on Azure", path=f"{path}.{i}.protocol",
                hint=f"use protocol: tcp on port {listener.port} to pass TLS through to the instances (they hold the "
                     "certificate), or serve https through a cdn (Front Door) in front of an http listener"))
    target = stack.resources.get(resource.target)
    if target is None:
        return problems
    if target.kind != "compute":
        return problems + [Diagnostic(summary=f"a load balancer targets a compute resource; {resource.target!r} is a "
                                              f"{target.kind}", path=f"resources.{name}.target")]
    if stack.cloud_of(resource.target) != stack.cloud_of(name):
        problems.append(Diagnostic(
            summary=f"a load balancer on Azure targets a scale set on Azure; {resource.target!r} is on "
                    f"{stack.cloud_of(resource.target)}", path=f"resources.{name}.target"))
    elif stack.region_of(resource.target) != stack.region_of(name):
        problems.append(Diagnostic(
            summary=f"an Azure load balancer is regional: it must be in {resource.target!r}'s region "
                    f"{stack.region_of(resource.target)}, not {stack.region_of(name)}",
            path=f"resources.{name}.region"))
    for i, listener in enumerate(resource.listeners):
        if target_port(listener) not in target.ports:
            problems.append(Diagnostic(
                summary=f"listener forwards to port {target_port(listener)}, which {resource.target!r} does not open",
                path=f"{path}.{i}", hint=f"add {target_port(listener)} to resources.{resource.target}.ports"))
    return problems


def probe(resource: LoadBalancer) -> dict[str, Any]:
    """HTTP on the health check's path when any listener is http, else a TCP connect; on the
    health check's port, else the first listener's target port."""
    check = resource.health_check
    http = any(l.protocol == "http" for l in resource.listeners)
    return {"protocol": "Http" if http else "Tcp", "port": check.port or target_port(resource.listeners[0]),
            "path": check.path if http else None, "interval": check.interval,
            "threshold": check.unhealthy_threshold}


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    problems = validate(stack, name)
    if problems:
        raise LeptonError(*problems)
    resource: LoadBalancer = stack.resources[name]
    physical = lb_name(stack.stack, name)
    group = Ref(f"network-{region}/azure.resource_group", "name")

    def prim(type_name: str, properties: dict[str, Any]) -> Primitive:
        return Primitive(address=f"{name}/{type_name}", type=type_name, cloud="azure", region=region, resource=name,
                         kind="load_balancer", properties=properties)

    return [
        prim(PUBLIC_IP, {"name": physical, "resource_group": group, "location": region, "sku": SKU,
                         "allocation": "Static", "zones": zone_names(region, REGIONS.get(region, 0)),
                         "dns_label": physical}),
        prim(LOAD_BALANCER, {
            "name": physical, "resource_group": group, "location": region, "sku": SKU,
            "public_ip_id": Ref(f"{name}/{PUBLIC_IP}", "id"), "probe": probe(resource),
            "rules": [{"name": f"port-{l.port}", "protocol": "Tcp", "frontend_port": l.port,
                       "backend_port": target_port(l)} for l in resource.listeners]}),
    ]


class PublicIpType(AzureType):
    type_name = PUBLIC_IP
    client = "network"
    noun = "public IP address"
    property_keys = frozenset({"name", "resource_group", "location", "sku", "allocation", "zones", "dns_label"})
    output_keys = frozenset({"id", "name", "address", "fqdn"})
    replace_on = frozenset({"name", "resource_group", "location", "sku", "allocation", "zones"})
    name_key = "name"

    def items(self, region: str):
        return self.api().public_ip_addresses.list(self.group(region))

    def fetch(self, region: str, name: str, properties):
        return self.api().public_ip_addresses.get(properties.get("resource_group") or self.group(region), name)

    def observe(self, address: str, region: str, item) -> Observed:
        dns = item.dns_settings
        return Observed(address, self.type_name, region, item.id, {
            "name": item.name, "resource_group": parse_id(item.id).get("resource_group", ""),
            "location": (item.location or "").lower(), "sku": item.sku.name if item.sku else "",
            "allocation": item.public_ip_allocation_method or "", "zones": sorted(item.zones or []),
            "dns_label": (dns.domain_name_label if dns else None) or ""},
            {"id": item.id, "name": item.name, "address": item.ip_address or "",
             "fqdn": (dns.fqdn if dns else None) or ""})

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {**properties, "zones": sorted(properties.get("zones") or [])}

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.network import models

        return self.api().public_ip_addresses.begin_create_or_update(
            properties["resource_group"], properties["name"], models.PublicIPAddress(
                location=properties["location"], tags=self.tags(primitive.address),
                sku=models.PublicIPAddressSku(name=properties["sku"], tier="Regional"),
                zones=list(properties["zones"]) or None, public_ip_allocation_method=properties["allocation"],
                public_ip_address_version="IPv4",
                dns_settings=models.PublicIPAddressDnsSettings(domain_name_label=properties["dns_label"]))).result()

    def remove(self, current: Observed) -> None:
        self.api().public_ip_addresses.begin_delete(current.properties["resource_group"],
                                                    current.properties["name"]).result()


def child_id(lb_id: str, collection: str, name: str) -> str:
    return f"{lb_id}/{collection}/{name}"


class LoadBalancerType(AzureType):
    type_name = LOAD_BALANCER
    client = "network"
    noun = "load balancer"
    property_keys = frozenset({"name", "resource_group", "location", "sku", "public_ip_id", "probe", "rules"})
    output_keys = frozenset({"id", "name", "backend_pool_id"})
    replace_on = frozenset({"name", "resource_group", "location", "sku"})
    name_key = "name"
    update_notes = {"rules": "updates the balancer's rules in place", "probe": "updates the health probe in place",
                    "public_ip_id": "moves the frontend to the new address"}

    def can_coexist(self, current: Observed, properties, region: str) -> str | None:
        """A public IP serves one load balancer at a time: a successor on the same address
        can only come after the old balancer is gone."""
        if properties.get("public_ip_id") == current.properties.get("public_ip_id"):
            return "a public IP address serves one load balancer at a time, and the successor keeps it"
        return super().can_coexist(current, properties, region)

    def items(self, region: str):
        return self.api().load_balancers.list(self.group(region))

    def fetch(self, region: str, name: str, properties):
        return self.api().load_balancers.get(properties.get("resource_group") or self.group(region), name)

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {**properties, "rules": sorted(properties.get("rules") or [], key=lambda r: r["frontend_port"])}

    def observe(self, address: str, region: str, item) -> Observed:
        frontends = item.frontend_ip_configurations or []
        pools = item.backend_address_pools or []
        probes = item.probes or []
        read = probes[0] if probes else None
        return Observed(address, self.type_name, region, item.id, self.normalize({
            "name": item.name, "resource_group": parse_id(item.id).get("resource_group", ""),
            "location": (item.location or "").lower(), "sku": item.sku.name if item.sku else "",
            "public_ip_id": (frontends[0].public_ip_address.id if frontends and frontends[0].public_ip_address else ""),
            "probe": {"protocol": read.protocol, "port": read.port, "path": read.request_path or None,
                      "interval": read.interval_in_seconds, "threshold": read.number_of_probes} if read else None,
            "rules": [{"name": r.name, "protocol": r.protocol, "frontend_port": r.frontend_port,
                       "backend_port": r.backend_port} for r in item.load_balancing_rules or []]}),
            {"id": item.id, "name": item.name, "backend_pool_id": pools[0].id if pools else ""})

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.network import models

        group, name = properties["resource_group"], properties["name"]
        lb_id = (f"/subscriptions/{self.driver.subscription}/resourceGroups/{group}"
                 f"/providers/Microsoft.Network/loadBalancers/{name}")
        frontend = models.SubResource(id=child_id(lb_id, "frontendIPConfigurations", FRONTEND))
        pool = models.SubResource(id=child_id(lb_id, "backendAddressPools", POOL))
        check = models.SubResource(id=child_id(lb_id, "probes", PROBE))
        wanted = properties["probe"]
        return self.api().load_balancers.begin_create_or_update(group, name, models.LoadBalancer(
            location=properties["location"], tags=self.tags(primitive.address),
            sku=models.LoadBalancerSku(name=properties["sku"], tier="Regional"),
            frontend_ip_configurations=[models.FrontendIPConfiguration(
                name=FRONTEND, public_ip_address=models.PublicIPAddress(id=properties["public_ip_id"]))],
            backend_address_pools=[models.BackendAddressPool(name=POOL)],
            probes=[models.Probe(name=PROBE, protocol=wanted["protocol"], port=wanted["port"],
                                 request_path=wanted["path"], interval_in_seconds=wanted["interval"],
                                 number_of_probes=wanted["threshold"])],
            load_balancing_rules=[models.LoadBalancingRule(
                name=rule["name"], protocol=rule["protocol"], frontend_port=rule["frontend_port"],
                backend_port=rule["backend_port"], frontend_ip_configuration=frontend, backend_address_pool=pool,
                probe=check, idle_timeout_in_minutes=IDLE_TIMEOUT, enable_floating_ip=False,
                load_distribution="Default") for rule in properties["rules"]])).result()

    def remove(self, current: Observed) -> None:
        self.api().load_balancers.begin_delete(current.properties["resource_group"],
                                               current.properties["name"]).result()


TYPES = [PublicIpType, LoadBalancerType]
