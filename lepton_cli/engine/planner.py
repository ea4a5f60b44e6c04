"""Planning: expand, refresh, diff — reads only, never a mutating call.

The result is a `Plan` whose changes the executor applies exactly. Deletes are checked with
each type's `check_delete` here, so a destroy that would hit a non-empty bucket without
`force_destroy` stops before anything is deleted.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lepton_cli.drivers.base import UNKNOWN, Driver, Primitive, Ref
from lepton_cli.engine.diff import diff_primitive
from lepton_cli.engine.expand import expand_stack, output_expressions
from lepton_cli.engine.model import Action, Change, Plan
from lepton_cli.engine.refresh import Actual, refresh
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Stack
from lepton_cli.spec.suggest import did_you_mean
from lepton_cli.state.model import State


def resource_of(address: str) -> str:
    return address.split("/", 1)[0]


def target_scope(targets: Sequence[str], stack: Stack, graph: Mapping[str, Iterable[str]] | None) -> set[str] | None:
    """The resources `--target` allows: the named ones and everything they depend on."""
    if not targets:
        return None
    unknown = [t for t in targets if t not in stack.resources]
    if unknown:
        raise LeptonError(*[Diagnostic(summary=f"--target {t!r} is not a resource of stack {stack.stack}",
                                       hint=did_you_mean(t, stack.resources)) for t in unknown])
    scope: set[str] = set()
    todo = list(targets)
    while todo:
        name = todo.pop()
        if name not in scope:
            scope.add(name)
            todo.extend((graph or {}).get(name, ()))
    return scope


def _with_dependencies(primitives: list[Primitive], roots: set[str]) -> list[Primitive]:
    """The primitives of the scoped resources plus every primitive they reference (networks)."""
    by_address = {p.address: p for p in primitives}
    keep: set[str] = set()
    todo = [p.address for p in primitives if p.resource in roots]
    while todo:
        address = todo.pop()
        if address in keep or address not in by_address:
            continue
        keep.add(address)
        todo.extend(by_address[address].dependencies())
    return [p for p in primitives if p.address in keep]


def make_plan(stack: Stack, drivers: Mapping[str, Driver], state: State | None, *, plan_digest: str,
              targets: Sequence[str] = (), destroy: bool = False, parallelism: int = 10,
              resource_graph: Mapping[str, Iterable[str]] | None = None) -> Plan:
    scope = target_scope(targets, stack, resource_graph)
    desired = [] if destroy else expand_stack(stack, drivers)
    if scope is not None:
        desired = _with_dependencies(desired, scope)
    actual = refresh(drivers, desired, state, parallelism)
    changes = _diff_all(desired, drivers, actual)
    changes += _deletes(desired, actual, state, scope)
    _check_deletes(changes, drivers, state)
    forget = sorted(a for a in (state.primitives if state else {})
                    if a not in actual.observed and (scope is None or resource_of(a) in scope)
                    and a not in {c.address for c in changes})
    return Plan(
        stack=stack.stack, changes=changes,
        outputs={} if destroy else output_expressions(stack, drivers),
        lineage=state.lineage if state else None, serial=state.serial if state else 0,
        plan_digest=plan_digest, destroy=destroy, forget=forget,
    )


def _diff_all(desired: list[Primitive], drivers: Mapping[str, Driver], actual: Actual) -> list[Change]:
    by_address = {p.address: p for p in desired}
    order = graphlib.TopologicalSorter({p.address: p.dependencies() & set(by_address) for p in desired})
    try:
        ordered = list(order.static_order())
    except graphlib.CycleError as exc:
        raise LeptonError(f"internal error: primitives depend on each other in a cycle: {exc.args[1]}") from None
    changes: dict[str, Change] = {}

    def lookup(ref: Ref) -> Any:
        change = changes.get(ref.address)
        if change is not None and change.action in (Action.CREATE, Action.REPLACE):
            return UNKNOWN
        observed = actual.observed.get(ref.address)
        if observed is None:
            raise LeptonError(Diagnostic(summary=f"a reference names {ref.address}, which neither exists nor is planned",
                                         hint="this is a driver bug; please report it"))
        if ref.attr not in observed.outputs:
            raise LeptonError(Diagnostic(summary=f"{ref.address} has no output {ref.attr!r}",
                                         address=ref.address, hint="this is a driver bug; please report it"))
        return observed.outputs[ref.attr]

    for address in ordered:
        primitive = by_address[address]
        ptype = drivers[primitive.cloud].primitive_type(primitive.type)
        changes[address] = diff_primitive(primitive, ptype, actual.observed.get(address), lookup)
    return [changes[a] for a in ordered]


def _deletes(desired: list[Primitive], actual: Actual, state: State | None, scope: set[str] | None) -> list[Change]:
    wanted = {p.address for p in desired}
    changes = []
    for address, observed in sorted(actual.observed.items()):
        if address in wanted or (scope is not None and resource_of(address) not in scope):
            continue
        record = state.primitives.get(address) if state else None
        changes.append(Change(
            address=address, type=observed.type, resource=resource_of(address),
            kind=record.kind if record else "", cloud=actual.clouds[address], region=observed.region,
            action=Action.DELETE, current=observed,
            depends_on=tuple(sorted(record.depends_on)) if record else (),
        ))
    return changes


def _check_deletes(changes: list[Change], drivers: Mapping[str, Driver], state: State | None) -> None:
    refusals = []
    for change in changes:
        if change.action not in (Action.DELETE, Action.REPLACE) or change.current is None:
            continue
        record = state.primitives.get(change.address) if state else None
        recorded = dict(change.current.properties)
        if record is not None:
            recorded.update(record.properties)
        reason = drivers[change.cloud].primitive_type(change.type).check_delete(change.current, recorded)
        if reason:
            refusals.append(Diagnostic(summary=f"cannot delete: {reason}", address=change.address))
    if refusals:
        raise LeptonError(*refusals)
