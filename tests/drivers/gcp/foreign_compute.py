"""Foreign objects (no lepton marker) for the network, firewall and compute types, made with the
google-cloud-compute SDK directly, for the contract suite (tests/drivers/gcp/harness.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from lepton_cli.drivers.gcp.common import path_of
from tests.drivers.contract.harness import Built, ForeignObject

NOT_OURS = "made by hand, not by lepton"


def _name() -> str:
    return f"foreign-{uuid.uuid4().hex[:10]}"


def _project(built: Built) -> str:
    return built.driver.project


def _where(built: Built, collection: str) -> dict[str, str]:
    regional = collection.startswith("Region") or collection == "Subnetworks"
    return {"project": _project(built), **({"region": built.region} if regional else {})}


def _make(built: Built, collection: str, ident_field: str, resource_field: str,
          body: dict[str, Any]) -> tuple[str, Callable[[], Any], Callable[[], None]]:
    """Insert `body` into `collection` and wait; (id, snapshot, delete) of the new object."""
    client = built.driver.compute(collection)
    where = _where(built, collection)
    built.driver.wait(client.insert_unary(request={**where, resource_field: body}))
    item = client.get(request={**where, ident_field: body["name"]})

    def snapshot():
        found = client.get(request={**where, ident_field: body["name"]})
        return type(found).to_dict(found)

    def delete():
        built.driver.wait(client.delete_unary(request={**where, ident_field: body["name"]}))
    return path_of(item.self_link), snapshot, delete


def _chain(*cleanups: Callable[[], None]) -> Callable[[], None]:
    def run():
        for cleanup in cleanups:
            cleanup()
    return run


def _network(built: Built) -> tuple[str, Callable[[], None]]:
    name = _name()
    ident, _, delete = _make(built, "Networks", "network", "network_resource",
                             {"name": name, "description": NOT_OURS, "auto_create_subnetworks": False})
    return f"https://www.googleapis.com/compute/v1/{ident}", delete


def foreign_network(harness, built: Built, same_name: bool) -> ForeignObject:
    ident, snapshot, delete = _make(built, "Networks", "network", "network_resource", {
        "name": built.properties["name"] if same_name else _name(), "description": NOT_OURS,
        "auto_create_subnetworks": False})
    return ForeignObject(ident, snapshot, delete)


def foreign_subnetwork(harness, built: Built, same_name: bool) -> ForeignObject:
    network, delete_network = _network(built)
    ident, snapshot, delete = _make(built, "Subnetworks", "subnetwork", "subnetwork_resource", {
        "name": built.properties["name"] if same_name else _name(), "description": NOT_OURS,
        "network": network, "ip_cidr_range": built.properties["ip_cidr_range"]})
    return ForeignObject(ident, snapshot, _chain(delete, delete_network))


def foreign_firewall(harness, built: Built, same_name: bool) -> ForeignObject:
    ident, snapshot, delete = _make(built, "Firewalls", "firewall", "firewall_resource", {
        "name": built.properties["name"] if same_name else _name(), "description": NOT_OURS,
        "network": built.properties["network"], "direction": "INGRESS", "source_ranges": ["192.0.2.0/24"],
        "allowed": [{"I_p_protocol": "tcp", "ports": ["22"]}]})
    return ForeignObject(ident, snapshot, delete)


def _template(built: Built, name: str, network: str, subnetwork: str | None) -> tuple[str, Callable, Callable]:
    interface = {"network": network, **({"subnetwork": subnetwork} if subnetwork else {})}
    return _make(built, "InstanceTemplates", "instance_template", "instance_template_resource", {
        "name": name, "description": NOT_OURS, "properties": {
            "machine_type": "e2-small", "network_interfaces": [interface],
            "disks": [{"boot": True, "auto_delete": True, "initialize_params": {
                "source_image": "projects/debian-cloud/global/images/family/debian-12"}}]}})


def foreign_instance_template(harness, built: Built, same_name: bool) -> ForeignObject:
    ident, snapshot, delete = _template(built, built.properties["name"] if same_name else _name(),
                                        built.properties["network"], built.properties["subnetwork"])
    return ForeignObject(ident, snapshot, delete)


def _manager(built: Built, name: str, template: str) -> tuple[str, Callable, Callable]:
    return _make(built, "RegionInstanceGroupManagers", "instance_group_manager", "instance_group_manager_resource", {
        "name": name, "description": NOT_OURS, "base_instance_name": "foreign", "instance_template": template,
        "target_size": 0})


def foreign_region_instance_group_manager(harness, built: Built, same_name: bool) -> ForeignObject:
    ident, snapshot, delete = _manager(built, built.properties["name"] if same_name else _name(),
                                       built.properties["instance_template"])
    return ForeignObject(ident, snapshot, delete)


def foreign_region_autoscaler(harness, built: Built, same_name: bool) -> ForeignObject:
    """An autoscaler on a group of its own (a group takes one autoscaler)."""
    template = built.driver.primitive_type("gcp.instance_template")
    source = next(o for o in built.prerequisites.values() if o.type == template.type_name)
    group, _, delete_group = _manager(built, _name(), source.outputs["self_link"])
    ident, snapshot, delete = _make(built, "RegionAutoscalers", "autoscaler", "autoscaler_resource", {
        "name": built.properties["name"] if same_name else _name(), "description": NOT_OURS,
        "target": f"https://www.googleapis.com/compute/v1/{group}",
        "autoscaling_policy": {"min_num_replicas": 0, "max_num_replicas": 1}})
    return ForeignObject(ident, snapshot, _chain(delete, delete_group))


FOREIGN = {
    "gcp.network": foreign_network,
    "gcp.subnetwork": foreign_subnetwork,
    "gcp.firewall": foreign_firewall,
    "gcp.instance_template": foreign_instance_template,
    "gcp.region_instance_group_manager": foreign_region_instance_group_manager,
    "gcp.region_autoscaler": foreign_region_autoscaler,
}
