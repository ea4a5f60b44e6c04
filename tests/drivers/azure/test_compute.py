"""compute on Azure, through the driver and the engine, against the project's ARM emulator; what
lepton made is read back with the official azure-mgmt SDKs."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ResourceNotFoundError

from lepton_cli.drivers.azure.compute import PLACEHOLDER_KEY, ssh_public_key
from lepton_cli.errors import LeptonError
from lepton_cli.spec.loader import load_plan_text
from tests.drivers.azure.conftest import REGION

GROUP = """\
resources:
  web:
    kind: compute
    {size}
    image: {image}
    count: {count}
    zones: {zones}
    ports: [{ports}]
    allow_from: ['10.0.0.0/8']
    user_data: "echo {message}"
"""


def group(size="size: {cpus: 2, memory_gb: 4}", image="ubuntu-22.04", count=2, zones=2, ports="8080",
          message="hi"):
    return GROUP.format(size=size, image=image, count=count, zones=zones, ports=ports, message=message)


def scale_set(azure, name="web"):
    return azure.client("compute").virtual_machine_scale_sets.get(azure.group, f"{azure.stack}-{name}")


def instances(azure, name="web"):
    return list(azure.client("compute").virtual_machine_scale_set_vms.list(azure.group, f"{azure.stack}-{name}"))


def security_rules(azure, name="web"):
    nsg = azure.client("network").network_security_groups.get(azure.group, f"{azure.stack}-{name}")
    return {r.name: (r.priority, r.access, r.protocol, sorted([r.source_address_prefix] if r.source_address_prefix
                                                               else r.source_address_prefixes),
                     sorted([r.destination_port_range] if r.destination_port_range else r.destination_port_ranges))
            for r in nsg.security_rules}


def test_a_group_is_a_uniform_scale_set_over_zones_built_from_the_plan(azure):
    azure.converge(group())
    vmss = scale_set(azure)
    assert (vmss.sku.name, vmss.sku.capacity) == ("Standard_B2s", 2)  # the cheapest with 2 vCPUs, 4 GiB
    assert sorted(vmss.zones) == ["1", "2"]
    assert vmss.tags == {"lepton-stack": azure.stack, "lepton-name": "web/azure.vm_scale_set"}
    props = vmss.properties
    assert (props.orchestration_mode, props.upgrade_policy.mode) == ("Uniform", "Automatic")
    assert props.single_placement_group is False and props.overprovision is False
    profile = props.virtual_machine_profile
    image = profile.storage_profile.image_reference
    assert (image.publisher, image.offer, image.sku, image.version) == (
        "Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "latest")
    # disk_gb defaults to 20, below the 30 GiB of Azure's Marketplace images, which Azure refuses.
    assert profile.storage_profile.os_disk.disk_size_gb == 30
    os_profile = profile.os_profile
    assert os_profile.admin_username == "lepton"
    assert os_profile.linux_configuration.disable_password_authentication is True
    (key,) = os_profile.linux_configuration.ssh.public_keys
    assert (key.path, key.key_data) == ("/home/lepton/.ssh/authorized_keys", ssh_public_key()[0])
    assert not os_profile.custom_data  # write-only: ARM never returns it
    (nic,) = profile.network_profile.network_interface_configurations
    assert nic.network_security_group.id.endswith(f"/networkSecurityGroups/{azure.stack}-web")
    (ip,) = nic.ip_configurations
    assert ip.subnet.id.endswith(f"/virtualNetworks/{azure.stack}-vnet/subnets/default")
    # Nothing fronts the group: a Standard public address per instance (closed unless the NSG allows).
    assert ip.public_ip_address_configuration.sku.name == "Standard"
    assert not ip.load_balancer_backend_address_pools
    assert profile.priority in (None, "Regular")
    assert sorted(vm.zones[0] for vm in instances(azure)) == ["1", "2"]
    # Only what the plan opens: tcp 8080 from 10.0.0.0/8 (Azure's default rules deny the rest).
    assert security_rules(azure) == {"allow-clients": (100, "Allow", "Tcp", ["10.0.0.0/8"], ["8080"])}
    azure.destroy(group())
    with pytest.raises(ResourceNotFoundError):
        azure.client("resource").resource_groups.get(azure.group)


def test_a_count_change_is_an_in_place_capacity_update(azure):
    azure.converge(group())
    before = scale_set(azure)
    plan = azure.plan(group(count=4))
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("web/azure.vm_scale_set", "update")
    assert {k: (d.before, d.after) for k, d in change.diff.items()} == {"capacity": (2, 4)}
    assert "changes the number of instances in place" in change.notes
    azure.counter.reset()
    assert azure.apply(plan).ok
    # One PATCH of the capacity; the model is not PUT again, so nothing rolls.
    assert azure.counter.matching("PATCH", f"/virtualMachineScaleSets/{azure.stack}-web") == 1
    assert azure.counter.matching("PUT", f"/virtualMachineScaleSets/{azure.stack}-web") == 0
    after = scale_set(azure)
    assert (after.id, after.sku.capacity) == (before.id, 4)
    assert len(instances(azure)) == 4
    assert not azure.plan(group(count=4)).has_changes
    azure.converge(group(count=1))
    assert len(instances(azure)) == 1
    azure.destroy(group(count=1))


@pytest.mark.parametrize("change, expected", [
    ({"image": "debian-12"}, ("Debian", "debian-12", "12-gen2", "latest")),
    ({"image": "Canonical:ubuntu-24_04-lts:server:24.04.202501010"},
     ("Canonical", "ubuntu-24_04-lts", "server", "24.04.202501010")),
    ({"size": "size: {cpus: 4, memory_gb: 16}"}, None),
])
def test_an_image_or_size_change_updates_the_model_and_rolls_the_instances_in_place(azure, change, expected):
    azure.converge(group())
    before = scale_set(azure)
    ids = sorted(vm.instance_id for vm in instances(azure))
    plan = azure.plan(group(**change))
    (update,) = plan.actionable
    assert (update.address, update.action.value) == ("web/azure.vm_scale_set", "update")
    assert set(update.diff) == ({"image"} if expected else {"size"})
    assert "updates the scale set's model and rolls every instance onto it" in update.notes
    result = azure.apply(plan)
    assert result.ok, result.failed
    vmss = scale_set(azure)
    assert vmss.id == before.id  # the same scale set, not a replacement
    if expected:
        image = vmss.properties.virtual_machine_profile.storage_profile.image_reference
        assert (image.publisher, image.offer, image.sku, image.version) == expected
    else:
        assert vmss.sku.name == "Standard_B4ms"
    vms = instances(azure)
    assert sorted(vm.instance_id for vm in vms) == ids  # the same instances, upgraded in place
    assert all(vm.properties.latest_model_applied for vm in vms)
    assert not azure.plan(group(**change)).has_changes
    azure.destroy(group(**change))


def test_the_os_disk_is_at_least_the_images_and_grows_in_place(azure):
    plan = azure.plan(group())
    (vmss,) = [c for c in plan.actionable if c.address == "web/azure.vm_scale_set"]
    assert ("note: disk_gb 20 is below the 30 GiB of Azure's Marketplace Linux images: the OS disk gets 30 GiB"
            in vmss.summary)
    assert azure.apply(plan).ok
    bigger = group().replace("zones: 2", "zones: 2\n    disk_gb: 64")
    (change,) = azure.plan(bigger).actionable
    assert (change.action.value, {k: (d.before, d.after) for k, d in change.diff.items()}) == (
        "update", {"disk_gb": (30, 64)})
    azure.converge(bigger)
    assert scale_set(azure).properties.virtual_machine_profile.storage_profile.os_disk.disk_size_gb == 64
    azure.destroy(bigger)


def test_a_user_data_change_updates_the_model_although_arm_never_returns_it(azure):
    azure.converge(group())
    plan = azure.plan(group(message="bye"))
    (update,) = plan.actionable
    assert (update.address, update.action.value, set(update.diff)) == ("web/azure.vm_scale_set", "update",
                                                                      {"custom_data"})
    assert azure.apply(plan).ok
    assert not azure.plan(group(message="bye")).has_changes
    azure.destroy(group(message="bye"))


def test_autoscale_adds_a_cpu_autoscale_setting_that_owns_the_capacity_and_can_be_removed(azure):
    def body(scale):
        return ("resources:\n  workers:\n    kind: compute\n    instance_type: {azure: Standard_D2s_v5}\n"
                f"    {scale}\n")

    azure.converge(body("autoscale: {min: 1, max: 5, target_cpu: 70}"))
    settings = azure.client("monitor").autoscale_settings
    name = f"{azure.stack}-workers-autoscale"
    setting = settings.get(azure.group, name)
    vmss = scale_set(azure, "workers")
    assert setting.target_resource_uri == vmss.id and setting.enabled
    (profile,) = setting.profiles
    assert (profile.capacity.minimum, profile.capacity.maximum, profile.capacity.default) == ("1", "5", "1")
    rules = {r.scale_action.direction: r for r in profile.rules}
    assert (rules["Increase"].metric_trigger.metric_name, rules["Increase"].metric_trigger.operator,
            rules["Increase"].metric_trigger.threshold) == ("Percentage CPU", "GreaterThan", 70)
    assert (rules["Decrease"].metric_trigger.operator, rules["Decrease"].metric_trigger.threshold) == ("LessThan", 35)
    assert all(r.metric_trigger.metric_resource_uri == vmss.id for r in profile.rules)
    assert vmss.sku.capacity == 1
    # The setting's capacity is not the plan's: the scale set's capacity is never diffed.
    azure.client("compute").virtual_machine_scale_sets.begin_update(
        azure.group, f"{azure.stack}-workers", {"sku": {"name": "Standard_D2s_v5", "capacity": 3}}).result()
    assert not azure.plan(body("autoscale: {min: 1, max: 5, target_cpu: 70}")).has_changes

    plan = azure.plan(body("autoscale: {min: 2, max: 6, target_cpu: 60}"))
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("workers/azure.autoscale_setting", "update")
    assert {k: (d.before, d.after) for k, d in change.diff.items()} == {
        "minimum": (1, 2), "maximum": (5, 6), "default": (1, 2), "scale_out_cpu": (70, 60), "scale_in_cpu": (35, 30)}
    assert azure.apply(plan).ok
    (profile,) = settings.get(azure.group, name).profiles
    assert (profile.capacity.minimum, profile.capacity.maximum) == ("2", "6")

    azure.converge(body("count: 2"))
    with pytest.raises(ResourceNotFoundError):
        settings.get(azure.group, name)
    assert scale_set(azure, "workers").sku.capacity == 2
    azure.destroy(body("count: 2"))


def test_security_rules_change_in_place(azure):
    azure.converge(group())
    nsg_id = azure.client("network").network_security_groups.get(azure.group, f"{azure.stack}-web").id
    body = group(ports="8080, 9090").replace("['10.0.0.0/8']", "['10.0.0.0/8', '192.168.0.0/16']")
    plan = azure.plan(body)
    (change,) = plan.actionable
    assert (change.address, change.action.value, set(change.diff)) == (
        "web/azure.network_security_group", "update", {"rules"})
    assert azure.apply(plan).ok
    assert security_rules(azure) == {
        "allow-clients": (100, "Allow", "Tcp", ["10.0.0.0/8", "192.168.0.0/16"], ["8080", "9090"])}
    assert azure.client("network").network_security_groups.get(azure.group, f"{azure.stack}-web").id == nsg_id
    assert not azure.plan(body).has_changes
    azure.destroy(body)


def test_a_zones_change_replaces_the_scale_set_destroying_the_old_one_first(azure):
    """Azure cannot change a scale set's zones: a new one of the same name replaces it (the old one
    goes first, since the name stays)."""
    azure.converge(group(zones=1))
    old = scale_set(azure).properties.unique_id
    plan = azure.plan(group(zones=3))
    (change,) = plan.actionable
    assert (change.address, change.action.value, change.create_first) == ("web/azure.vm_scale_set", "replace", False)
    assert change.replace_fields == ["zones"]
    assert azure.apply(plan).ok
    vmss = scale_set(azure)
    assert sorted(vmss.zones) == ["1", "2", "3"] and vmss.properties.unique_id != old
    assert len(instances(azure)) == 2
    assert not azure.plan(group(zones=3)).has_changes
    azure.destroy(group(zones=3))


def test_a_zones_change_of_an_autoscaled_group_replaces_its_autoscale_setting_too(azure):
    """The setting targets the scale set's id: it goes first with the old set, and the new one
    targets the successor."""
    def body(zones):
        return ("resources:\n  workers:\n    kind: compute\n    instance_type: Standard_B1s\n"
                f"    autoscale: {{min: 1, max: 3}}\n    zones: {zones}\n")

    azure.converge(body(1))
    plan = azure.plan(body(2))
    assert {c.address: c.action.value for c in plan.actionable} == {
        "workers/azure.vm_scale_set": "replace", "workers/azure.autoscale_setting": "replace"}
    result = azure.apply(plan)
    assert result.ok, result.failed
    vmss = scale_set(azure, "workers")
    setting = azure.client("monitor").autoscale_settings.get(azure.group, f"{azure.stack}-workers-autoscale")
    assert sorted(vmss.zones) == ["1", "2"] and setting.target_resource_uri == vmss.id
    assert not azure.plan(body(2)).has_changes
    azure.destroy(body(2))


@pytest.mark.parametrize("gpus, size", [
    ("T4:1", "Standard_NC4as_T4_v3"),
    ("A100-80GB:1", "Standard_NC24ads_A100_v4"),
    ("A100:8", "Standard_ND96asr_v4"),
])
def test_gpu_sizes_pick_nc_and_nd_sizes(azure, gpus, size):
    body = f"resources:\n  train:\n    kind: compute\n    size: {{gpus: '{gpus}'}}\n    count: 1\n"
    azure.converge(body)
    assert scale_set(azure, "train").sku.name == size
    azure.destroy(body)


def test_spot_groups_run_spot_instances_deleted_on_eviction(azure):
    body = "resources:\n  batch:\n    kind: compute\n    instance_type: standard_d4s_v5\n    spot: true\n    count: 1\n"
    azure.converge(body)
    vmss = scale_set(azure, "batch")
    profile = vmss.properties.virtual_machine_profile
    assert vmss.sku.name == "Standard_D4s_v5"  # VM sizes are case-insensitive
    assert (profile.priority, profile.eviction_policy, profile.billing_profile.max_price) == ("Spot", "Delete", -1)
    azure.destroy(body)


def test_a_load_balanced_group_joins_the_pool_admits_probes_and_has_no_public_addresses(azure):
    body = group() + ("  lb:\n    kind: load_balancer\n    target: web\n"
                      "    listeners: [{port: 80, target_port: 8080}]\n    health_check: {path: /, port: 8081}\n")
    azure.converge(body)
    lb = azure.client("network").load_balancers.get(azure.group, f"{azure.stack}-lb")
    (ip,) = scale_set(azure).properties.virtual_machine_profile.network_profile.network_interface_configurations[
        0].ip_configurations
    assert [p.id for p in ip.load_balancer_backend_address_pools] == [lb.backend_address_pools[0].id]
    assert ip.public_ip_address_configuration is None
    # Probes from Azure's load balancer reach the target and health-check ports; the balancer's
    # clients (a Standard load balancer keeps their addresses) only its target port.
    assert security_rules(azure) == {"allow-clients": (100, "Allow", "Tcp", ["10.0.0.0/8"], ["8080"]),
                                     "allow-lb-clients": (105, "Allow", "Tcp", ["Internet"], ["8080"]),
                                     "allow-lb-probes": (110, "Allow", "Tcp", ["AzureLoadBalancer"], ["8080", "8081"])}
    # Zones change with a balancer in front: the old set leaves the pool, the new one joins it.
    wider = body.replace("zones: 2", "zones: 3")
    result = azure.apply(azure.plan(wider))
    assert result.ok, result.failed
    (ip,) = scale_set(azure).properties.virtual_machine_profile.network_profile.network_interface_configurations[
        0].ip_configurations
    assert [p.id for p in ip.load_balancer_backend_address_pools] == [lb.backend_address_pools[0].id]
    assert not azure.plan(wider).has_changes
    azure.destroy(wider)


def test_a_load_balanced_group_without_allow_from_serves_its_listeners_and_nothing_else(azure):
    """The plan's public listener is what opens the target port (as an AWS listener opens the
    balancer): the instances have no public address, so the world reaches them only through the
    balancer, on its target port; no other port is open to anyone."""
    body = group(ports="8080, 22").replace("    allow_from: ['10.0.0.0/8']\n", "") + (
        "  lb:\n    kind: load_balancer\n    target: web\n    listeners: [{port: 80, target_port: 8080}]\n")
    assert azure.apply(azure.plan(body)).ok
    assert security_rules(azure) == {"allow-lb-clients": (105, "Allow", "Tcp", ["Internet"], ["8080"]),
                                     "allow-lb-probes": (110, "Allow", "Tcp", ["AzureLoadBalancer"], ["8080"])}
    (ip,) = scale_set(azure).properties.virtual_machine_profile.network_profile.network_interface_configurations[
        0].ip_configurations
    assert ip.public_ip_address_configuration is None
    azure.destroy(body)


def test_a_scale_set_lepton_does_not_own_is_refused_and_untouched(azure):
    """Someone else's scale set holding the wanted name: the apply fails on it, says why, and the
    scale set is left exactly as it was."""
    body = group(count=0)
    azure.converge(body)
    compute = azure.client("compute").virtual_machine_scale_sets
    name = f"{azure.stack}-web"
    subnet = scale_set(azure).properties.virtual_machine_profile.network_profile.network_interface_configurations[
        0].ip_configurations[0].subnet.id
    compute.begin_delete(azure.group, name).result()  # lepton's own set gone, a stranger's in its place
    compute.begin_create_or_update(azure.group, name, foreign_scale_set(subnet)).result()
    before = compute.get(azure.group, name).as_dict()
    result = azure.apply(azure.plan(body))
    assert "not owned by stack" in result.failed["web/azure.vm_scale_set"]
    assert compute.get(azure.group, name).as_dict() == before
    compute.begin_delete(azure.group, name).result()
    azure.destroy(body)


def foreign_scale_set(subnet: str) -> dict:
    return {"location": REGION, "tags": {"owner": "someone else"}, "sku": {"name": "Standard_B1s", "capacity": 0},
            "properties": {"upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": "foreign", "adminUsername": "someone",
                              "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                                  {"path": "/home/someone/.ssh/authorized_keys", "keyData": PLACEHOLDER_KEY}]}}},
                "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                      "version": "latest"}},
                "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                    "primary": True,
                    "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet}}}]}}]}}}}


def test_an_unknown_vm_size_image_or_zone_count_is_a_clear_error_before_any_call(azure):
    with pytest.raises(LeptonError) as raised:
        load_plan_text(azure.text(group(size="instance_type: {azure: Standard_D2s_v6}", image="ubuntu-22.4", zones=4)),
                       drivers=True)
    messages = [(d.path, d.summary, d.hint) for d in raised.value.diagnostics]
    assert ("resources.web.instance_type", "unknown azure instance type 'Standard_D2s_v6'",
            "did you mean 'Standard_D2s_v5'?") in messages
    assert any(path == "resources.web.image" and "did you mean 'ubuntu-22.04'" in hint for path, _, hint in messages)
    assert any(path == "resources.web.zones" and "has 3 availability zones" in summary
               for path, summary, _ in messages)
    assert azure.counter.calls == {}


def test_without_an_ssh_key_the_instances_get_a_placeholder_and_the_plan_says_so(tmp_path):
    key, notes = ssh_public_key(tmp_path)
    assert key == PLACEHOLDER_KEY and "placeholder SSH key nobody holds" in notes[0]
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519.pub").write_text("ssh-ed25519 AAAAC3Nza mine\n")
    assert ssh_public_key(tmp_path) == ("ssh-ed25519 AAAAC3Nza mine", [])
