"""Apply: run a plan's changes in parallel, in dependency order, journaling state as it goes.

Graph nodes: a create or update is one node; a delete is one node; a replace is a delete node
then a create node. A create/update waits for what it references; a delete waits for the
deletes of what references it (reverse order). Ready nodes are dispatched as soon as their
predecessors finish, up to `parallelism` at once.

State is written after every completed operation (the journal), so an interrupted apply loses
nothing. On a failure, or when `stop` is set (first Ctrl-C), nothing new starts, running
operations finish, and the rest is reported as skipped.
"""

from __future__ import annotations

import graphlib
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.drivers.base import UNKNOWN, Driver, Observed, Ref, resolve
from lepton_cli.engine.diff import canonical, changed_keys
from lepton_cli.engine.model import Action, Change, Plan
from lepton_cli.errors import LeptonError
from lepton_cli.state.model import PrimitiveRecord, State, StateStore

APPLY, DELETE = "apply", "delete"
Node = tuple[str, str]  # (APPLY | DELETE, address)


@dataclass
class Event:
    phase: str  # start | done | failed | skipped
    address: str
    action: Action
    message: str = ""


@dataclass
class ApplyResult:
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    interrupted: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    state: State | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.interrupted


def build_graph(changes: list[Change]) -> dict[Node, set[Node]]:
    """node -> the nodes it waits for."""
    by_address = {c.address: c for c in changes if c.action is not Action.NOOP}
    graph: dict[Node, set[Node]] = {}
    dependents: dict[str, set[str]] = {}
    for change in by_address.values():
        for dependency in change.depends_on:
            dependents.setdefault(dependency, set()).add(change.address)
    for address, change in by_address.items():
        if change.action in (Action.DELETE, Action.REPLACE):
            graph[(DELETE, address)] = {
                (DELETE, d) for d in dependents.get(address, ())
                if by_address.get(d) and by_address[d].action in (Action.DELETE, Action.REPLACE)
            }
        if change.action in (Action.CREATE, Action.UPDATE, Action.REPLACE):
            waits = {(APPLY, d) for d in change.depends_on
                     if by_address.get(d) and by_address[d].action is not Action.DELETE}
            if change.action is Action.REPLACE:
                waits.add((DELETE, address))
            graph[(APPLY, address)] = waits
    return graph


class _Run:
    """One apply: the state being journaled and the operations on it."""

    def __init__(self, plan: Plan, drivers: Mapping[str, Driver], store: StateStore, state: State | None,
                 on_event: Callable[[Event], None] | None):
        self.plan = plan
        self.drivers = drivers
        self.store = store
        self.state = state or State(stack=plan.stack, lineage=str(uuid.uuid4()))
        self.on_event = on_event or (lambda event: None)
        self.changes = {c.address: c for c in plan.changes}
        self.lock = threading.RLock()

    def emit(self, phase: str, address: str, action: Action, message: str = "") -> None:
        try:
            self.on_event(Event(phase, address, action, message))
        except Exception:  # a display problem must never break an apply
            pass

    def write(self) -> None:
        self.store.write(self.state)

    def reconcile(self) -> None:
        """Before any operation: record adopted objects, forget ones that no longer exist."""
        dirty = False
        with self.lock:
            for change in self.plan.changes:
                if change.current is not None and change.address not in self.state.primitives:
                    self.state.primitives[change.address] = self._record(change, change.current, change.current.properties)
                    dirty = True
            for address in self.plan.forget:
                dirty |= self.state.primitives.pop(address, None) is not None
            if dirty or self.state.serial == 0:
                self.write()

    def _record(self, change: Change, observed: Observed, properties: Mapping[str, Any]) -> PrimitiveRecord:
        return PrimitiveRecord(
            type=change.type, cloud=change.cloud, region=change.region, id=observed.id,
            resource=change.resource, kind=change.kind, properties=canonical(dict(properties)),
            outputs=canonical(dict(observed.outputs)), depends_on=sorted(change.depends_on),
        )

    def lookup(self, ref: Ref) -> Any:
        with self.lock:
            record = self.state.primitives.get(ref.address)
        if record is not None and ref.attr in record.outputs:
            return record.outputs[ref.attr]
        change = self.changes.get(ref.address)
        if change is not None and change.current is not None and ref.attr in change.current.outputs:
            return change.current.outputs[ref.attr]
        raise LeptonError(f"{ref.address} has no output {ref.attr!r} yet")

    def run(self, node: Node) -> None:
        kind, address = node
        change = self.changes[address]
        ptype = self.drivers[change.cloud].primitive_type(change.type)
        if kind == DELETE:
            ptype.delete(change.current)
            with self.lock:
                self.state.primitives.pop(address, None)
                self.write()
            return
        properties = ptype.normalize(resolve(dict(change.desired.properties), self.lookup))
        if change.action is Action.UPDATE:
            changed = changed_keys(properties, change.current.properties)
            observed = ptype.update(change.desired, properties, change.current, changed) if changed else change.current
        else:
            observed = ptype.create(change.desired, properties)
        with self.lock:
            self.state.primitives[address] = self._record(change, observed, properties)
            self.write()

    def resolve_outputs(self) -> dict[str, Any]:
        def lookup(ref: Ref) -> Any:
            try:
                return self.lookup(ref)
            except LeptonError:
                return UNKNOWN

        values = {name: resolve(expr, lookup) for name, expr in self.plan.outputs.items()}
        return {name: value for name, value in values.items() if value is not UNKNOWN}


def _message(exc: BaseException) -> str:
    if isinstance(exc, LeptonError):
        return "; ".join(" — ".join(p for p in (d.summary, d.detail, d.hint) if p) for d in exc.diagnostics)
    return f"internal error: {type(exc).__name__}: {exc}"


def _event_action(node: Node, change: Change) -> Action:
    if change.action is Action.REPLACE:
        return Action.DELETE if node[0] == DELETE else Action.CREATE
    return change.action


def apply_plan(plan: Plan, drivers: Mapping[str, Driver], store: StateStore, state: State | None, *,
               parallelism: int = 10, on_event: Callable[[Event], None] | None = None,
               stop: threading.Event | None = None) -> ApplyResult:
    run = _Run(plan, drivers, store, state, on_event)
    result = ApplyResult(state=run.state)
    run.reconcile()
    graph = build_graph(plan.changes)
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    running: dict[Future, Node] = {}
    ready: list[Node] = []
    finished: set[Node] = set()
    parallelism = max(1, parallelism)
    with ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply") as pool:
        while sorter.is_active():
            ready.extend(sorter.get_ready())
            # Submit no more than can run now, so that after a failure or a stop request
            # nothing queued starts later.
            while ready and len(running) < parallelism and not result.failed and not (stop and stop.is_set()):
                node = ready.pop(0)
                run.emit("start", node[1], _event_action(node, run.changes[node[1]]))
                running[pool.submit(run.run, node)] = node
            if not running:
                break
            done, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                action = _event_action(node, run.changes[node[1]])
                error = future.exception()
                if error is None:
                    finished.add(node)
                    sorter.done(node)
                    result.completed.append(node[1])
                    run.emit("done", node[1], action)
                else:
                    result.failed[node[1]] = _message(error)
                    run.emit("failed", node[1], action, result.failed[node[1]])
    result.interrupted = stop is not None and stop.is_set()
    for node in graph:
        if node not in finished and node[1] not in result.failed and node[1] not in result.skipped:
            result.skipped.append(node[1])
            run.emit("skipped", node[1], _event_action(node, run.changes[node[1]]),
                     "interrupted" if result.interrupted else "not started after a failure")
    result.completed = list(dict.fromkeys(result.completed))
    with run.lock:
        if plan.destroy and not run.state.primitives:
            run.state.outputs = {}
        elif not result.failed and not result.skipped:
            run.state.outputs = run.resolve_outputs()
        run.write()
    result.outputs = dict(run.state.outputs)
    return result
