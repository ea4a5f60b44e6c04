"""The engine against an in-memory cloud: diff, plan, change sets and the parallel executor."""

from __future__ import annotations

import threading

import pytest

from lepton_cli.drivers.base import UNKNOWN
from lepton_cli.engine.changeset import check_fresh, load_changeset, save_changeset
from lepton_cli.engine.diff import decide_action
from lepton_cli.engine.graph import operation_graph
from lepton_cli.engine.model import Action
from lepton_cli.errors import LeptonError, StaleChangeSetError

PLAN = """\
stack: shop
resources:
  web:
    kind: compute
    instance_type: {machine}
    count: {count}
    user_data: "bucket=${{assets.name}}"
  assets:
    kind: bucket
    versioning: true
    force_destroy: {force}
  lb:
    kind: load_balancer
    target: web
    listeners: [{{port: 80}}]
"""


def plan_text(machine="small", count=2, force="false", extra=""):
    return PLAN.format(machine=machine, count=count, force=force) + extra


def actions(plan):
    return {c.address: c.action for c in plan.changes}


@pytest.mark.parametrize("exists,changed,expected", [
    (False, set(), Action.CREATE),
    (True, set(), Action.NOOP),
    (True, {"count"}, Action.UPDATE),
    (True, {"count", "machine"}, Action.REPLACE),
])
def test_decide_action(exists, changed, expected):
    assert decide_action(exists, changed, frozenset({"machine"})) is expected


def test_a_first_plan_creates_everything_and_shows_what_is_known_only_after_apply(harness):
    plan = harness.plan(plan_text())
    assert set(actions(plan).values()) == {Action.CREATE}
    group = next(c for c in plan.changes if c.address == "web/mem.group")
    assert group.diff["network"].after is UNKNOWN
    assert group.diff["user_data"].after is UNKNOWN  # depends on the bucket's name
    assert group.diff["count"].after == 2
    assert plan.summary() == {"create": 4, "update": 0, "replace": 0, "delete": 0}


def test_apply_then_plan_again_is_a_no_op(harness):
    result = harness.converge(plan_text())
    assert set(result.state.primitives) == {"web/mem.group", "assets/mem.bucket", "lb/mem.balancer",
                                            "network-us-east-1/mem.network"}
    group = harness.store.read().primitives["web/mem.group"]
    assert group.properties["user_data"] == "bucket=shop-assets"
    assert group.depends_on == ["assets/mem.bucket", "network-us-east-1/mem.network"]
    assert not harness.plan(plan_text()).has_changes


def test_count_is_an_update_in_place_and_machine_forces_a_replace(harness):
    harness.converge(plan_text())
    update = harness.plan(plan_text(count=5))
    (change,) = update.actionable
    assert change.action is Action.UPDATE and change.diff["count"].before == 2 and change.diff["count"].after == 5
    assert change.notes == ["changes desired capacity"]

    replace = harness.plan(plan_text(machine="large"))
    changes = {c.address: c for c in replace.actionable}
    assert changes["web/mem.group"].action is Action.REPLACE
    assert changes["web/mem.group"].replace_fields == ["machine"]
    # The balancer refers to the group's id, which a replace changes: known only after apply.
    assert changes["lb/mem.balancer"].diff["group"].after is UNKNOWN
    result = harness.apply(replace)
    assert result.ok
    assert harness.cloud.count("delete") == 1 and not harness.plan(plan_text(machine="large")).has_changes


def test_removed_resources_are_deleted_dependents_first(harness):
    harness.converge(plan_text())
    plan = harness.plan("stack: shop\nresources:\n  assets: {kind: bucket, versioning: true}\n")
    assert actions(plan) == {"assets/mem.bucket": Action.NOOP, "web/mem.group": Action.DELETE,
                             "lb/mem.balancer": Action.DELETE, "network-us-east-1/mem.network": Action.DELETE}
    harness.cloud.calls.clear()
    assert harness.apply(plan).ok
    order = [address for op, address in harness.cloud.calls if op == "delete"]
    assert order.index("lb/mem.balancer") < order.index("web/mem.group") < order.index("network-us-east-1/mem.network")


def test_an_object_created_but_never_recorded_is_adopted_not_duplicated(harness):
    harness.converge(plan_text())
    # A crash between the cloud call and the state write: the object exists, state lacks it.
    state = harness.store.read()
    del state.primitives["assets/mem.bucket"]
    harness.store.write(state)
    plan = harness.plan(plan_text())
    assert not plan.has_changes
    assert harness.apply(plan).ok
    assert "assets/mem.bucket" in harness.store.read().primitives
    assert sum(1 for o in harness.cloud.objects.values() if o["type"] == "mem.bucket") == 1


def test_an_object_deleted_out_of_band_is_created_again(harness):
    harness.converge(plan_text())
    ident = next(i for i, o in harness.cloud.objects.items() if o["type"] == "mem.bucket")
    del harness.cloud.objects[ident]
    plan = harness.plan(plan_text())
    assert {c.address: c.action for c in plan.actionable} == {"assets/mem.bucket": Action.CREATE,
                                                              "web/mem.group": Action.UPDATE}


def test_target_limits_to_a_resource_and_what_it_depends_on(harness):
    plan = harness.plan(plan_text(), targets=["web"])
    assert set(actions(plan)) == {"web/mem.group", "assets/mem.bucket", "network-us-east-1/mem.network"}
    with pytest.raises(LeptonError, match="did you mean 'web'"):
        harness.plan(plan_text(), targets=["wbe"])


def test_parallelism_is_honoured_and_used(harness):
    buckets = "".join(f"  b{i}: {{kind: bucket}}\n" for i in range(9))
    harness.cloud.delay = 0.15
    result = harness.apply(harness.plan(f"stack: shop\nresources:\n{buckets}"), parallelism=3)
    assert result.ok and len(result.completed) == 9
    assert harness.cloud.max_in_flight == 3


def test_a_failure_midway_records_exactly_what_completed_and_a_rerun_converges(harness):
    harness.cloud.fail.add(("create", "web/mem.group"))
    result = harness.apply(harness.plan(plan_text()), parallelism=1)
    assert not result.ok
    assert set(result.failed) == {"web/mem.group"}
    assert "lb/mem.balancer" in result.skipped  # its dependency failed
    recorded = set(harness.store.read().primitives)
    existing = {o["tags"]["lepton-name"] for o in harness.cloud.objects.values()}
    assert recorded == existing == set(result.completed)
    harness.cloud.fail.clear()
    harness.converge(plan_text())
    names = [o["tags"]["lepton-name"] for o in harness.cloud.objects.values()]
    assert sorted(names) == sorted(set(names)) and len(names) == 4  # nothing duplicated


def test_a_stop_request_starts_nothing_new_and_state_stays_true(harness):
    stop = threading.Event()
    harness.cloud.on_operation = lambda op, address: stop.set()
    result = harness.apply(harness.plan(plan_text()), parallelism=1, stop=stop)
    assert result.interrupted and not result.ok
    assert len(result.completed) == 1 and len(result.skipped) == 3
    assert set(harness.store.read().primitives) == set(result.completed)
    harness.cloud.on_operation = None
    harness.converge(plan_text())


def test_a_replace_creates_the_successor_before_deleting_its_predecessor(harness):
    harness.converge(plan_text())
    graph = operation_graph(harness.plan(plan_text(machine="large")).changes, harness.store.read().referrers())
    assert ("apply", "web/mem.group") in graph[("delete", "web/mem.group")]
    assert ("delete", "web/mem.group") not in graph[("apply", "web/mem.group")]


def test_a_change_set_round_trips_and_is_refused_when_stale(harness, tmp_path):
    harness.converge(plan_text())
    plan = harness.plan(plan_text(count=4))
    path = tmp_path / "changes.json"
    save_changeset(plan, path)
    assert (path.stat().st_mode & 0o777) == 0o600
    loaded = load_changeset(path)
    assert [(c.address, c.action, c.diff) for c in loaded.changes] == [(c.address, c.action, c.diff) for c in plan.changes]
    check_fresh(loaded, harness.store.read(), plan.plan_digest)
    with pytest.raises(StaleChangeSetError, match="plan file changed"):
        check_fresh(loaded, harness.store.read(), "another-digest")
    assert harness.apply(loaded).ok
    with pytest.raises(StaleChangeSetError, match="serial"):
        check_fresh(loaded, harness.store.read(), plan.plan_digest)
    other = harness.store.read()
    other.lineage = "someone-else"
    with pytest.raises(StaleChangeSetError, match="lineage"):
        check_fresh(loaded, other, plan.plan_digest)


def test_a_damaged_change_set_is_a_clear_error(tmp_path):
    path = tmp_path / "changes.json"
    path.write_text('{"format": "something else"}')
    with pytest.raises(LeptonError, match="not a change set"):
        load_changeset(path)


def test_destroy_refuses_a_non_empty_bucket_before_deleting_anything(harness):
    harness.converge(plan_text())
    ident = next(i for i, o in harness.cloud.objects.items() if o["type"] == "mem.bucket")
    harness.cloud.objects[ident]["props"]["objects"] = 3
    with pytest.raises(LeptonError, match="not empty"):
        harness.plan(plan_text(), destroy=True)
    assert harness.cloud.count("delete") == 0
    harness.converge(plan_text(force="true"))  # force_destroy is recorded...
    result = harness.apply(harness.plan(plan_text(force="true"), destroy=True))
    assert result.ok and harness.cloud.objects == {}  # ...and lets destroy proceed
    state = harness.store.read()
    assert state.primitives == {} and state.outputs == {}


def test_outputs_are_resolved_after_apply_and_stored(harness):
    result = harness.converge(plan_text(extra="outputs:\n  bucket: ${assets.name}\n  lb: http://${lb.dns_name}/\n"))
    assert result.outputs == {"bucket": "shop-assets", "lb": "http://shop-lb/"}
    assert harness.store.read().outputs == result.outputs


def test_refresh_lists_each_type_once_whatever_the_number_of_objects(harness):
    """Every type the driver implements is listed (so an object of a type never recorded is
    found), once per region, however many objects there are."""
    buckets = "".join(f"  b{i}: {{kind: bucket}}\n" for i in range(12))
    harness.converge(f"stack: shop\nresources:\n{buckets}")
    harness.cloud.calls.clear()
    harness.plan(f"stack: shop\nresources:\n{buckets}")
    types = sorted(harness.drivers("shop")["aws"].primitive_types())
    assert sorted(harness.cloud.calls) == [("list", name) for name in types]
