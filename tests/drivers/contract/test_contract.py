"""The driver contract (DESIGN §4, §6), per primitive type of every driver, against the
driver's emulator. See harness.py for what a cloud supplies."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from lepton_cli.engine.diff import changed_keys, comparable, diff_primitive
from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.model import Action
from lepton_cli.engine.planner import make_plan
from lepton_cli.errors import CloudError, OwnershipError
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


# -- interrupted and retried creates (issue 7) -------------------------------------------------------------
class Killed(BaseException):
    """Stands for a kill (SIGKILL) at that moment: not an Exception, so nothing in lepton
    handles it as an API error."""


def _desired(built: Built):
    """The built primitive with its properties resolved, as the engine diffs it."""
    return dataclasses.replace(built.primitive, properties=dict(built.properties))


def _diff(built: Built, current):
    def unresolved(ref):
        raise AssertionError(f"{ref} should be resolved already")
    return diff_primitive(_desired(built), built.ptype, current, unresolved)


def _as_recorded(harness: DriverHarness, built: Built, observed):
    """`observed` as refresh would report it once state records the object: what the emulator
    cannot return comes from the record (the desired value lepton applied)."""
    for key in harness.read_gaps.get(built.primitive.type, frozenset()):
        observed.properties.setdefault(key, built.properties[key])
    return observed


def _converge(harness: DriverHarness, built: Built) -> None:
    """What the engine's next plan and apply do for this primitive: refresh, diff, then create
    (the object was never made) or update (the object is half made)."""
    found = built.at_address()
    assert len(found) <= 1, f"{built.primitive.address}: a retried create left {[o.id for o in found]}"
    change = _diff(built, found[0] if found else None)
    properties = built.ptype.normalize(dict(built.properties))
    if change.action is Action.CREATE:
        built.ptype.create(built.primitive, properties)
    elif change.action is Action.UPDATE:
        changed = changed_keys(comparable(built.primitive, properties), found[0].properties)
        built.ptype.update(built.primitive, properties, found[0], changed)
    else:
        assert change.action is Action.NOOP, f"a half-made object must not need a {change.action.value}"


def _mutating_calls_of_a_create(harness: DriverHarness, built: Built) -> list[str]:
    """The mutating API calls a clean create of the built primitive makes, in order (the
    object is deleted again)."""
    calls: list[str] = []
    driver = harness.driver(built.stack)
    harness.after_calls(driver, lambda operation: calls.append(operation) if harness.mutating(operation) else None)
    driver.primitive_type(built.primitive.type).create(built.primitive, dict(built.properties))
    for observed in built.at_address():
        built.ptype.delete(observed)
    return calls


def test_a_create_killed_after_any_of_its_calls_converges(harness: DriverHarness, type_name, built):
    """Issue 7, item 4: a create made of several calls, killed after each of them in turn, is
    finished by the next plan and apply: then `list` reads back every desired property, and a
    further plan has nothing to do."""
    calls = _mutating_calls_of_a_create(harness, built)
    assert calls, "a create changes the cloud"
    for k in range(1, len(calls) + 1):
        made: list[str] = []

        def kill_after_kth(operation: str) -> None:
            if harness.mutating(operation):
                made.append(operation)
                if len(made) == k:
                    raise Killed(f"killed after {operation}")

        driver = harness.driver(built.stack)
        harness.after_calls(driver, kill_after_kth)
        with pytest.raises(Killed):
            driver.primitive_type(type_name).create(built.primitive, dict(built.properties))
        _converge(harness, built)
        (observed,) = built.at_address()
        observed = _as_recorded(harness, built, observed)
        ptype = built.ptype
        skipped = ptype.local | built.primitive.ignore_changes
        desired = {k2: v for k2, v in ptype.normalize(dict(built.properties)).items() if k2 not in skipped}
        read = {k2: canonical(observed.properties.get(k2, "<not reported>")) for k2 in desired}
        assert read == canonical(desired), f"killed after {made[-1]} (call {k} of {calls})"
        assert _diff(built, observed).action is Action.NOOP, f"killed after {made[-1]}: a further plan changes it"
        for leftover in built.at_address():
            ptype.delete(leftover)


def test_a_create_whose_answer_is_lost_makes_exactly_one_object(harness: DriverHarness, type_name, built):
    """Issue 7, item 3: the cloud did the create's work but its answer was lost (a 500 after
    the fact, on the first attempt only). The create recovers by itself, never by making a
    second object; where a type cannot (`lost_answer_fails`), the next apply's create adopts."""
    lost: list[str] = []

    def lose_the_first_answer(operation: str) -> None:
        if harness.mutating(operation) and not lost:
            lost.append(operation)
            raise harness.lost_answer(operation)

    driver = harness.driver(built.stack)
    harness.after_calls(driver, lose_the_first_answer)
    ptype = driver.primitive_type(type_name)
    if type_name in harness.lost_answer_fails:
        try:
            created = ptype.create(built.primitive, dict(built.properties))
        except CloudError:
            # The next apply: its refresh finds the object the journaled create names, marks it
            # if the create never did, and the create adopts it.
            name = built.properties.get(ptype.name_key) if ptype.name_key else None
            unmarked = ptype.find_unmarked(built.region, name, built.primitive.address) if name else None
            if unmarked is not None:
                ptype.mark(unmarked, built.primitive.address)
            created = built.create()
    else:
        created = ptype.create(built.primitive, dict(built.properties))
    assert lost, "the create made no call"
    assert [o.id for o in built.at_address()] == [created.id], f"after the answer to {lost[0]} was lost"


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
