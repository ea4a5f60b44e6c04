"""The implicit network of a stack on Azure: per region, a resource group (`lepton-<stack>-
<region>`, holding every other object of the stack there) and, where compute runs, a VNet with
one subnet.

Address spaces are fixed per region (its index in `REGIONS`): 10.<index>.0.0/16 for the VNet,
its first /20 for the subnet, so the same stack always gets the same addresses and a stack
spanning regions never overlaps itself.

Deleting a resource group deletes everything in it, whoever made it: lepton refuses to delete
its group while anything it does not own is still inside (`check_delete`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lepton_cli.drivers.azure.common import AzureType, parse_id, resource_group_name
from lepton_cli.drivers.azure.errors import is_not_found, translate
from lepton_cli.drivers.azure.regions import REGIONS
from lepton_cli.drivers.azure.rest import as_json, dig, location_of, observed
from lepton_cli.drivers.base import Primitive, Ref
from lepton_cli.drivers.names import physical_name
from lepton_cli.drivers.ownership import TAG_STACK, owned_address
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Stack

SUBNET = "default"


def group_address(region: str) -> str:
    return f"network-{region}/azure.resource_group"


def vnet_address(region: str) -> str:
    return f"network-{region}/azure.virtual_network"


def subnet_address(region: str) -> str:
    return f"network-{region}/azure.subnet"


def group_ref(region: str) -> Ref:
    """The resource group's name: what every object of the region is placed in (and depends on)."""
    return Ref(group_address(region), "name")


def subnet_ref(region: str) -> Ref:
    return Ref(subnet_address(region), "id")


def vnet_name(stack: str) -> str:
    return physical_name(stack, "vnet", limit=64)


def _index(region: str) -> int:
    return list(REGIONS).index(region) if region in REGIONS else len(REGIONS) + sum(map(ord, region)) % 100


def vnet_cidr(region: str) -> str:
    return f"10.{_index(region)}.0.0/16"


def subnet_cidr(region: str) -> str:
    return f"10.{_index(region)}.0.0/20"


def expand_network(driver, stack: Stack, regions: list[str], needs_vnet: Iterable[str] = ()) -> list[Primitive]:
    def prim(region: str, type_: str, props: dict[str, Any]) -> Primitive:
        return Primitive(address=f"network-{region}/azure.{type_}", type=f"azure.{type_}", cloud="azure",
                         region=region, resource=f"network-{region}", kind="network", properties=props)

    prims = [prim(region, "resource_group", {"name": resource_group_name(stack.stack, region), "location": region})
             for region in regions]
    for region in sorted(set(needs_vnet)):
        prims.append(prim(region, "virtual_network", {
            "name": vnet_name(stack.stack), "resource_group": group_ref(region), "location": region,
            "address_space": [vnet_cidr(region)]}))
        prims.append(prim(region, "subnet", {
            "name": SUBNET, "resource_group": group_ref(region),
            "virtual_network": Ref(vnet_address(region), "name"), "address_prefix": subnet_cidr(region)}))
    return prims


class ResourceGroupType(AzureType):
    """The stack's resource group in one region: listed by the stack's tag (one call)."""

    type_name = "azure.resource_group"
    client = "resource"
    noun = "resource group"
    property_keys = frozenset({"name", "location"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "location"})

    def items(self, region: str):
        groups = self.api().resource_groups.list(filter=f"tagName eq '{TAG_STACK}' and tagValue eq '{self.stack}'")
        return [g for g in groups if location_of(as_json(g)) == region]

    def fetch(self, region, name, properties):
        return self.api().resource_groups.get(name)

    def put(self, primitive, properties):
        return self.api().resource_groups.create_or_update(properties["name"], {
            "location": properties["location"], "tags": self.tags(primitive.address)})

    def remove(self, current):
        self.api().resource_groups.begin_delete(current.properties.get("name") or parse_id(current.id)["name"]).result()

    def observe(self, address, region, item):
        data = as_json(item)
        return observed(self, address, region, item, {"name": data["name"], "location": location_of(data)})

    def check_delete(self, current, recorded):
        """Deleting a group deletes all it holds: refuse while it holds something not this stack's."""
        name = parse_id(current.id)["name"]
        try:
            with translate(f"listing what the resource group {name} holds", current.address):
                held = [as_json(r) for r in self.api().resources.list_by_resource_group(name)]
        except LeptonError as exc:
            if is_not_found(exc):  # a group already gone holds nothing
                return None
            raise
        ours = [r["id"].lower() + "/" for r in held if (r.get("tags") or {}).get(TAG_STACK) == self.stack]
        # An untagged object nested under one of the stack's (a Front Door endpoint) is the stack's too.
        foreign = sorted(r.get("name", "?") for r in held if (r.get("tags") or {}).get(TAG_STACK) != self.stack
                         and not any(r["id"].lower().startswith(parent) for parent in ours))
        if foreign:
            return (f"the resource group {name} holds objects this stack does not own ({', '.join(foreign[:5])}"
                    f"{', ...' if len(foreign) > 5 else ''}); deleting it would delete them: move or delete them first")
        return None


class VirtualNetworkType(AzureType):
    """The region's VNet. A VNet PUT that leaves out its subnets deletes them, so an update
    sends the subnets it reads (lepton's subnet is its own primitive)."""

    type_name = "azure.virtual_network"
    client = "network"
    noun = "virtual network"
    property_keys = frozenset({"name", "resource_group", "location", "address_space"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "resource_group", "location"})
    update_notes = {"address_space": "changes the virtual network's address space"}

    def normalize(self, properties):
        return {**properties, "address_space": sorted(properties["address_space"])}

    def items(self, region):
        return self.api().virtual_networks.list(self.group(region))

    def fetch(self, region, name, properties):
        return self.api().virtual_networks.get(properties.get("resource_group") or self.group(region), name)

    def put(self, primitive, properties):
        group, name = properties["resource_group"], properties["name"]
        existing = as_json(self.get(primitive.region, name, properties))
        body: dict[str, Any] = {"location": properties["location"], "tags": self.tags(primitive.address),
                                "properties": {"addressSpace": {"addressPrefixes": list(properties["address_space"])}}}
        if dig(existing, "properties", "subnets"):
            body["properties"]["subnets"] = [
                {"name": s["name"], "id": s.get("id"), "properties": s.get("properties", {})}
                for s in existing["properties"]["subnets"]]
        return self.api().virtual_networks.begin_create_or_update(group, name, body).result()

    def remove(self, current):
        self.api().virtual_networks.begin_delete(current.properties["resource_group"],
                                                 parse_id(current.id)["name"]).result()

    def observe(self, address, region, item):
        data = as_json(item)
        return observed(self, address, region, item, self.normalize({
            "name": data["name"], "resource_group": parse_id(data["id"])["resource_group"],
            "location": location_of(data),
            "address_space": list(dig(data, "properties", "addressSpace", "addressPrefixes", default=[]))}))


class SubnetType(AzureType):
    """The VNet's one subnet ("default"), owned through the stack's VNet (subnets take no tags)."""

    type_name = "azure.subnet"
    client = "network"
    noun = "subnet"
    child = True
    property_keys = frozenset({"name", "resource_group", "virtual_network", "address_prefix"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "resource_group", "virtual_network", "address_prefix"})

    def items(self, region):
        """The subnets inside the stack's VNets, as the VNet list carries them (one call, whatever
        the VNets are named): (address, subnet) pairs."""
        found = []
        for vnet in map(as_json, self.api().virtual_networks.list(self.group(region))):
            owner = owned_address(vnet.get("tags"), self.stack)
            if owner and owner.endswith("/azure.virtual_network"):
                address = owner.rsplit("/", 1)[0] + "/azure.subnet"
                found += [(address, s) for s in dig(vnet, "properties", "subnets", default=[]) if s["name"] == SUBNET]
        return found

    def address_of(self, item):
        return item[0]

    def fetch(self, region, name, properties):
        return self.api().subnets.get(properties.get("resource_group") or self.group(region),
                                      properties.get("virtual_network") or vnet_name(self.stack), name)

    def put(self, primitive, properties):
        return self.api().subnets.begin_create_or_update(
            properties["resource_group"], properties["virtual_network"], properties["name"],
            {"properties": {"addressPrefix": properties["address_prefix"]}}).result()

    def remove(self, current):
        p = current.properties
        self.api().subnets.begin_delete(p["resource_group"], p["virtual_network"], p["name"]).result()

    def observe(self, address, region, item):
        data = item[1] if isinstance(item, tuple) else as_json(item)
        parts = parse_id(data["id"])
        prefix = dig(data, "properties", "addressPrefix") or dig(data, "properties", "addressPrefixes", 0)
        return observed(self, address, region, data, {
            "name": data["name"], "resource_group": parts["resource_group"], "virtual_network": parts["parent"],
            "address_prefix": prefix})


TYPES = [ResourceGroupType, VirtualNetworkType, SubnetType]
