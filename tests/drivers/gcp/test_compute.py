"""compute on Google Cloud, through the driver and the engine, against the project's Compute
Engine emulator; what lepton made is read back with the official SDK."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from lepton_cli.errors import LeptonError
from lepton_cli.spec.loader import load_plan_text
from tests.drivers.gcp.conftest import PROJECT, REGION

GROUP = """\
resources:
  web:
    kind: compute
    {size}
    image: {image}
    count: {count}
    zones: 2
    ports: [8080]
    allow_from: ['10.0.0.0/8']
    user_data: "echo {message}"
"""


def group(size="size: {cpus: 2, memory_gb: 4}", image="ubuntu-22.04", count=2, message="hi"):
    return GROUP.format(size=size, image=image, count=count, message=message)


def manager(gcp, name="web"):
    return gcp.compute("RegionInstanceGroupManagers").get(
        project=PROJECT, region=REGION, instance_group_manager=f"{gcp.stack}-{name}")


def template_of(gcp, mig):
    name = mig.instance_template.rsplit("/", 1)[1]
    return gcp.compute("InstanceTemplates").get(project=PROJECT, instance_template=name)


def managed_instances(gcp, name="web"):
    return list(gcp.compute("RegionInstanceGroupManagers").list_managed_instances(
        project=PROJECT, region=REGION, instance_group_manager=f"{gcp.stack}-{name}"))


def templates(gcp):
    return sorted(t.name for t in gcp.compute("InstanceTemplates").list(project=PROJECT)
                  if t.name.startswith(f"{gcp.stack}-"))


def test_a_group_spreads_over_zones_from_a_template_built_from_the_plan(gcp):
    gcp.converge(group())
    mig = manager(gcp)
    assert mig.target_size == 2
    assert [z.zone.rsplit("/", 1)[1] for z in mig.distribution_policy.zones] == ["us-central1-a", "us-central1-b"]
    policy = mig.update_policy
    assert (policy.type_, policy.minimal_action, policy.max_surge.fixed, policy.max_unavailable.fixed) == (
        "PROACTIVE", "REPLACE", 2, 0)
    assert len(managed_instances(gcp)) == 2
    props = template_of(gcp, mig).properties
    assert props.machine_type == "e2-medium"  # the cheapest type with 2 vCPUs and 4 GiB
    (disk,) = props.disks
    assert disk.boot and disk.initialize_params.disk_size_gb == 20
    assert disk.initialize_params.source_image.endswith("projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts")
    assert {i.key: i.value for i in props.metadata.items} == {"startup-script": "echo hi"}
    assert list(props.tags.items) == [f"{gcp.stack}-web"]
    assert props.labels["lepton-group"] == "web" and props.labels["lepton-stack"] == gcp.stack
    (nic,) = props.network_interfaces
    assert nic.network.endswith(f"/global/networks/{gcp.stack}-net")
    assert nic.subnetwork.endswith(f"/regions/{REGION}/subnetworks/{gcp.stack}-{REGION}")
    assert len(nic.access_configs) == 1  # nothing fronts the group: it gets external addresses
    assert (props.scheduling.on_host_maintenance, props.scheduling.provisioning_model) == ("MIGRATE", "STANDARD")
    assert not props.guest_accelerators
    # Only what the plan opens: tcp 8080 from 10.0.0.0/8, to this group's instances.
    rule = gcp.compute("Firewalls").get(project=PROJECT, firewall=f"{gcp.stack}-web-allow")
    assert (list(rule.source_ranges), list(rule.target_tags)) == (["10.0.0.0/8"], [f"{gcp.stack}-web"])
    assert [(a.I_p_protocol, list(a.ports)) for a in rule.allowed] == [("tcp", ["8080"])]
    gcp.destroy(group())
    assert templates(gcp) == []
    with pytest.raises(exceptions.NotFound):
        manager(gcp)


def test_a_count_change_resizes_the_group_in_place(gcp):
    gcp.converge(group())
    template = manager(gcp).instance_template
    plan = gcp.plan(group(count=4))
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("web/gcp.region_instance_group_manager", "update")
    assert {k: (d.before, d.after) for k, d in change.diff.items()} == {"target_size": (2, 4)}
    assert "resizes the group in place" in change.notes
    gcp.counter.reset()
    assert gcp.apply(plan).ok
    assert gcp.counter.calls["RegionInstanceGroupManagers.resize"] == 1
    assert gcp.counter.calls["RegionInstanceGroupManagers.patch"] == 0
    mig = manager(gcp)
    assert (mig.target_size, mig.instance_template) == (4, template)
    assert len(managed_instances(gcp)) == 4
    assert not gcp.plan(group(count=4)).has_changes
    # Back and forth: Google ignores a requestId it saw within the hour, so each resize must
    # be a new request, or the last one is silently dropped.
    for count in (2, 4):
        gcp.converge(group(count=count))
        assert manager(gcp).target_size == count
    gcp.destroy(group(count=4))


def test_a_zones_change_replaces_the_group_and_destroy_still_finds_everything(gcp):
    """The zones of a regional group are fixed: a new group of the same name replaces it (the
    old one goes first). Deleting the new one later must not be taken for a repeat of the first
    delete (same name, same request)."""
    gcp.converge(group())
    wider = group().replace("zones: 2", "zones: 3")
    plan = gcp.plan(wider)
    (change,) = plan.actionable
    assert (change.address, change.action.value, change.create_first) == (
        "web/gcp.region_instance_group_manager", "replace", False)
    assert gcp.apply(plan).ok
    assert len(manager(gcp).distribution_policy.zones) == 3 and len(managed_instances(gcp)) == 2
    assert not gcp.plan(wider).has_changes
    gcp.destroy(wider)
    with pytest.raises(exceptions.NotFound):
        manager(gcp)
    assert templates(gcp) == []


@pytest.mark.parametrize("change", [{"image": "debian-12"}, {"size": "size: {cpus: 4, memory_gb: 16}"}])
def test_an_image_or_size_change_rolls_the_group_onto_a_new_template_and_deletes_the_old(gcp, change):
    gcp.converge(group())
    old = manager(gcp).instance_template.rsplit("/", 1)[1]
    before = {i.name for i in managed_instances(gcp)}
    plan = gcp.plan(group(**change))
    actions = {c.address: c.action.value for c in plan.actionable}
    assert actions == {"web/gcp.instance_template": "replace", "web/gcp.region_instance_group_manager": "update"}
    replace = next(c for c in plan.actionable if c.address == "web/gcp.instance_template")
    assert replace.create_first  # a new name: the new template exists before the old goes
    result = gcp.apply(plan)
    assert result.ok, result.failed
    mig = manager(gcp)
    new = mig.instance_template.rsplit("/", 1)[1]
    assert new != old and templates(gcp) == [new]
    # The proactive update replaced every instance with one from the new template.
    instances = managed_instances(gcp)
    assert len(instances) == 2 and not {i.name for i in instances} & before
    assert {i.version.instance_template.rsplit("/", 1)[1] for i in instances} == {new}
    assert not gcp.plan(group(**change)).has_changes
    gcp.destroy(group(**change))
    assert templates(gcp) == []


def test_autoscale_adds_a_cpu_autoscaler_that_owns_the_size_and_can_be_removed(gcp):
    def body(scale):
        return f"resources:\n  workers:\n    kind: compute\n    instance_type: {{gcp: n2-standard-2}}\n    {scale}\n"

    gcp.converge(body("autoscale: {min: 1, max: 5, target_cpu: 55}"))
    autoscalers = gcp.compute("RegionAutoscalers")
    scaler = autoscalers.get(project=PROJECT, region=REGION, autoscaler=f"{gcp.stack}-workers")
    policy = scaler.autoscaling_policy
    assert (policy.min_num_replicas, policy.max_num_replicas) == (1, 5)
    assert policy.cpu_utilization.utilization_target == pytest.approx(0.55)
    assert scaler.target.endswith(f"/instanceGroupManagers/{gcp.stack}-workers")
    assert manager(gcp, "workers").target_size == 1
    # The autoscaler's size is not the plan's: the group's target size is never diffed.
    gcp.compute("RegionInstanceGroupManagers").resize(project=PROJECT, region=REGION,
                                                      instance_group_manager=f"{gcp.stack}-workers", size=3).result()
    assert not gcp.plan(body("autoscale: {min: 1, max: 5, target_cpu: 55}")).has_changes

    plan = gcp.plan(body("autoscale: {min: 2, max: 6, target_cpu: 70}"))
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("workers/gcp.region_autoscaler", "update")
    assert {k: (d.before, d.after) for k, d in change.diff.items()} == {
        "min_replicas": (1, 2), "max_replicas": (5, 6), "cpu_target": (0.55, 0.7)}
    assert gcp.apply(plan).ok
    policy = autoscalers.get(project=PROJECT, region=REGION, autoscaler=f"{gcp.stack}-workers").autoscaling_policy
    assert (policy.min_num_replicas, policy.max_num_replicas) == (2, 6)

    gcp.converge(body("count: 2"))
    with pytest.raises(exceptions.NotFound):
        autoscalers.get(project=PROJECT, region=REGION, autoscaler=f"{gcp.stack}-workers")
    assert manager(gcp, "workers").target_size == 2
    gcp.destroy(body("count: 2"))


def test_firewall_rules_change_in_place(gcp):
    gcp.converge(group())
    body = group().replace("allow_from: ['10.0.0.0/8']", "allow_from: ['10.0.0.0/8', '192.168.0.0/16']")
    body = body.replace("ports: [8080]", "ports: [8080, 9090]")
    plan = gcp.plan(body)
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("web/gcp.firewall", "update")
    assert set(change.diff) == {"source_ranges", "allowed"}
    assert gcp.apply(plan).ok
    rule = gcp.compute("Firewalls").get(project=PROJECT, firewall=f"{gcp.stack}-web-allow")
    assert list(rule.source_ranges) == ["10.0.0.0/8", "192.168.0.0/16"]
    assert [list(a.ports) for a in rule.allowed] == [["8080", "9090"]]
    assert not gcp.plan(body).has_changes
    gcp.destroy(body)


@pytest.mark.parametrize("gpus, machine_type, attached", [
    ("A100:1", "a2-highgpu-1g", []),
    ("L4:1", "g2-standard-4", []),
    ("T4:1", "n1-standard-4", [("nvidia-tesla-t4", 1)]),
])
def test_gpu_sizes_pick_accelerator_machines_that_stop_for_maintenance(gcp, gpus, machine_type, attached):
    body = f"resources:\n  train:\n    kind: compute\n    size: {{gpus: '{gpus}'}}\n    count: 1\n"
    gcp.converge(body)
    props = template_of(gcp, manager(gcp, "train")).properties
    assert props.machine_type == machine_type
    assert [(a.accelerator_type, a.accelerator_count) for a in props.guest_accelerators] == attached
    assert (props.scheduling.on_host_maintenance, props.scheduling.automatic_restart) == ("TERMINATE", True)
    gcp.destroy(body)


def test_spot_groups_run_spot_vms_deleted_on_preemption(gcp):
    body = "resources:\n  batch:\n    kind: compute\n    instance_type: e2-standard-4\n    spot: true\n    count: 1\n"
    gcp.converge(body)
    scheduling = template_of(gcp, manager(gcp, "batch")).properties.scheduling
    assert (scheduling.provisioning_model, scheduling.instance_termination_action) == ("SPOT", "DELETE")
    assert (scheduling.on_host_maintenance, scheduling.automatic_restart) == ("TERMINATE", False)
    gcp.destroy(body)


def test_an_unknown_machine_type_or_image_is_a_clear_error_before_any_call(gcp):
    with pytest.raises(LeptonError) as raised:
        load_plan_text(gcp.text(group(size="instance_type: {gcp: n2-standrd-4}", image="ubuntu-22.4")), drivers=True)
    messages = [(d.path, d.summary, d.hint) for d in raised.value.diagnostics]
    assert ("resources.web.instance_type", "unknown gcp instance type 'n2-standrd-4'",
            "did you mean 'n2-standard-4'?") in messages
    assert any(path == "resources.web.image" and "did you mean 'ubuntu-22.04'" in hint for path, _, hint in messages)
    assert gcp.counter.calls == {}


def test_a_template_lepton_does_not_own_is_never_touched(gcp):
    """Someone else's template holding the name lepton wants: the apply fails on it, says why,
    and the template is left exactly as it was."""
    driver = gcp.driver()
    from lepton_cli.engine.expand import expand_stack

    (wanted,) = [p for p in expand_stack(load_plan_text(gcp.text(group())).stack, {"gcp": driver})
                 if p.type == "gcp.instance_template"]
    name = wanted.properties["name"]
    client = gcp.compute("InstanceTemplates")
    # A sandbox project has no default network: the foreign template gets one of its own.
    networks = gcp.compute("Networks")
    networks.insert(project=PROJECT, network_resource={"name": f"{gcp.stack}-other", "auto_create_subnetworks": False}
                    ).result()
    client.insert(project=PROJECT, instance_template_resource={
        "name": name, "description": "not lepton's", "properties": {
            "machine_type": "e2-small", "disks": [{"boot": True, "initialize_params": {
                "source_image": "projects/debian-cloud/global/images/family/debian-12"}}],
            "network_interfaces": [{"network": f"global/networks/{gcp.stack}-other"}]}}).result()
    before = type(client.get(project=PROJECT, instance_template=name)).to_dict(
        client.get(project=PROJECT, instance_template=name))
    result = gcp.apply(gcp.plan(group()))
    assert "web/gcp.instance_template" in result.failed
    assert "not owned by stack" in result.failed["web/gcp.instance_template"]
    after = client.get(project=PROJECT, instance_template=name)
    assert type(after).to_dict(after) == before
    gcp.destroy(group())
    assert client.get(project=PROJECT, instance_template=name).description == "not lepton's"
    client.delete(project=PROJECT, instance_template=name).result()
    networks.delete(project=PROJECT, network=f"{gcp.stack}-other").result()


def test_a_load_balanced_group_gets_named_ports_and_no_external_addresses(gcp):
    """The compute expansion reads which ports the stack's load balancers send to the group:
    one named port each, which the backend service names; instances behind the load balancer
    get no external address."""
    web = group().replace("ports: [8080]", "ports: [8080, 9090]")
    lb = ("  lb:\n    kind: load_balancer\n    target: web\n    listeners: [{port: 80, target_port: 8080}]\n"
          "  admin:\n    kind: load_balancer\n    target: web\n    listeners: [{port: 8081, target_port: 9090}]\n")
    gcp.converge(web + lb)
    mig = manager(gcp)
    assert sorted((p.name, p.port) for p in mig.named_ports) == [("port-8080", 8080), ("port-9090", 9090)]
    group_ports = gcp.compute("RegionInstanceGroups").get(project=PROJECT, region=REGION,
                                                          instance_group=f"{gcp.stack}-web").named_ports
    assert sorted((p.name, p.port) for p in group_ports) == [("port-8080", 8080), ("port-9090", 9090)]
    assert not template_of(gcp, mig).properties.network_interfaces[0].access_configs
    # A listener's target port changes the group's named ports in place.
    moved = lb.replace("target_port: 9090", "target_port: 8080")
    plan = gcp.plan(web + moved)
    change = next(c for c in plan.actionable if c.address == "web/gcp.region_instance_group_manager")
    assert change.action.value == "update" and set(change.diff) == {"named_ports"}
    result = gcp.apply(plan)
    assert result.ok, result.failed
    assert [(p.name, p.port) for p in manager(gcp).named_ports] == [("port-8080", 8080)]
    assert not gcp.plan(web + moved).has_changes
    gcp.destroy(web + moved)


def test_a_destroyed_stack_applies_again_at_once(gcp):
    """Google remembers a mutation's requestId for an hour: re-creating what was just destroyed
    must not be taken for a repeat of the first create."""
    gcp.converge(group())
    gcp.destroy(group())
    gcp.converge(group())
    assert manager(gcp).target_size == 2 and len(managed_instances(gcp)) == 2
    gcp.destroy(group())
