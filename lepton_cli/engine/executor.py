"""Apply: run a plan's changes in parallel, in dependency order, journaling state as it goes.

The operation graph (`graph.operation_graph`) says what waits for what; ready operations are
dispatched as soon as their predecessors finish, up to `parallelism` at once. State is written
after every completed operation (the journal), and before a create-before-destroy replace the
predecessor is recorded as *deposed*, so an interrupted apply loses nothing: the next plan
deletes what is deposed and adopts what was created but not recorded.

On a failure, or when `stop` is set (first Ctrl-C), nothing new starts, running operations
finish, and what did not run is reported as skipped, naming the failure it waited on.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.drivers.base import UNKNOWN, Driver, Observed, Ref, resolve
from lepton_cli.engine.diff import canonical, changed_keys, comparable
from lepton_cli.engine.expand import primitive_type_for
from lepton_cli.engine.graph import APPLY, DELETE, Node, check_acyclic, closure, operation_graph, referrers
from lepton_cli.engine.model import Action, Change, Plan
from lepton_cli.engine.planner import recorded_properties
from lepton_cli.engine.sensitive import SENSITIVE_TEXT, Secrets
from lepton_cli.errors import Diagnostic, LeptonError, OwnershipError
from lepton_cli.state.model import PendingOperation, PrimitiveRecord, State, StateStore

# How often the dispatcher looks at `stop` while operations run.
STOP_POLL_SECONDS = 0.2


@dataclass
class Event:
    """Progress of one operation, for the CLI's display. A replace shows as its two halves."""

    phase: str  # start | done | failed | skipped
    address: str  # the change's key (a deposed object's says so)
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


class _Journal:
    """The state being applied, written after every change to it (under one lock)."""

    def __init__(self, plan: Plan, store: StateStore, state: State | None):
        self.plan = plan
        self.store = store
        self.state = state or State(stack=plan.stack, lineage=str(uuid.uuid4()))
        self.lock = threading.Lock()
        self.secrets: Secrets = plan.secrets or Secrets()  # what state may hold only sealed

    def write(self) -> None:
        self.store.write(self.state)

    def reconcile(self) -> None:
        """Before any operation, make state match the plan's refresh: record adopted objects
        (and deposed ones found but not recorded), drop records of objects that are gone."""
        with self.lock:
            before = self.state.to_dict()
            for change in self.plan.changes:
                if change.current is None:
                    continue
                if change.deposed is not None:
                    if all(r.id != change.deposed for r in self.state.deposed.get(change.address, [])):
                        self.state.deposed.setdefault(change.address, []).append(
                            _record(change, change.current, change.current.properties, self.secrets))
                elif change.address not in self.state.primitives:
                    self.state.primitives[change.address] = _record(change, change.current,
                                                                    change.current.properties, self.secrets)
            for address in self.plan.forget:
                self.state.primitives.pop(address, None)
            for address, ident in self.plan.forget_deposed:
                self._drop_deposed(address, ident)
            settled = set(self.plan.forget_pending)
            self.state.pending = [p for p in self.state.pending if p.address not in settled]
            if self.state.to_dict() != before or self.state.serial == 0:
                self.write()

    def intend(self, operations: list[tuple[Node, Change, str | None]]) -> None:
        """Before the mutating calls of a batch of operations: journal each one's intent
        (address, operation, physical name), so a kill before the result is recorded leaves
        what the next run needs to recognise an object it half made."""
        since = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.lock:
            for node, change, name in operations:
                self.state.pending.append(PendingOperation(
                    address=change.address, type=change.type, cloud=change.cloud,
                    region=change.desired.region if change.desired else change.region,
                    operation=_operation(node, change), name=name, since=since))
            self.write()

    def _settle(self, address: str, operations: set[str]) -> None:
        self.state.pending = [p for p in self.state.pending
                              if not (p.address == address and p.operation in operations)]

    def settle(self, address: str, operations: set[str]) -> None:
        """Drop the intents of `operations` at `address` (a failure known to have made nothing)."""
        with self.lock:
            before = len(self.state.pending)
            self._settle(address, operations)
            if len(self.state.pending) != before:
                self.write()

    def record(self, change: Change, observed: Observed, properties: Mapping[str, Any]) -> None:
        with self.lock:
            self.state.primitives[change.address] = _record(change, observed, properties, self.secrets)
            self._settle(change.address, {"create", "update"})
            self.write()

    def depose(self, change: Change) -> None:
        """Before creating a successor: the recorded predecessor becomes deposed."""
        with self.lock:
            record = self.state.primitives.get(change.address)
            if record is not None and record.id == change.current.id:
                self.state.deposed.setdefault(change.address, []).append(self.state.primitives.pop(change.address))
                self.write()

    def remove(self, change: Change) -> None:
        """After a delete: forget the deleted object, current or deposed."""
        with self.lock:
            record = self.state.primitives.get(change.address)
            if record is not None and record.id == change.current.id:
                del self.state.primitives[change.address]
            self._drop_deposed(change.address, change.current.id)
            self._settle(change.address, {"delete"} if change.action is Action.REPLACE else {"create", "update", "delete"})
            self.write()

    def _drop_deposed(self, address: str, ident: str) -> None:
        remaining = [r for r in self.state.deposed.get(address, []) if r.id != ident]
        if remaining:
            self.state.deposed[address] = remaining
        else:
            self.state.deposed.pop(address, None)

    def recorded(self, change: Change) -> dict[str, Any]:
        with self.lock:
            return recorded_properties(change, self.state)

    def output(self, ref: Ref) -> Any:
        """A primitive's output as recorded now; LeptonError if it does not exist (yet)."""
        with self.lock:
            record = self.state.primitives.get(ref.address)
            if record is not None and ref.attr in record.outputs:
                return record.outputs[ref.attr]
        raise LeptonError(Diagnostic(summary=f"{ref.address} has no output {ref.attr!r}", address=ref.address,
                                     detail="it does not exist, or its driver did not report that output"))


def _record(change: Change, observed: Observed, properties: Mapping[str, Any], secrets: Secrets) -> PrimitiveRecord:
    """What state keeps of an object: sensitive values only sealed (a keyed hash)."""
    return PrimitiveRecord(
        type=change.type, cloud=change.cloud, region=observed.region or change.region, id=observed.id,
        resource=change.resource, kind=change.kind, properties=secrets.seal(canonical(dict(properties))),
        outputs=secrets.seal(canonical(dict(observed.outputs))), depends_on=sorted(change.depends_on),
        private=secrets.seal(canonical(dict(observed.private))),
    )


def _operate(node: Node, change: Change, drivers: Mapping[str, Driver], journal: _Journal) -> None:
    """One operation and its journal entries. A failure this process lives to see settles the
    operation's intent, except a create's: it may have made an object it could not yet tag.
    A create refused because the name is taken by someone else made nothing."""
    try:
        _run(node, change, drivers, journal)
    except OwnershipError:
        journal.settle(change.address, {"create", "update", "delete"})
        raise
    except Exception:
        journal.settle(change.address, {"update", "delete"})
        raise


def _run(node: Node, change: Change, drivers: Mapping[str, Driver], journal: _Journal) -> None:
    """One cloud operation. Refs resolve now, from what has completed."""
    ptype = primitive_type_for(drivers, change.cloud, change.type)
    if node[0] == DELETE:
        # Asked again now: a saved change set may be applied long after it was planned.
        reason = ptype.check_delete(change.current, journal.recorded(change))
        if reason:
            raise LeptonError(Diagnostic(summary=f"refusing to delete: {reason}", address=change.address))
        ptype.delete(change.current)
        journal.remove(change)
        return
    properties = ptype.normalize(resolve(dict(change.desired.properties), journal.output))
    if change.adopt:
        ptype.mark(change.current, change.address)
    if change.action is Action.UPDATE:
        # Values unknown at plan time are known now; they may turn out unchanged.
        changed = changed_keys(comparable(change.desired, properties), change.current.properties)
        observed = ptype.update(change.desired, properties, change.current, changed) if changed else change.current
    else:
        if change.create_first:
            journal.depose(change)
        observed = ptype.create(change.desired, properties)
    journal.record(change, observed, properties)


def _operation(node: Node, change: Change) -> str:
    if node[0] == DELETE:
        return "delete"
    return "update" if change.action is Action.UPDATE else "create"


def _intent_name(change: Change, drivers: Mapping[str, Driver], journal: _Journal) -> str | None:
    """The physical name a create asks for (its type's `name_key`), when known now."""
    if change.desired is None:
        return None
    key = primitive_type_for(drivers, change.cloud, change.type).name_key
    name = resolve(change.desired.properties.get(key), _or_unknown(journal.output)) if key else None
    return name if isinstance(name, str) else None


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
    """Apply exactly the plan's changes. The caller holds the state lock. `on_event` is called
    from this (the calling) thread only, one event at a time."""
    graph = operation_graph(plan.changes, referrers(plan.changes, state.referrers() if state else {}))
    sorter = check_acyclic(graph)
    changes = {c.key: c for c in plan.changes}
    journal = _Journal(plan, store, state)
    result = ApplyResult(state=journal.state)

    def emit(phase: str, node: Node, message: str = "") -> None:
        try:
            if on_event is not None:
                on_event(Event(phase, node[1], _event_action(node, changes[node[1]]),
                               journal.secrets.redact_text(message)))
        except Exception:  # noqa: BLE001 - a display problem must never break an apply
            pass

    def stopping() -> bool:
        return bool(result.failed) or (stop is not None and stop.is_set())

    journal.reconcile()
    parallelism = max(1, parallelism)
    finished: set[Node] = set()
    failed: set[Node] = set()
    running: dict[Future, Node] = {}
    ready: list[Node] = []
    pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply")
    try:
        while sorter.is_active():
            ready.extend(sorted(sorter.get_ready()))
            # Submit no more than can run now, so nothing queued starts after a failure or stop;
            # their intents are journaled (one state write) before any of them starts.
            batch = []
            while ready and len(running) + len(batch) < parallelism and not stopping():
                batch.append(ready.pop(0))
            if batch:
                journal.intend([(node, changes[node[1]], _intent_name(changes[node[1]], drivers, journal))
                                for node in batch])
            for node in batch:
                emit("start", node)
                running[pool.submit(_operate, node, changes[node[1]], drivers, journal)] = node
            if not running:
                break
            done, _ = wait(list(running), timeout=STOP_POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                node = running.pop(future)
                error = future.exception()
                if error is None:
                    finished.add(node)
                    sorter.done(node)
                    if node[0] == APPLY or changes[node[1]].action is Action.DELETE:
                        result.completed.append(node[1])
                    emit("done", node)
                else:
                    failed.add(node)
                    result.failed[node[1]] = journal.secrets.redact_text(_message(error))
                    emit("failed", node, result.failed[node[1]])
    except BaseException:
        # A second Ctrl-C: stop waiting for the cloud; what finishes later is adopted next run.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

    stopped = stop is not None and stop.is_set()
    for node in graph:
        if node in finished or node in failed or node[1] in result.failed or node[1] in result.skipped:
            continue
        result.skipped.append(node[1])
        emit("skipped", node, _skip_reason(node, graph, failed, stopped))
    result.interrupted = stopped and bool(result.skipped)
    _store_outputs(plan, journal, result)
    return result


def _skip_reason(node: Node, graph: dict[Node, set[Node]], failed: set[Node], interrupted: bool) -> str:
    upstream = sorted({key for _, key in closure([node], graph) & failed})
    if upstream:
        return f"waits for {', '.join(upstream)}, which failed"
    return "interrupted" if interrupted else "not started: the apply stopped after a failure"


def _store_outputs(plan: Plan, journal: _Journal, result: ApplyResult) -> None:
    """Outputs after a complete apply (an output naming something absent is left out); a whole
    destroy leaves none. After a failure the previous outputs stay: the next apply updates them."""
    with journal.lock:
        before = journal.state.outputs
        sealed_before = journal.state.sealed_outputs
    sealed: dict[str, Any] = {}
    if plan.destroy and not plan.targets:
        outputs: dict[str, Any] = {}
    elif result.ok:
        outputs = {}
        for name, expression in plan.outputs.items():
            value = resolve(expression, _or_unknown(journal.output))
            if value is not UNKNOWN:
                outputs[name] = canonical(value)
                if journal.secrets.seal(outputs[name]) != outputs[name]:  # built from a secret
                    sealed[name] = journal.secrets.seal(outputs[name])
                    outputs[name] = SENSITIVE_TEXT
    else:
        outputs, sealed = before, sealed_before
    with journal.lock:
        if outputs != before or sealed != sealed_before:
            journal.state.outputs = outputs
            journal.state.sealed_outputs = sealed
            journal.write()
    result.outputs = dict(outputs)


def _or_unknown(lookup: Callable[[Ref], Any]) -> Callable[[Ref], Any]:
    def safe(ref: Ref) -> Any:
        try:
            return lookup(ref)
        except LeptonError:
            return UNKNOWN
    return safe
