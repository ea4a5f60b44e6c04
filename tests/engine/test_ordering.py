"""Ordering that never breaks what is in use: the in-memory cloud refuses to delete an object
another one still uses (as real clouds do), so a wrong order fails these tests."""

from __future__ import annotations

from lepton_cli.drivers.base import ReplaceStrategy
from lepton_cli.engine.model import Action
from lepton_cli.ui.plan_view import plan_document, render_plan
from tests.engine.test_engine import plan_text

TWO_GROUPS = """\
stack: shop
resources:
  web: {kind: compute, instance_type: small, count: 2}
  api: {kind: compute, instance_type: small, count: 2}
  lb: {kind: load_balancer, target: {target}, listeners: [{port: 80}]}
"""


def operations(harness):
    return [(op, address) for op, address in harness.cloud.calls if op != "list"]


def test_a_replaced_object_in_use_is_created_first_and_deleted_after_its_users_switched(harness):
    harness.converge(plan_text())
    plan = harness.plan(plan_text(machine="large"))
    group = next(c for c in plan.changes if c.address == "web/mem.group")
    assert group.strategy is ReplaceStrategy.CREATE_BEFORE_DESTROY
    harness.cloud.calls.clear()
    result = harness.apply(plan)
    assert result.ok, result.failed
    ops = operations(harness)
    assert ops.index(("create", "web/mem.group")) < ops.index(("update", "lb/mem.balancer")) \
        < ops.index(("delete", "web/mem.group"))
    assert not harness.plan(plan_text(machine="large")).has_changes


def test_a_delete_waits_until_what_used_the_object_has_been_updated_away_from_it(harness):
    harness.converge(TWO_GROUPS.replace("{target}", "web"))
    moved = TWO_GROUPS.replace("{target}", "api").replace("  web: {kind: compute, instance_type: small, count: 2}\n", "")
    plan = harness.plan(moved)
    assert {c.address: c.action for c in plan.actionable} == {"web/mem.group": Action.DELETE,
                                                              "lb/mem.balancer": Action.UPDATE}
    harness.cloud.calls.clear()
    result = harness.apply(plan)
    assert result.ok, result.failed
    ops = operations(harness)
    assert ops.index(("update", "lb/mem.balancer")) < ops.index(("delete", "web/mem.group"))


def test_a_deposed_object_survives_a_crash_and_the_next_apply_deletes_it(harness):
    harness.converge(plan_text())
    old = harness.store.read().primitives["web/mem.group"].id
    harness.cloud.fail.add(("delete", "web/mem.group"))  # the run dies before the old group goes
    result = harness.apply(harness.plan(plan_text(machine="large")))
    assert set(result.failed) == {"web/mem.group"}
    state = harness.store.read()
    assert [r.id for r in state.deposed["web/mem.group"]] == [old]
    assert state.primitives["web/mem.group"].id != old  # the successor is recorded
    assert old in harness.cloud.objects

    harness.cloud.fail.clear()
    plan = harness.plan(plan_text(machine="large"))
    (change,) = plan.actionable
    assert (change.action, change.deposed, change.key) == (Action.DELETE, old, f"web/mem.group (deposed {old})")
    assert any("deposed" in line for line in render_plan(plan))
    assert plan_document(plan)["changes"][0]["deposed"] == old
    assert harness.apply(plan).ok
    assert old not in harness.cloud.objects and not harness.store.read().deposed
    assert not harness.plan(plan_text(machine="large")).has_changes


def test_a_successor_created_but_never_recorded_is_adopted_and_its_predecessor_deleted(harness):
    harness.converge(plan_text())
    old = harness.store.read().primitives["web/mem.group"].id
    harness.cloud.fail.add(("delete", "web/mem.group"))
    harness.apply(harness.plan(plan_text(machine="large")))
    # A crash between creating the successor and recording it: state knows only the deposed one.
    state = harness.store.read()
    del state.primitives["web/mem.group"]
    harness.store.write(state)
    harness.cloud.fail.clear()
    plan = harness.plan(plan_text(machine="large"))
    assert [(c.action, c.deposed) for c in plan.actionable] == [(Action.DELETE, old)]
    assert harness.apply(plan).ok
    groups = [o for o in harness.cloud.objects.values() if o["type"] == "mem.group"]
    assert len(groups) == 1 and groups[0]["props"]["machine"] == "large"


def test_moving_a_resource_to_another_region_replaces_it_there(harness):
    harness.converge(plan_text())
    moved = (plan_text().replace("  web:\n    kind: compute\n", "  web:\n    kind: compute\n    region: eu-central-1\n")
             .replace("    target: web\n", "    target: web\n    region: eu-central-1\n"))
    plan = harness.plan(moved)
    changes = {c.address: c for c in plan.actionable}
    group = changes["web/mem.group"]
    assert group.action is Action.REPLACE and group.replace_fields == ["region"]
    assert (group.diff["region"].before, group.diff["region"].after) == ("us-east-1", "eu-central-1")
    assert group.strategy is ReplaceStrategy.CREATE_BEFORE_DESTROY
    assert changes["network-us-east-1/mem.network"].action is Action.DELETE
    assert changes["network-eu-central-1/mem.network"].action is Action.CREATE
    assert changes["lb/mem.balancer"].action is Action.REPLACE
    assert harness.apply(plan).ok
    regions = {o["tags"]["lepton-name"]: o["region"] for o in harness.cloud.objects.values()}
    assert regions["web/mem.group"] == "eu-central-1" and "network-us-east-1/mem.network" not in regions
    assert not harness.plan(moved).has_changes


def test_a_bucket_moved_keeps_its_global_name_so_it_is_destroyed_first_and_says_why(harness):
    harness.converge(plan_text())
    moved = plan_text().replace("  assets:\n    kind: bucket\n", "  assets:\n    kind: bucket\n    region: eu-west-1\n")
    plan = harness.plan(moved)
    bucket = next(c for c in plan.actionable if c.address == "assets/mem.bucket")
    assert bucket.action is Action.REPLACE and bucket.strategy is ReplaceStrategy.DESTROY_BEFORE_CREATE
    assert "names are unique in the whole cloud" in bucket.strategy_reason
    lines = "\n".join(render_plan(plan))
    assert "-/+" in lines and "destroyed first because" in lines
    assert plan_document(plan)["changes"][0]["order"] == "destroy_before_create"
    assert harness.apply(plan).ok
    assert not harness.plan(moved).has_changes


def test_destroy_target_removes_the_resource_and_what_depends_on_it_never_its_dependencies(harness):
    harness.converge(plan_text())
    plan = harness.plan(plan_text(), destroy=True, targets=["web"])
    assert {c.address for c in plan.actionable} == {"web/mem.group", "lb/mem.balancer"}
    assert harness.apply(plan).ok
    assert set(harness.store.read().primitives) == {"assets/mem.bucket", "network-us-east-1/mem.network"}


def test_a_bucket_is_checked_again_when_a_saved_delete_runs(harness):
    harness.converge(plan_text())
    plan = harness.plan(plan_text(), destroy=True)  # the bucket is empty now
    ident = next(i for i, o in harness.cloud.objects.items() if o["type"] == "mem.bucket")
    harness.cloud.objects[ident]["props"]["objects"] = 1  # written after planning
    result = harness.apply(plan)
    assert "assets/mem.bucket" in result.failed and "not empty" in result.failed["assets/mem.bucket"]
    assert ident in harness.cloud.objects and "assets/mem.bucket" in harness.store.read().primitives
