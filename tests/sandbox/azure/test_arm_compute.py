"""Microsoft.Compute scale sets through azure-mgmt-compute: instances follow capacity, a model
change leaves instances behind until an upgrade (manual or by policy), sizes are checked,
secrets are write-only, references must exist."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import models as cm

from tests.sandbox.azure import world


@pytest.fixture
def subnet(c):
    world.group(c)
    return world.vnet(c).subnets[0].id


def _vms(c, name: str = "web") -> list[tuple[str, list[str] | None, bool]]:
    return [(v.instance_id, v.zones, v.latest_model_applied)
            for v in c.compute.virtual_machine_scale_set_vms.list("rg", name)]


def _image(version: str) -> cm.VirtualMachineScaleSetUpdate:
    return cm.VirtualMachineScaleSetUpdate(virtual_machine_profile=cm.VirtualMachineScaleSetUpdateVMProfile(
        storage_profile=cm.VirtualMachineScaleSetUpdateStorageProfile(image_reference=cm.ImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version=version))))


def test_create_get_and_instances_across_zones(arm, subnet):
    c, app = arm
    created = world.vmss(c, subnet, capacity=3)
    assert created.provisioning_state == "Succeeded" and created.unique_id
    assert created.sku.name == "Standard_B2s" and created.sku.capacity == 3
    assert created.virtual_machine_profile.os_profile.custom_data is None  # write-only, as ARM
    got = c.compute.virtual_machine_scale_sets.get("rg", "WEB")
    assert got.name == "web" and got.upgrade_policy.mode == "Manual" and got.orchestration_mode == "Uniform"
    assert _vms(c) == [("0", ["1"], True), ("1", ["2"], True), ("2", ["3"], True)]
    assert sum(1 for m, p in app.calls if m == "GET" and p.endswith("/virtualMachines")) == 2  # 3 VMs, pages of 2
    vm = c.compute.virtual_machine_scale_set_vms.get("rg", "web", "1")
    assert vm.name == "web_1" and vm.os_profile.computer_name.startswith("web")
    with pytest.raises(ResourceNotFoundError):
        c.compute.virtual_machine_scale_set_vms.get("rg", "web", "9")


def test_capacity_change_adds_and_removes_instances(c, subnet):
    world.vmss(c, subnet, capacity=2)
    grown = c.compute.virtual_machine_scale_sets.begin_update(
        "rg", "web", cm.VirtualMachineScaleSetUpdate(sku=cm.Sku(capacity=4))).result()
    assert grown.sku.capacity == 4
    assert [i for i, _, _ in _vms(c)] == ["0", "1", "2", "3"]
    assert all(latest for _, _, latest in _vms(c))  # capacity alone is no model change
    c.compute.virtual_machine_scale_sets.begin_update(
        "rg", "web", cm.VirtualMachineScaleSetUpdate(sku=cm.Sku(capacity=1))).result()
    assert [i for i, _, _ in _vms(c)] == ["0"]
    c.compute.virtual_machine_scale_sets.begin_update(
        "rg", "web", cm.VirtualMachineScaleSetUpdate(sku=cm.Sku(capacity=2))).result()
    assert [i for i, _, _ in _vms(c)] == ["0", "4"]  # instance ids are never reused
    c.compute.virtual_machine_scale_sets.begin_delete_instances(
        "rg", "web", cm.VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=["0"])).result()
    assert [i for i, _, _ in _vms(c)] == ["4"]
    assert c.compute.virtual_machine_scale_sets.get("rg", "web").sku.capacity == 1


def test_model_change_waits_for_a_manual_upgrade(c, subnet):
    world.vmss(c, subnet, capacity=3)
    c.compute.virtual_machine_scale_sets.begin_update("rg", "web", _image("1.2.3")).result()
    assert [latest for _, _, latest in _vms(c)] == [False, False, False]
    assert c.compute.virtual_machine_scale_sets.get(
        "rg", "web").virtual_machine_profile.storage_profile.image_reference.version == "1.2.3"
    c.compute.virtual_machine_scale_sets.begin_update_instances(
        "rg", "web", cm.VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=["0", "2"])).result()
    assert [latest for _, _, latest in _vms(c)] == [True, False, True]
    with pytest.raises(HttpResponseError) as err:
        c.compute.virtual_machine_scale_sets.begin_update_instances(
            "rg", "web", cm.VirtualMachineScaleSetVMInstanceRequiredIDs(instance_ids=["7"])).result()
    assert err.value.status_code == 400
    # a size change is a model change too
    c.compute.virtual_machine_scale_sets.begin_update(
        "rg", "web", cm.VirtualMachineScaleSetUpdate(sku=cm.Sku(name="Standard_D4s_v5", capacity=3))).result()
    assert [latest for _, _, latest in _vms(c)] == [False, False, False]


def test_automatic_policy_applies_the_model_at_once(c, subnet):
    world.vmss(c, subnet, capacity=2, mode="Automatic")
    c.compute.virtual_machine_scale_sets.begin_create_or_update(
        "rg", "web", world.vmss_model(subnet, capacity=2, mode="Automatic", version="2.0")).result()
    assert [latest for _, _, latest in _vms(c)] == [True, True]
    # custom data survives an update that does not re-send it (it is never read back)
    c.compute.virtual_machine_scale_sets.begin_update("rg", "web", _image("2.1")).result()
    assert c.compute.virtual_machine_scale_sets.get("rg", "web").virtual_machine_profile.os_profile.custom_data is None


def test_refusals(c, subnet):
    def refused(**kwargs) -> HttpResponseError:
        with pytest.raises(HttpResponseError) as err:
            world.vmss(c, kwargs.pop("subnet_id", subnet), name=kwargs.pop("name", "bad"), **kwargs)
        return err.value

    unknown_size = refused(size="Standard_Z99")
    assert (unknown_size.status_code, unknown_size.error.code) == (400, "InvalidParameter")
    missing_subnet = refused(subnet_id=subnet.replace("/default", "/gone"))
    assert (missing_subnet.status_code, missing_subnet.error.code) == (400, "InvalidResourceReference")
    missing_pool = refused(pool_id=world.lb_part("rg", "nolb", "backendAddressPools", "be")["id"])
    assert missing_pool.error.code == "InvalidResourceReference"
    long_name = refused(name="x" * 65)
    assert long_name.status_code == 400
    bad_zone = refused(zones=["7"])
    assert bad_zone.status_code == 400
    model = world.vmss_model(subnet, zones=["1"])
    model.location = "westus"  # a region without availability zones
    with pytest.raises(HttpResponseError) as err:
        c.compute.virtual_machine_scale_sets.begin_create_or_update("rg", "bad", model).result()
    assert err.value.status_code == 400 and "zone" in err.value.error.message
    model.zones = None  # and a subnet of another region is no subnet for it
    with pytest.raises(HttpResponseError) as err:
        c.compute.virtual_machine_scale_sets.begin_create_or_update("rg", "bad", model).result()
    assert err.value.error.code == "InvalidResourceReference"
    model.location = "atlantis"
    with pytest.raises(HttpResponseError) as err:
        c.compute.virtual_machine_scale_sets.begin_create_or_update("rg", "bad", model).result()
    assert err.value.error.code == "LocationNotAvailableForResourceType"
    model = world.vmss_model(subnet)
    model.virtual_machine_profile.os_profile.custom_data = "not base64!"
    with pytest.raises(HttpResponseError) as err:
        c.compute.virtual_machine_scale_sets.begin_create_or_update("rg", "bad", model).result()
    assert err.value.status_code == 400 and "Base64" in err.value.error.message
    assert list(c.compute.virtual_machine_scale_sets.list("rg")) == []


def test_list_pages_and_delete(c, subnet):
    for name in ("a", "b", "c"):
        world.vmss(c, subnet, name=name, capacity=1, size="Standard_NC24ads_A100_v4")
    assert [v.name for v in c.compute.virtual_machine_scale_sets.list("rg")] == ["a", "b", "c"]
    assert [v.name for v in c.compute.virtual_machine_scale_sets.list_all()] == ["a", "b", "c"]
    c.compute.virtual_machine_scale_sets.begin_delete("rg", "b").result()
    with pytest.raises(ResourceNotFoundError):
        c.compute.virtual_machine_scale_sets.get("rg", "b")
    with pytest.raises(ResourceNotFoundError):
        list(c.compute.virtual_machine_scale_set_vms.list("rg", "b"))
    assert [v.name for v in c.compute.virtual_machine_scale_sets.list("rg")] == ["a", "c"]
