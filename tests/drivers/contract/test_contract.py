"""The driver contract (DESIGN §4, §6), per primitive type of every driver, against the
driver's emulator. See harness.py for what a cloud supplies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.planner import make_plan
from lepton_cli.errors import OwnershipError
from lepton_cli.spec.loader import load_plan_text
from lepton_cli.state.local import LocalStateStore
from tests.drivers.contract.harness import Built, DriverHarness, ReplaceScenario, build, teardown


def canonical(value: Any) -> Any:
    """A value as the JSON it would be stored as (so (1, 2) == [1, 2]), as the engine diffs."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@pytest.fixture
def built(harness, type_name, unique_stack):
    made = build(harness, unique_stack, type_name)
    yield made
    teardown(made)


def only_one_at_address(built: Built):
    found = built.at_address()
    assert len(found) == 1, f"{built.primitive.address}: expected one object, list found {[o.id for o in found]}"
    return found[0]


# -- per type -------------------------------------------------------------------------------------------
def test_creating_twice_adopts_the_first_object(built):
    first = built.create()
    second = built.create()  # a retried create (same driver, no refresh between)
    assert second.id == first.id
    assert second.address == first.address == built.primitive.address
    assert [o.id for o in built.at_address()] == [first.id]


def test_deleting_a_missing_object_succeeds(built):
    built.create()
    current = only_one_at_address(built)
    built.ptype.delete(current)
    assert built.at_address() == []
    built.ptype.delete(current)  # already gone: success, not an error
    assert built.at_address() == []


def test_list_finds_exactly_the_stacks_objects(harness: DriverHarness, type_name, built, other_stack):
    ours = built.create()
    theirs = build(harness, other_stack, type_name)
    built.cleanups.append(lambda: teardown(theirs))
    other = theirs.create()
    foreign = harness.make_foreign(type_name, built, same_name=False)
    built.cleanups.append(foreign.cleanup)

    expected = {(a, o.id) for a, o in built.prerequisites.items() if o.type == type_name}
    expected.add((ours.address, ours.id))
    assert {(o.address, o.id) for o in built.listed()} == expected
    listed_by_other = {(o.address, o.id) for o in theirs.listed()}
    assert (other.address, other.id) in listed_by_other and (ours.address, ours.id) not in listed_by_other
    assert foreign.id not in {o.id for o in built.listed()} | {i for _, i in listed_by_other}


def test_list_reads_back_what_create_set(harness: DriverHarness, type_name, built):
    created = built.create()
    observed = only_one_at_address(built)
    assert observed.id == created.id and observed.type == type_name and observed.region == built.region
    ptype = built.ptype
    gaps = harness.read_gaps.get(type_name, frozenset())
    desired = {k: v for k, v in ptype.normalize(dict(built.properties)).items() if k not in ptype.local}
    compared = {k: canonical(v) for k, v in desired.items() if k not in gaps}
    read = {k: canonical(observed.properties.get(k, "<not reported>")) for k in compared}
    assert read == compared  # a refresh right after create plans nothing
    assert not gaps & set(observed.properties), "a property the emulator cannot return is reported anyway"
    renormalized = canonical(ptype.normalize(dict(observed.properties)))
    assert renormalized == canonical(observed.properties), "list must report the canonical (normalized) shape"
    assert created.outputs.keys() <= observed.outputs.keys(), "list reports every output create returned"


def test_declared_keys_are_what_list_reports(harness: DriverHarness, type_name, built):
    built.create()
    observed = only_one_at_address(built)
    ptype = built.ptype
    gaps = harness.read_gaps.get(type_name, frozenset())
    assert set(built.properties) <= ptype.property_keys, "property_keys declares every property the type carries"
    assert ptype.property_keys - ptype.local - gaps <= set(observed.properties), "list reports every property key"
    assert ptype.output_keys <= set(observed.outputs), "list reports every output key"
    if type_name in harness.unique_name_types:
        assert ptype.name_key in built.properties, "a uniquely named type declares its name_key"


def test_a_foreign_object_with_the_wanted_name_is_never_adopted(harness: DriverHarness, type_name, built):
    foreign = harness.make_foreign(type_name, built, same_name=True)
    built.cleanups.append(foreign.cleanup)
    before = foreign.snapshot()
    if type_name in harness.unique_name_types:
        with pytest.raises(OwnershipError):
            built.create()
        assert built.at_address() == []
    else:
        ours = built.create()
        assert ours.id != foreign.id
        assert [o.id for o in built.at_address()] == [ours.id]
    assert foreign.snapshot() == before, "lepton changed an object it does not own"


# -- through the engine -----------------------------------------------------------------------------------
class Engine:
    """Plans and applies a stack's plan text with a local state store, as the CLI does."""

    def __init__(self, harness: DriverHarness, stack: str, store: LocalStateStore):
        self.harness, self.stack, self.store = harness, stack, store

    def drivers(self, patch=None):
        driver = self.harness.driver(self.stack)
        if patch is not None:
            expand = driver.expand
            driver.expand = lambda stack, names, ctx: patch(expand(stack, names, ctx))
        return {self.harness.cloud: driver}

    def plan(self, body: str, patch=None, **kwargs):
        loaded = load_plan_text(self.harness.plan_text(self.stack, body))
        return make_plan(loaded.stack, self.drivers(patch), self.store.read(), plan_digest=loaded.digest,
                         resource_graph=loaded.graph, **kwargs)

    def apply(self, plan, patch=None):
        return apply_plan(plan, self.drivers(patch), self.store, self.store.read())


def _values(value: Any) -> set[str]:
    """Every scalar inside a property value, as strings."""
    if isinstance(value, dict):
        return set().union(*map(_values, value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*map(_values, value)) if value else set()
    return {str(value)}


def test_replacing_an_in_use_object_succeeds_in_one_apply(harness: DriverHarness, scenario: ReplaceScenario,
                                                           unique_stack, tmp_path):
    engine = Engine(harness, unique_stack, LocalStateStore(tmp_path / ".lepton", unique_stack))
    try:
        result = engine.apply(engine.plan(scenario.before))
        assert result.ok, result.failed
        old = {a: engine.store.read().primitives[a] for a in scenario.replaced}

        plan = engine.plan(scenario.after, scenario.patch)
        actions = {c.address: c.action.value for c in plan.actionable}
        assert {a: actions.get(a) for a in scenario.replaced} == {a: "replace" for a in scenario.replaced}
        result = engine.apply(plan, scenario.patch)
        assert result.ok, result.failed  # no in-use error, nothing skipped

        state = engine.store.read()
        assert not {a: d for a, d in state.deposed.items() if d}, "a replaced object is left waiting for deletion"
        driver = harness.driver(unique_stack)
        for address, record in old.items():
            new = state.primitives[address]
            assert new.id != record.id, f"{address} was not replaced"
            still_there = {o.id for o in driver.primitive_type(record.type).list(record.region)}
            assert record.id not in still_there and new.id in still_there
        gone = set().union(*(_values(r.outputs) - _values(state.primitives[a].outputs) for a, r in old.items()))
        successors = set().union(*(_values(state.primitives[a].outputs) - _values(r.outputs) for a, r in old.items()))
        for address in scenario.referrers:
            record = state.primitives[address]
            (found,) = [o for o in driver.primitive_type(record.type).list(record.region) if o.address == address]
            uses = _values(found.properties)
            assert uses & successors, f"{address} does not use the replacement"
            assert not uses & gone, f"{address} still uses a replaced object"
        assert not engine.plan(scenario.after, scenario.patch).has_changes
    finally:
        try:
            engine.apply(engine.plan(scenario.after, scenario.patch, destroy=True))
        except Exception:  # noqa: BLE001 - cleanup only; the assertions above are the verdict
            pass
