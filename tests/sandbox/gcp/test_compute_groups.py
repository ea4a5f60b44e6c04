"""Instance templates, regional managed instance groups and autoscalers, through the SDK."""

from __future__ import annotations

import collections
import ipaddress

import pytest
from google.api_core import exceptions

from tests.sandbox.gcp.compute_support import Compute, new_project, serve
from tests.sandbox.gcp.compute_world import REGION, World, manager, template


@pytest.fixture(scope="module")
def endpoint():
    with serve(running_polls=0) as (url, _app):
        yield url


@pytest.fixture
def world(endpoint):
    return World(Compute(endpoint, new_project()))


def _migs(world):
    return world.compute.region_instance_group_managers


def _instances(world, name="mig", **extra):
    pager = _migs(world).list_managed_instances(
        request={"project": world.compute.project, "region": REGION, "instance_group_manager": name, **extra})
    return list(pager)


def _templates_of(world, name="mig"):
    return collections.Counter(i.version.instance_template.rsplit("/", 1)[1] for i in _instances(world, name))


def _patch(world, body, name="mig"):
    return _migs(world).patch(project=world.compute.project, region=REGION, instance_group_manager=name,
                              instance_group_manager_resource=body)


def test_a_manager_runs_target_size_instances_spread_over_its_zones(world):
    world.create("manager", "mig", size=5,
                 distribution_policy={"zones": [{"zone": f"zones/{REGION}-a"}, {"zone": f"zones/{REGION}-b"}]})
    mig = world.get("manager", "mig")
    assert mig.target_size == 5 and mig.status.is_stable and mig.current_actions.none == 5
    assert mig.instance_template == world.need("template")
    assert [z.zone for z in mig.distribution_policy.zones] == [
        world.compute.link(f"zones/{REGION}-a"), world.compute.link(f"zones/{REGION}-b")]
    instances = _instances(world)
    assert len(instances) == 5
    zones = collections.Counter(i.instance.split("/zones/")[1].split("/")[0] for i in instances)
    assert sorted(zones.values()) == [2, 3]
    assert all(i.name.startswith("mig-") and len(i.name) == len("mig-") + 4 for i in instances)
    assert {i.instance_status for i in instances} == {"RUNNING"}
    assert {i.current_action for i in instances} == {"NONE"}
    pages = list(_migs(world).list_managed_instances(request={
        "project": world.compute.project, "region": REGION, "instance_group_manager": "mig", "max_results": 2}).pages)
    assert [len(p.managed_instances) for p in pages] == [2, 2, 1]


def test_the_default_distribution_is_three_zones_of_the_region(world):
    world.create("manager", "mig", size=3)
    zones = {i.instance.split("/zones/")[1].split("/")[0] for i in _instances(world)}
    assert zones == {f"{REGION}-a", f"{REGION}-b", f"{REGION}-c"}


def test_resize_adds_and_removes_instances(world):
    world.create("manager", "mig", size=2)
    migs = _migs(world)
    migs.resize(project=world.compute.project, region=REGION, instance_group_manager="mig", size=4).result()
    assert world.get("manager", "mig").target_size == 4 and len(_instances(world)) == 4
    migs.resize(project=world.compute.project, region=REGION, instance_group_manager="mig", size=1).result()
    assert len(_instances(world)) == 1
    group = world.compute.region_instance_groups.get(project=world.compute.project, region=REGION,
                                                     instance_group="mig")
    assert group.size == 1
    with pytest.raises(exceptions.BadRequest):
        migs.resize(project=world.compute.project, region=REGION, instance_group_manager="mig", size=-1)


def test_a_proactive_template_change_moves_every_instance(world):
    world.create("manager", "mig", size=3)
    old_names = {i.name for i in _instances(world)}
    new = world.create("template", "tpl-2", machine="n2-standard-4")
    _patch(world, {"instance_template": new,
                   "update_policy": {"type_": "PROACTIVE", "minimal_action": "REPLACE"}}).result()
    assert _templates_of(world) == {"tpl-2": 3}
    assert not old_names & {i.name for i in _instances(world)}  # replaced, not restarted
    mig = world.get("manager", "mig")
    assert mig.instance_template == new and mig.status.version_target.is_reached
    assert [v.instance_template for v in mig.versions] == [new]


def test_an_opportunistic_change_leaves_running_instances(world):
    world.create("manager", "mig", size=2, update_policy={"type_": "OPPORTUNISTIC"})
    new = world.create("template", "tpl-2")
    _patch(world, {"versions": [{"instance_template": new, "name": "v2"}]}).result()
    assert _templates_of(world) == {"template": 2}
    assert not world.get("manager", "mig").status.version_target.is_reached
    _migs(world).resize(project=world.compute.project, region=REGION, instance_group_manager="mig", size=3).result()
    assert _templates_of(world) == {"template": 2, "tpl-2": 1}  # new instances use the new version


def test_set_instance_template_affects_new_instances_only(world):
    world.create("manager", "mig", size=2)
    new = world.create("template", "tpl-2")
    _migs(world).set_instance_template(
        project=world.compute.project, region=REGION, instance_group_manager="mig",
        region_instance_group_managers_set_template_request_resource={"instance_template": new}).result()
    assert world.get("manager", "mig").instance_template == new
    assert _templates_of(world) == {"template": 2}


def test_a_stale_manager_fingerprint_is_refused(world):
    world.create("manager", "mig", size=1)
    stale = world.get("manager", "mig").fingerprint
    _patch(world, {"target_size": 2, "fingerprint": stale}).result()
    assert len(_instances(world)) == 2
    with pytest.raises(exceptions.PreconditionFailed) as err:
        _patch(world, {"target_size": 3, "fingerprint": stale})
    assert err.value.errors[0]["reason"] == "conditionNotMet"
    assert len(_instances(world)) == 2


def test_named_ports_live_on_the_group_and_the_manager(world):
    world.create("manager", "mig", size=1)
    groups = world.compute.region_instance_groups
    group = groups.get(project=world.compute.project, region=REGION, instance_group="mig")
    assert [(p.name, p.port) for p in group.named_ports] == [("http", 80)]
    assert group.self_link == world.compute.link(f"regions/{REGION}/instanceGroups/mig")
    assert world.get("manager", "mig").instance_group == group.self_link
    groups.set_named_ports(project=world.compute.project, region=REGION, instance_group="mig",
                           region_instance_groups_set_named_ports_request_resource={
                               "named_ports": [{"name": "http", "port": 8080}], "fingerprint": group.fingerprint},
                           ).result()
    assert [(p.name, p.port) for p in world.get("manager", "mig").named_ports] == [("http", 8080)]
    with pytest.raises(exceptions.PreconditionFailed):
        groups.set_named_ports(project=world.compute.project, region=REGION, instance_group="mig",
                               region_instance_groups_set_named_ports_request_resource={
                                   "named_ports": [], "fingerprint": group.fingerprint})
    _patch(world, {"named_ports": [{"name": "web", "port": 81}]}).result()
    group = groups.get(project=world.compute.project, region=REGION, instance_group="mig")
    assert [(p.name, p.port) for p in group.named_ports] == [("web", 81)]


def test_a_template_used_by_a_manager_cannot_be_deleted(world):
    world.create("manager", "mig", size=1)
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("template", "template")
    assert err.value.errors[0]["reason"] == "resourceInUseByAnotherResource"
    assert f"regions/{REGION}/instanceGroupManagers/mig" in err.value.message
    new = world.create("template", "tpl-2")
    _patch(world, {"instance_template": new}).result()
    world.delete("template", "template").result()  # no longer used


def test_a_manager_whose_group_backs_a_service_cannot_be_deleted(world):
    world.need("backend_service")
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("manager", "manager")
    assert err.value.errors[0]["reason"] == "resourceInUseByAnotherResource"
    world.delete("backend_service", "backend-service").result()
    world.delete("manager", "manager").result()
    with pytest.raises(exceptions.NotFound):
        world.compute.region_instance_groups.get(project=world.compute.project, region=REGION,
                                                 instance_group="manager")


def test_an_autoscaler_keeps_the_size_within_its_bounds(world):
    world.create("manager", "mig", size=1)
    scalers = world.compute.region_autoscalers
    body = {"name": "as", "target": world.compute.link(f"regions/{REGION}/instanceGroupManagers/mig"),
            "autoscaling_policy": {"min_num_replicas": 3, "max_num_replicas": 6,
                                   "cpu_utilization": {"utilization_target": 0.5}}}
    world.insert("autoscaler", body).result()
    assert len(_instances(world)) == 3
    scaler = world.get("autoscaler", "as")
    assert scaler.status == "ACTIVE" and scaler.autoscaling_policy.cool_down_period_sec == 60
    assert world.get("manager", "mig").status.autoscaler == scaler.self_link
    scalers.patch(request={"project": world.compute.project, "region": REGION, "autoscaler": "as",
                           "autoscaler_resource": {"autoscaling_policy": {"min_num_replicas": 4,
                                                                          "max_num_replicas": 6}}}).result()
    assert len(_instances(world)) == 4
    assert world.get("autoscaler", "as").autoscaling_policy.cpu_utilization.utilization_target == 0.5
    scalers.update(request={"project": world.compute.project, "region": REGION, "autoscaler": "as",
                            "autoscaler_resource": {**body, "autoscaling_policy": {"min_num_replicas": 1,
                                                                                   "max_num_replicas": 2}}}).result()
    assert len(_instances(world)) == 2
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("manager", "mig")
    assert err.value.errors[0]["reason"] == "resourceInUseByAnotherResource"
    with pytest.raises(exceptions.BadRequest):
        scalers.patch(request={"project": world.compute.project, "region": REGION, "autoscaler": "as",
                               "autoscaler_resource": {"autoscaling_policy": {"min_num_replicas": 5,
                                                                              "max_num_replicas": 2}}})
    world.delete("autoscaler", "as").result()
    world.delete("manager", "mig").result()


T4 = [{"accelerator_type": "nvidia-tesla-t4", "accelerator_count": 1}]


@pytest.mark.parametrize("machine,scheduling,gpus,ok", [
    ("a2-highgpu-1g", {"on_host_maintenance": "TERMINATE"}, [], True),
    ("g2-standard-8", {}, [], False),  # GPUs cannot live-migrate
    ("n1-standard-8", {"on_host_maintenance": "TERMINATE"}, T4, True),
    ("n1-standard-8", {"on_host_maintenance": "MIGRATE"}, T4, False),
    ("e2-standard-8", {"on_host_maintenance": "TERMINATE"}, T4, False),  # only N1 takes attached GPUs
    ("n1-standard-8", {"on_host_maintenance": "TERMINATE"}, [{**T4[0], "accelerator_count": 3}], False),
    ("n2-fancy-7", {}, [], False),
])
def test_template_machine_types_and_gpu_scheduling(world, machine, scheduling, gpus, ok):
    body = template("tpl", world, machine=machine)
    body["properties"]["scheduling"] = scheduling
    body["properties"]["guest_accelerators"] = gpus
    if ok:
        world.insert("template", body).result()
        assert world.get("template", "tpl").properties.machine_type == machine
    else:
        with pytest.raises(exceptions.BadRequest):
            world.insert("template", body)


def test_template_images_resolve_to_full_links(world):
    world.create("template", "tpl", image="ubuntu-2404-lts-amd64")
    disk = world.get("template", "tpl").properties.disks[0]
    assert disk.initialize_params.source_image == (
        "https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64")


def test_manager_inputs_are_checked(world):
    with pytest.raises(exceptions.BadRequest):
        world.insert("manager", manager("mig", world, distribution_policy={"zones": [{"zone": "zones/us-east1-b"}]}))
    with pytest.raises(exceptions.NotFound):
        world.insert("manager", {**manager("mig", world), "instance_template": world.compute.link(
            "global/instanceTemplates/missing")})
    with pytest.raises(exceptions.BadRequest):
        world.insert("manager", {k: v for k, v in manager("mig", world).items() if k != "base_instance_name"})
    with pytest.raises(exceptions.NotFound):
        world.compute.region_instance_group_managers.list(request={"project": world.compute.project,
                                                                   "region": "mars-north1"})


def test_managed_instances_read_as_zonal_instances(world):
    world.create("manager", "mig", size=2, distribution_policy={"zones": [{"zone": f"zones/{REGION}-f"}]})
    listed = list(world.compute.instances.list(project=world.compute.project, zone=f"{REGION}-f"))
    assert sorted(i.name for i in listed) == sorted(i.name for i in _instances(world))
    one = world.compute.instances.get(project=world.compute.project, zone=f"{REGION}-f", instance=listed[0].name)
    assert one.status == "RUNNING" and one.machine_type.endswith("/machineTypes/e2-medium")
    assert dict(one.labels) == {"lepton-stack": "abc"}
    assert one.network_interfaces[0].subnetwork == world.need("subnetwork")
    subnet = world.get("subnetwork", "subnetwork")
    assert ipaddress.ip_address(one.network_interfaces[0].network_i_p) in ipaddress.ip_network(subnet.ip_cidr_range)
    assert not list(world.compute.instances.list(project=world.compute.project, zone=f"{REGION}-a"))
    with pytest.raises(exceptions.NotFound):
        world.compute.instances.get(project=world.compute.project, zone=f"{REGION}-a", instance=listed[0].name)


def test_autohealing_health_check_is_held_by_the_manager(world):
    hc = world.need("health_check")
    world.create("manager", "mig", size=1, auto_healing_policies=[{"health_check": hc, "initial_delay_sec": 60}])
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("health_check", "health-check")
    assert err.value.errors[0]["reason"] == "resourceInUseByAnotherResource"


@pytest.mark.parametrize("policy,ok", [
    ({"max_surge": {"fixed": 3}, "max_unavailable": {"fixed": 0}}, True),
    ({"max_surge": {"fixed": 1}, "max_unavailable": {"fixed": 0}}, False),  # fewer than the 3 zones
    ({"max_surge": {"fixed": 0}, "max_unavailable": {"fixed": 0}}, False),
    ({"max_surge": {"fixed": 3}, "replacement_method": "RECREATE"}, False),
    ({"max_surge": {"percent": 20}, "max_unavailable": {"fixed": 0}}, True),
])
def test_regional_rolling_update_limits(world, policy, ok):
    body = manager("mig", world, update_policy={"type_": "PROACTIVE", "minimal_action": "REPLACE", **policy})
    if not ok:
        with pytest.raises(exceptions.BadRequest):
            world.insert("manager", body)
        return
    world.insert("manager", body).result()
    surge = world.get("manager", "mig").update_policy.max_surge
    assert (surge.fixed, surge.percent) == (policy["max_surge"].get("fixed", 0), policy["max_surge"].get("percent", 0))
    if "fixed" in policy["max_surge"]:
        assert surge.calculated == policy["max_surge"]["fixed"]
