"""VPC firewall rules: what `ports` and `allow_from` open, to the instances of one group
(its network tag). Nothing is open to the world unless the plan says so (an `allow_from` of
0.0.0.0/0); a load balancer's expansion adds the rule for Google's health-check and proxy
ranges with `rule(...)` too.

A rule is `{"name", "network", "direction", "priority", "source_ranges", "target_tags",
"allowed": [{"protocol", "ports"}]}`, lists sorted; changing ranges, ports or tags patches
the rule in place.
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.base import Observed, Primitive
from lepton_cli.drivers.gcp import network
from lepton_cli.drivers.gcp.common import GLOBAL, ComputeType

PRIORITY = 1000  # Google's default


def allowed(ports: list[int], protocol: str = "tcp") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "ports": sorted({str(p) for p in ports}, key=int)}]


def rule(address: str, resource: str, kind: str, name: str, source_ranges: list[str], ports: list[int],
         target_tags: list[str]) -> Primitive:
    """The ingress rule at `address` (`<resource>/gcp.firewall[/<key>]`): tcp `ports` from
    `source_ranges` to the instances carrying `target_tags`, on the stack's network."""
    return Primitive(address=address, type="gcp.firewall", cloud="gcp", region=GLOBAL, resource=resource, kind=kind,
                     properties={"name": name, "network": network.network_ref(), "direction": "INGRESS",
                                 "priority": PRIORITY, "source_ranges": sorted(set(source_ranges)),
                                 "target_tags": sorted(set(target_tags)), "allowed": allowed(ports)})


class FirewallType(ComputeType):
    type_name = "gcp.firewall"
    collection, resource_field, ident_field = "Firewalls", "firewall_resource", "firewall"
    scope = GLOBAL
    noun = "firewall rule"
    property_keys = frozenset({"name", "network", "direction", "priority", "source_ranges", "target_tags", "allowed"})
    output_keys = frozenset({"id", "self_link", "name"})
    replace_on = frozenset({"name", "network", "direction"})
    update_notes = {k: "changes the firewall rule" for k in ("priority", "source_ranges", "target_tags", "allowed")}

    def normalize(self, properties):
        return {**properties, "source_ranges": sorted(properties["source_ranges"]),
                "target_tags": sorted(properties["target_tags"]),
                "allowed": sorted(({"protocol": a["protocol"], "ports": sorted(a["ports"], key=_port_key)}
                                   for a in properties["allowed"]), key=lambda a: (a["protocol"], a["ports"]))}

    def _settings(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {"priority": properties["priority"], "source_ranges": list(properties["source_ranges"]),
                "target_tags": list(properties["target_tags"]),
                "allowed": [{"I_p_protocol": a["protocol"], "ports": list(a["ports"])} for a in properties["allowed"]]}

    def body(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any]:
        return {"name": properties["name"], "network": properties["network"], "direction": properties["direction"],
                **self._settings(properties)}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        return self.observed(address, region, item, self.normalize({
            "name": item.name, "network": network.url_of(item.network), "direction": item.direction,
            "priority": item.priority, "source_ranges": list(item.source_ranges),
            "target_tags": list(item.target_tags),
            "allowed": [{"protocol": a.I_p_protocol, "ports": list(a.ports)} for a in item.allowed]}))

    def update(self, primitive, properties, current, changed) -> Observed:
        """The whole rule, marker included (`update` is a PUT: a patch cannot empty a list)."""
        name = properties["name"]
        self.call("update", f"changing the firewall rule {name}", primitive.address, location=self.where_of(current),
                  firewall=name, firewall_resource={**self.body(primitive, properties),
                                                    **self.marker(primitive.address)})
        return self.observe(primitive.address, primitive.region, self.get(primitive.region, name))


def _port_key(port: str) -> tuple[int, str]:
    return (int(port.split("-")[0]), port) if port.split("-")[0].isdigit() else (0, port)


TYPES = [FirewallType]
