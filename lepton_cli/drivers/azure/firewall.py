"""Network security groups: what `ports` and `allow_from` open to a compute group, attached to
its scale set's network interfaces. Azure's default rules stay (inbound from the VNet and from
the `AzureLoadBalancer` service tag allowed, everything else from the internet denied), so
nothing is open to the world unless the plan says so (an `allow_from` of 0.0.0.0/0).

A load-balanced group also gets an allow rule from `AzureLoadBalancer` (the probes' source) to
its target and health-check ports, and one from `Internet` to the ports its public load
balancer forwards to: a Standard load balancer keeps the client's address, so without it the
listeners the plan declares public would reach no instance. The instances of a load-balanced
group have no public address, so that rule admits the world only through the balancer's
listeners (what an AWS load balancer's listener opens too); every other port stays closed but to
`allow_from` (see docs/azure-compute.md).

A rule is `{"name", "priority", "direction", "access", "protocol", "sources", "ports"}`,
lists sorted; a change of rules is a PUT of the whole group, in place.
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.azure.common import AzureType, parse_id
from lepton_cli.drivers.azure.network import group_ref
from lepton_cli.drivers.azure.rest import as_json, dig, location_of, observed
from lepton_cli.drivers.base import Primitive
from lepton_cli.drivers.names import physical_name

PROBES = "AzureLoadBalancer"  # the service tag Azure's health probes come from
BALANCED = "Internet"  # where a public load balancer's clients come from
CLIENT_PRIORITY, BALANCED_PRIORITY, PROBE_PRIORITY = 100, 105, 110


def rule(name: str, priority: int, sources: list[str], ports: list[int]) -> dict[str, Any]:
    """An inbound tcp allow rule from `sources` (CIDRs or a service tag) to `ports`."""
    return {"name": name, "priority": priority, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
            "sources": sorted(set(sources)), "ports": sorted({str(p) for p in ports}, key=_port_key)}


def group_name(stack: str, name: str) -> str:
    return physical_name(stack, name, limit=80)


def security_group(stack: str, name: str, region: str, *, allow_from: list[str], ports: list[int],
                   balanced_ports: list[int], probe_ports: list[int]) -> Primitive:
    """`<name>/azure.network_security_group`: `ports` open to `allow_from`, `balanced_ports` (what
    public load balancers forward their listeners to) to their clients, and `probe_ports` to the
    load balancers' probes."""
    rules = []
    if allow_from and ports:
        rules.append(rule("allow-clients", CLIENT_PRIORITY, allow_from, ports))
    if balanced_ports:
        rules.append(rule("allow-lb-clients", BALANCED_PRIORITY, [BALANCED], balanced_ports))
    if probe_ports:
        rules.append(rule("allow-lb-probes", PROBE_PRIORITY, [PROBES], probe_ports))
    return Primitive(address=f"{name}/azure.network_security_group", type="azure.network_security_group",
                     cloud="azure", region=region, resource=name, kind="compute",
                     properties={"name": group_name(stack, name), "resource_group": group_ref(region),
                                 "location": region, "rules": rules})


class NetworkSecurityGroupType(AzureType):
    type_name = "azure.network_security_group"
    client = "network"
    noun = "network security group"
    property_keys = frozenset({"name", "resource_group", "location", "rules"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "resource_group", "location"})
    update_notes = {"rules": "changes the security rules in place"}

    def normalize(self, properties):
        return {**properties, "rules": sorted(
            ({**r, "sources": sorted(r["sources"]), "ports": sorted(r["ports"], key=_port_key)}
             for r in properties["rules"]), key=lambda r: (r["priority"], r["name"]))}

    def items(self, region):
        return self.api().network_security_groups.list(self.group(region))

    def fetch(self, region, name, properties):
        return self.api().network_security_groups.get(properties.get("resource_group") or self.group(region), name)

    def put(self, primitive, properties):
        body = {"location": properties["location"], "tags": self.tags(primitive.address),
                "properties": {"securityRules": [_wire(r) for r in properties["rules"]]}}
        return self.api().network_security_groups.begin_create_or_update(
            properties["resource_group"], properties["name"], body).result()

    def remove(self, current):
        self.api().network_security_groups.begin_delete(current.properties["resource_group"],
                                                        parse_id(current.id)["name"]).result()

    def observe(self, address, region, item):
        data = as_json(item)
        return observed(self, address, region, item, self.normalize({
            "name": data["name"], "resource_group": parse_id(data["id"])["resource_group"],
            "location": location_of(data),
            "rules": [_read(r) for r in dig(data, "properties", "securityRules", default=[])]}))


def _wire(r: dict[str, Any]) -> dict[str, Any]:
    """A rule as ARM takes it: one prefix/range in the singular field, several in the plural."""
    props: dict[str, Any] = {"priority": r["priority"], "direction": r["direction"], "access": r["access"],
                             "protocol": r["protocol"], "sourcePortRange": "*", "destinationAddressPrefix": "*"}
    for singular, plural, values in (("sourceAddressPrefix", "sourceAddressPrefixes", r["sources"]),
                                     ("destinationPortRange", "destinationPortRanges", r["ports"])):
        if len(values) == 1:
            props[singular] = values[0]
        else:
            props[plural] = list(values)
    return {"name": r["name"], "properties": props}


def _read(r: dict[str, Any]) -> dict[str, Any]:
    p = r.get("properties", {})

    def either(singular: str, plural: str) -> list[str]:
        return [p[singular]] if p.get(singular) else list(p.get(plural) or [])

    return {"name": r["name"], "priority": p.get("priority"), "direction": p.get("direction"),
            "access": p.get("access"), "protocol": p.get("protocol"),
            "sources": sorted(either("sourceAddressPrefix", "sourceAddressPrefixes")),
            "ports": sorted(either("destinationPortRange", "destinationPortRanges"), key=_port_key)}


def _port_key(port: str) -> tuple[int, str]:
    head = port.split("-")[0]
    return (int(head), port) if head.isdigit() else (0, port)


TYPES = [NetworkSecurityGroupType]
