"""The implicit network of a stack on Google Cloud: one custom-mode VPC network (global, regional
dynamic routing) and one subnetwork in each region where the stack's resources need one.

Subnetwork ranges are fixed per region (its index in `REGIONS`), so the same stack always gets
the same addresses and a stack spanning regions never overlaps itself.
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.base import Observed, Primitive, Ref
from lepton_cli.drivers.gcp.common import API, GLOBAL, ComputeType, path_of
from lepton_cli.drivers.gcp.regions import REGIONS
from lepton_cli.drivers.names import physical_name
from lepton_cli.spec.models import Stack

ROUTING_MODE = "REGIONAL"
NETWORK_ADDRESS = f"network-{GLOBAL}/gcp.network"


def network_name(stack: str) -> str:
    return physical_name(stack, "net", limit=63)


def subnetwork_name(stack: str, region: str) -> str:
    return physical_name(stack, region, limit=63)


def subnetwork_address(region: str) -> str:
    return f"network-{region}/gcp.subnetwork"


def network_ref() -> Ref:
    """The network's selfLink, what firewalls and templates name it by."""
    return Ref(NETWORK_ADDRESS, "self_link")


def subnetwork_ref(region: str) -> Ref:
    return Ref(subnetwork_address(region), "self_link")


def subnetwork_cidr(region: str) -> str:
    """10.<4 × the region's index>.0.0/20: a /20 (4,096 addresses) per region, never overlapping."""
    return f"10.{list(REGIONS).index(region) * 4}.0.0/20"


def expand_network(driver, stack: Stack, regions: list[str]) -> list[Primitive]:
    network = Primitive(address=NETWORK_ADDRESS, type="gcp.network", cloud="gcp", region=GLOBAL,
                        resource=f"network-{GLOBAL}", kind="network",
                        properties={"name": network_name(stack.stack), "routing_mode": ROUTING_MODE,
                                    "auto_create_subnetworks": False})
    subnetworks = [Primitive(address=subnetwork_address(region), type="gcp.subnetwork", cloud="gcp", region=region,
                             resource=f"network-{region}", kind="network",
                             properties={"name": subnetwork_name(stack.stack, region), "network": network_ref(),
                                         "ip_cidr_range": subnetwork_cidr(region), "private_ip_google_access": True})
                   for region in regions]
    return [network, *subnetworks]


class NetworkType(ComputeType):
    """A custom-mode VPC network: subnetworks are lepton's, one per region it uses."""

    type_name = "gcp.network"
    collection, resource_field, ident_field = "Networks", "network_resource", "network"
    scope = GLOBAL
    noun = "network"
    property_keys = frozenset({"name", "routing_mode", "auto_create_subnetworks"})
    output_keys = frozenset({"id", "self_link", "name"})
    replace_on = frozenset({"name", "auto_create_subnetworks"})
    update_notes = {"routing_mode": "changes the network's dynamic routing mode"}

    def body(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any]:
        return {"name": properties["name"], "auto_create_subnetworks": properties["auto_create_subnetworks"],
                "routing_config": {"routing_mode": properties["routing_mode"]}}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        return self.observed(address, region, item, {
            "name": item.name, "routing_mode": item.routing_config.routing_mode or ROUTING_MODE,
            "auto_create_subnetworks": bool(item.auto_create_subnetworks)})

    def update(self, primitive, properties, current, changed) -> Observed:
        self.call("patch", f"changing the network {properties['name']}", primitive.address,
                  location=self.where_of(current), network=properties["name"],
                  network_resource={"routing_config": {"routing_mode": properties["routing_mode"]}})
        return self.observe(primitive.address, primitive.region, self.get(primitive.region, properties["name"]))


class SubnetworkType(ComputeType):
    """A region's subnetwork, with Private Google Access: instances without an external
    address (behind a load balancer) still reach Google APIs such as Cloud Storage. Its range
    only grows in place on Google (expandIpCidrRange), so a range change replaces it (the name
    stays: the old one goes first)."""

    type_name = "gcp.subnetwork"
    collection, resource_field, ident_field = "Subnetworks", "subnetwork_resource", "subnetwork"
    scope = "region"
    noun = "subnetwork"
    property_keys = frozenset({"name", "network", "ip_cidr_range", "private_ip_google_access"})
    output_keys = frozenset({"id", "self_link", "name"})
    replace_on = frozenset({"name", "network", "ip_cidr_range"})
    update_notes = {"private_ip_google_access": "changes whether instances without external IPs reach Google APIs"}

    def body(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any]:
        return {"name": properties["name"], "network": properties["network"],
                "ip_cidr_range": properties["ip_cidr_range"],
                "private_ip_google_access": properties["private_ip_google_access"]}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        return self.observed(address, region, item, {
            "name": item.name, "network": url_of(item.network), "ip_cidr_range": item.ip_cidr_range,
            "private_ip_google_access": bool(item.private_ip_google_access)})

    def update(self, primitive, properties, current, changed) -> Observed:
        """A patch names the fingerprint it read, as the API requires for subnetworks."""
        name, location = properties["name"], self.where_of(current)
        fingerprint = self.get(primitive.region, name, location["project"]).fingerprint
        self.call("patch", f"changing the subnetwork {name}", primitive.address, location=location,
                  subnetwork=name, subnetwork_resource={
                      "private_ip_google_access": properties["private_ip_google_access"], "fingerprint": fingerprint})
        return self.observe(primitive.address, primitive.region, self.get(primitive.region, name))


def url_of(link: str) -> str:
    """A reference as the full selfLink URL (the form properties keep), whatever form was read."""
    return API + path_of(link) if link else link


TYPES = [NetworkType, SubnetworkType]
