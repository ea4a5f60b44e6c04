"""The implicit network on Azure (resource group, VNet, subnet), through the driver and the engine,
against the project's ARM emulator; what lepton made is read back with the azure-mgmt SDKs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from lepton_cli.drivers.azure.network import vnet_name
from lepton_cli.drivers.base import Primitive
from lepton_cli.errors import LeptonError
from tests.drivers.azure.conftest import REGION

GROUP = """\
resources:
  web:
    kind: compute
    instance_type: Standard_B1s
    count: 0
"""


def test_a_stack_gets_a_tagged_resource_group_with_a_vnet_and_subnet_and_destroy_removes_them(azure):
    azure.converge(GROUP)
    group = azure.client("resource").resource_groups.get(azure.group)
    assert group.location == REGION
    assert group.tags == {"lepton-stack": azure.stack, "lepton-name": f"network-{REGION}/azure.resource_group"}
    network = azure.client("network")
    vnet = network.virtual_networks.get(azure.group, vnet_name(azure.stack))
    assert list(vnet.address_space.address_prefixes) == ["10.0.0.0/16"]  # eastus: the first region
    assert vnet.tags["lepton-name"] == f"network-{REGION}/azure.virtual_network"
    subnet = network.subnets.get(azure.group, vnet.name, "default")
    assert subnet.address_prefix == "10.0.0.0/20"
    azure.destroy(GROUP)
    with pytest.raises(ResourceNotFoundError):
        azure.client("resource").resource_groups.get(azure.group)


def test_a_vnet_update_keeps_its_subnet(azure):
    """A VNet PUT without its subnets would delete them: an update sends the subnets it read."""
    azure.converge(GROUP)
    driver = azure.driver()
    vnets = driver.primitive_type("azure.virtual_network")
    (current,) = vnets.list(REGION)
    wider = {**current.properties, "address_space": ["10.0.0.0/16", "10.200.0.0/16"]}
    primitive = Primitive(address=current.address, type=current.type, cloud="azure", region=REGION,
                          resource=f"network-{REGION}", kind="network", properties=wider)
    updated = vnets.update(primitive, wider, current, {"address_space"})
    assert updated.properties["address_space"] == ["10.0.0.0/16", "10.200.0.0/16"]
    network = azure.client("network")
    assert [s.name for s in network.subnets.list(azure.group, vnet_name(azure.stack))] == ["default"]
    plan = azure.plan(GROUP)
    (change,) = plan.actionable
    assert (change.address, change.action.value, set(change.diff)) == (
        f"network-{REGION}/azure.virtual_network", "update", {"address_space"})
    azure.converge(GROUP)
    assert list(network.virtual_networks.get(azure.group, vnet_name(azure.stack)).address_space.address_prefixes) == [
        "10.0.0.0/16"]
    azure.destroy(GROUP)


def test_a_resource_group_lepton_does_not_own_is_refused_and_untouched(azure):
    groups = azure.client("resource").resource_groups
    groups.create_or_update(azure.group, {"location": REGION, "tags": {"owner": "someone else"}})
    result = azure.apply(azure.plan(GROUP))
    assert f"network-{REGION}/azure.resource_group" in result.failed
    assert "not owned by stack" in result.failed[f"network-{REGION}/azure.resource_group"]
    assert groups.get(azure.group).tags == {"owner": "someone else"}
    # Nothing was put into it either: everything else waits for the group.
    assert list(azure.client("resource").resources.list_by_resource_group(azure.group)) == []
    azure.destroy(GROUP)
    assert groups.get(azure.group).tags == {"owner": "someone else"}
    groups.begin_delete(azure.group).result()


def test_a_vnet_lepton_does_not_own_is_refused_and_untouched(azure):
    """Someone else's VNet holding the wanted name inside the stack's own resource group: the
    apply fails on it and says why, the VNet is left as it was, and destroy will not delete the
    group around it."""
    driver = azure.driver()
    (group,) = [p for p in expand(azure, GROUP, driver) if p.type == "azure.resource_group"]
    driver.primitive_type(group.type).create(group, dict(group.properties))
    network = azure.client("network")
    network.virtual_networks.begin_create_or_update(azure.group, vnet_name(azure.stack), {
        "location": REGION, "properties": {"addressSpace": {"addressPrefixes": ["192.168.0.0/16"]}}}).result()
    result = azure.apply(azure.plan(GROUP))
    assert "not owned by stack" in result.failed[f"network-{REGION}/azure.virtual_network"]
    vnet = network.virtual_networks.get(azure.group, vnet_name(azure.stack))
    assert list(vnet.address_space.address_prefixes) == ["192.168.0.0/16"] and not vnet.tags
    with pytest.raises(LeptonError) as raised:
        azure.plan(GROUP, destroy=True)
    assert vnet_name(azure.stack) in raised.value.diagnostics[0].summary
    network.virtual_networks.begin_delete(azure.group, vnet_name(azure.stack)).result()
    azure.destroy(GROUP)
    with pytest.raises(ResourceNotFoundError):
        azure.client("resource").resource_groups.get(azure.group)


def expand(azure, body, driver):
    from lepton_cli.engine.expand import expand_stack
    from lepton_cli.spec.loader import load_plan_text

    return expand_stack(load_plan_text(azure.text(body)).stack, {"azure": driver})


def test_destroy_refuses_to_delete_a_resource_group_holding_someone_elses_objects(azure):
    """Deleting a resource group deletes all it holds: lepton refuses while it holds an object
    that is not the stack's, and says which."""
    azure.converge(GROUP)
    network = azure.client("network")
    network.network_security_groups.begin_create_or_update(azure.group, "not-lepton", {"location": REGION}).result()
    with pytest.raises(LeptonError) as raised:
        azure.plan(GROUP, destroy=True)
    (refusal,) = raised.value.diagnostics
    assert refusal.address == f"network-{REGION}/azure.resource_group"
    assert "not-lepton" in refusal.summary and "deleting it would delete them" in refusal.summary
    assert network.network_security_groups.get(azure.group, "not-lepton").name == "not-lepton"
    network.network_security_groups.begin_delete(azure.group, "not-lepton").result()
    azure.destroy(GROUP)


def test_only_regions_with_compute_get_a_vnet_and_ranges_never_overlap(azure):
    body = ("resources:\n  assets:\n    kind: bucket\n"
            "  web:\n    kind: compute\n    instance_type: Standard_B1s\n    region: westeurope\n")
    primitives = {p.address: p for p in expand(azure, body, azure.driver())}
    networks = sorted(a for a, p in primitives.items() if p.kind == "network")
    assert networks == [f"network-{REGION}/azure.resource_group", "network-westeurope/azure.resource_group",
                        "network-westeurope/azure.subnet", "network-westeurope/azure.virtual_network"]
    assert primitives["network-westeurope/azure.virtual_network"].properties["address_space"] != ["10.0.0.0/16"]
    assert azure.counter.calls == {}  # expansion asks no API
