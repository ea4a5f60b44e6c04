"""Planning: expand, refresh, diff — reads only, never a mutating call.

The result is a `Plan` whose changes the executor applies exactly. Deletes are checked with
each type's `check_delete` here, so a destroy that would hit a non-empty bucket without
`force_destroy` stops before anything is deleted (the executor asks again before each delete).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lepton_cli.drivers.base import UNKNOWN, Driver, Observed, Primitive, Ref, ReplaceStrategy, leaves, resolve
from lepton_cli.engine.diff import diff_primitive
from lepton_cli.engine.expand import expand_stack, output_expressions, primitive_type_for
from lepton_cli.engine.graph import closure, invert, resource_of, static_order
from lepton_cli.engine.model import Action, Change, Plan
from lepton_cli.engine.refresh import Actual, refresh
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Stack
from lepton_cli.spec.suggest import did_you_mean
from lepton_cli.state.model import State


def target_scope(targets: Sequence[str], stack: Stack, state: State | None, desired: Iterable[Primitive],
                 graph: Mapping[str, Iterable[str]] | None, *, destroy: bool = False) -> set[str] | None:
    """The resources `--target` allows, or None for all of them.

    For plan/apply: the named resources and everything they depend on. For destroy: the named
    resources and everything that depends on them, never what they depend on, so nothing is
    left pointing at a deleted object (Terraform's `destroy -target`). Dependencies come from
    the plan file's references and the primitives' (the recorded ones for destroy). A name
    recorded in state but gone from the plan file may be targeted too.
    """
    if not targets:
        return None
    recorded = [r for _, r in state.records()] if state else []
    known = set(stack.resources) | {r.resource for r in recorded}
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise LeptonError(*[Diagnostic(summary=f"--target {t!r} is not a resource of stack {stack.stack}",
                                       hint=did_you_mean(t, sorted(known))) for t in unknown])
    needs: dict[str, set[str]] = {name: set(deps) for name, deps in (graph or {}).items()}
    links = ([(r.resource, r.depends_on) for r in recorded] if destroy
             else [(p.resource, p.dependencies()) for p in desired])
    for resource, dependencies in links:
        needs.setdefault(resource, set()).update(resource_of(d) for d in dependencies if resource_of(d) != resource)
    return closure(targets, invert(needs) if destroy else needs)


def make_plan(stack: Stack, drivers: Mapping[str, Driver], state: State | None, *, plan_digest: str,
              targets: Sequence[str] = (), destroy: bool = False, parallelism: int = 10,
              resource_graph: Mapping[str, Iterable[str]] | None = None) -> Plan:
    """Every change that makes the clouds match `stack` (or, with `destroy`, removes it)."""
    desired = [] if destroy else expand_stack(stack, drivers)
    scope = target_scope(targets, stack, state, desired, resource_graph, destroy=destroy)
    if scope is not None:
        desired = [p for p in desired if p.resource in scope]
    actual = refresh(drivers, desired, state, parallelism, _places(stack))
    changes = _diff_all(desired, drivers, actual)
    changes += _deletes(desired, actual, state, scope)
    _adopt_unmarked(changes, actual)
    _note_interrupted(changes, state)
    referrers = state.referrers() if state else {}
    _destroy_first_spreads(changes, referrers)
    _check_deletes(changes, drivers, state)
    in_scope = (lambda address: scope is None or resource_of(address) in scope)
    forget = sorted(a for a in (state.primitives if state else {}) if a not in actual.observed and in_scope(a))
    found = {(a, o.id) for a, objects in actual.deposed.items() for o in objects}
    forget_deposed = sorted([a, r.id] for a, records in (state.deposed if state else {}).items() for r in records
                            if (a, r.id) not in found and in_scope(a))
    forget_pending = sorted({p.address for p in (state.pending if state else [])
                             if p.address not in actual.unmarked and in_scope(p.address)})
    return Plan(
        stack=stack.stack, changes=changes,
        outputs={} if destroy and not targets else output_expressions(stack, drivers),
        lineage=state.lineage if state else None, serial=state.serial if state else 0,
        plan_digest=plan_digest, destroy=destroy, forget=forget, forget_deposed=forget_deposed,
        forget_pending=forget_pending, targets=list(targets),
    )


def _places(stack: Stack) -> list[tuple[str, str]]:
    """(cloud, region) of every resource of the plan file, targeted or not."""
    return [(stack.cloud_of(name), stack.region_of(name)) for name in stack.resources]


def remaining(stack: Stack, drivers: Mapping[str, Driver], state: State | None, parallelism: int = 10) -> list[str]:
    """The addresses of objects still carrying the stack's marker (or found through a pending
    create), looked for everywhere `make_plan` looks: what a destroy must leave empty."""
    actual = refresh(drivers, [], state, parallelism, _places(stack))
    return sorted({*actual.observed, *actual.deposed})


def _diff_all(desired: list[Primitive], drivers: Mapping[str, Driver], actual: Actual) -> list[Change]:
    """Diff in dependency order, so a Ref to something created or replaced is known to be
    unknown by the time its dependents are diffed."""
    by_address = {p.address: p for p in desired}
    changes: dict[str, Change] = {}

    def lookup(ref: Ref) -> Any:
        change = changes.get(ref.address)
        if change is not None and change.action in (Action.CREATE, Action.REPLACE):
            return _known_name(change, ref, drivers, lookup)
        observed = actual.observed.get(ref.address)
        if observed is None:
            raise LeptonError(Diagnostic(summary=f"a reference names {ref.address}, which neither exists nor is planned",
                                         hint="this is a driver bug; please report it"))
        if ref.attr not in observed.outputs:
            raise LeptonError(Diagnostic(summary=f"{ref.address} has no output {ref.attr!r}",
                                         address=ref.address, hint="this is a driver bug; please report it"))
        return observed.outputs[ref.attr]

    order = static_order({a: p.dependencies() & by_address.keys() for a, p in by_address.items()}, "primitives")
    for address in order:
        primitive = by_address[address]
        ptype = primitive_type_for(drivers, primitive.cloud, primitive.type)
        changes[address] = diff_primitive(primitive, ptype, actual.observed.get(address), lookup)
    return [changes[a] for a in order]


def _known_name(change: Change, ref: Ref, drivers: Mapping[str, Driver], lookup) -> Any:
    """A to-be-created object's name when the plan decides it (the type's `name_key`, also an
    output): known at plan time, so a bucket name inside user_data is shown, not unknown.
    Anything else the cloud assigns (ids, ARNs) is UNKNOWN until apply; so is anything of a
    replaced object, whose users must stay changed (they may have to follow it)."""
    ptype = primitive_type_for(drivers, change.cloud, change.type)
    key = ptype.name_key
    if (change.action is not Action.CREATE or key is None or ref.attr != key or key not in ptype.output_keys
            or change.desired is None):
        return UNKNOWN
    value = resolve(change.desired.properties.get(key), lookup)
    return value if isinstance(value, str) else UNKNOWN


def _deletes(desired: list[Primitive], actual: Actual, state: State | None, scope: set[str] | None) -> list[Change]:
    """Objects the stack owns that the plan no longer wants, and deposed objects (replaced
    predecessors, duplicates), within `scope`."""
    wanted = {p.address for p in desired}
    changes = []
    ids = {o.id: a for a, objects in actual.deposed.items() for o in objects}
    ids.update({o.id: a for a, o in actual.observed.items()})

    def delete(address: str, observed: Observed, deposed: bool) -> Change:
        record = _record_of(state, address, observed.id)
        # What it uses: as recorded; for an object never recorded (the last thing a killed run
        # created), as read: the ids its properties hold. It must go before what it uses.
        uses = set(record.depends_on) if record else {
            ids[i] for i in _held_ids(observed.properties, ids) if ids[i] != address}
        return Change(
            address=address, type=observed.type, resource=resource_of(address),
            kind=next((r.kind for a, r in (state.records() if state else ()) if a == address), ""),
            cloud=actual.clouds[address], region=observed.region,
            action=Action.DELETE, current=observed, deposed=observed.id if deposed else None,
            depends_on=tuple(sorted(uses)),
        )

    for address, observed in sorted(actual.observed.items()):
        if address not in wanted and (scope is None or resource_of(address) in scope):
            changes.append(delete(address, observed, deposed=False))
    for address, objects in sorted(actual.deposed.items()):
        if scope is None or resource_of(address) in scope:
            recorded = {r.id for r in state.deposed.get(address, [])} if state else set()
            kept = actual.observed.get(address)
            for observed in objects:
                change = delete(address, observed, deposed=True)
                if observed.id not in recorded and kept is not None:
                    change.notes.append(f"a duplicate (a retried or interrupted create made two); "
                                        f"lepton keeps {kept.id}, the recorded or else the oldest")
                changes.append(change)
    return changes


def _adopt_unmarked(changes: list[Change], actual: Actual) -> None:
    """An object found only through a pending create gets the stack's marker before anything
    else happens to it, so it is never lost again (a no-op becomes an update that does just that)."""
    for change in changes:
        if change.deposed is None and change.address in actual.unmarked and change.action is not Action.DELETE:
            change.adopt = True
            if change.action is Action.NOOP:
                change.action = Action.UPDATE
            change.notes.append("adopts the object an interrupted apply created but did not tag: "
                                "tags it with the stack's marker")


def _note_interrupted(changes: list[Change], state: State | None) -> None:
    """Say which operations an interrupted apply left unfinished, where they are planned again."""
    pending = {p.address: p.operation for p in (state.pending if state else [])}
    for change in changes:
        if change.address in pending and change.action is not Action.NOOP and change.deposed is None:
            change.notes.append(f"the last apply was interrupted while it ran a {pending[change.address]} here")


def _destroy_first_spreads(changes: list[Change], referrers: Mapping[str, set[str]]) -> None:
    """An object that uses one destroyed first must go first too: the cloud refuses to delete
    an object in use, and a replaced user's successor needs the other's successor, which comes
    only after both old ones are gone. A user that would only be updated is replaced."""
    by_address = {c.address: c for c in changes if c.deposed is None}
    todo = [c for c in changes if c.action is Action.REPLACE and not c.create_first]
    while todo:
        first = todo.pop()
        for address in referrers.get(first.address, ()):
            other = by_address.get(address)
            if other is not None and (other.create_first or (other.action is Action.UPDATE
                                                             and _holds(other.current.properties, first.current))):
                other.action = Action.REPLACE
                other.notes = []
                other.strategy = ReplaceStrategy.DESTROY_BEFORE_CREATE
                other.strategy_reason = f"it uses {first.address}, which is destroyed first"
                todo.append(other)


def _record_of(state: State | None, address: str, ident: str):
    """The state record (current or deposed) of the object `ident` at `address`, if any."""
    for recorded_address, record in state.records() if state else ():
        if recorded_address == address and record.id == ident:
            return record
    return None


def _held_ids(value: Any, ids: Mapping[str, str]) -> set[str]:
    """The object ids among `ids` that a property value holds."""
    return {leaf for leaf in leaves(value) if isinstance(leaf, str) and leaf in ids}


def _holds(value: Any, target: Observed) -> bool:
    """Whether a property value holds an object's id or one of its outputs whole (a real in-use
    reference, which the cloud enforces: a GCP backend service holds its group's instance-group
    URL), not just a value derived from one (a name inside user data)."""
    handles = {target.id, *(v for v in target.outputs.values() if isinstance(v, str) and v)}
    return any(isinstance(leaf, str) and leaf in handles for leaf in leaves(value))


def _check_deletes(changes: list[Change], drivers: Mapping[str, Driver], state: State | None) -> None:
    """Ask every type whether its objects may go, before anything is deleted; refuse them all
    at once, so one run names every obstacle."""
    refusals = []
    for change in changes:
        if change.action not in (Action.DELETE, Action.REPLACE) or change.current is None:
            continue
        reason = primitive_type_for(drivers, change.cloud, change.type).check_delete(
            change.current, recorded_properties(change, state))
        if reason:
            verb = "replace" if change.action is Action.REPLACE else "delete"
            refusals.append(Diagnostic(summary=f"cannot {verb}: {reason}", address=change.address))
    if refusals:
        raise LeptonError(*refusals)


def recorded_properties(change: Change, state: State | None) -> dict[str, Any]:
    """The object's properties as read, with what state recorded for it on top (lepton's own
    settings such as `force_destroy` as they were applied)."""
    recorded = dict(change.current.properties)
    for address, record in state.records() if state else ():
        if address == change.address and record.id == change.current.id:
            recorded.update(record.properties)
    return recorded
