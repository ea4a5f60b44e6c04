"""The state document (DESIGN §5) and the interface every state backend implements."""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 1


@dataclass
class PrimitiveRecord:
    """What lepton knows of one primitive it created: enough to find, diff and delete it."""

    type: str
    cloud: str
    region: str
    id: str
    resource: str
    kind: str
    properties: dict[str, Any] = field(default_factory=dict)  # as applied (resolved)
    outputs: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)
    private: dict[str, Any] = field(default_factory=dict)  # the driver's bookkeeping (Observed.private)


@dataclass
class PendingOperation:
    """An operation started but not yet known to have finished (Pulumi's pending operations):
    journaled before the mutating call, dropped when its result is recorded. A kill between an
    object's creation and its tagging leaves an object without the stack's marker; the intent
    (address and physical name) is what lets the next run recognise it as its own."""

    address: str
    type: str
    cloud: str
    region: str
    operation: str  # create | update | delete
    name: str | None = None  # the physical name the create asked for, when the type has one
    since: str = ""  # ISO 8601, UTC


@dataclass
class State:
    stack: str
    lineage: str
    serial: int = 0
    format_version: int = FORMAT_VERSION
    primitives: dict[str, PrimitiveRecord] = field(default_factory=dict)
    # Replaced objects waiting for deletion (Terraform's deposed objects), by address: a crash
    # between creating a successor and deleting its predecessor loses neither.
    deposed: dict[str, list[PrimitiveRecord]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    pending: list[PendingOperation] = field(default_factory=list)
    # Outputs built from a sensitive value: `outputs` shows them as "(sensitive)", this holds
    # their seals (keyed hash and parts; see engine/sensitive.py), never the value.
    sealed_outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def records(self) -> list[tuple[str, PrimitiveRecord]]:
        """Every recorded object, current and deposed, with its address."""
        return [*self.primitives.items(), *((a, r) for a, rs in self.deposed.items() for r in rs)]

    def clouds(self) -> set[str]:
        return {r.cloud for _, r in self.records()} | {p.cloud for p in self.pending}

    def referrers(self) -> dict[str, set[str]]:
        """address -> the addresses of recorded objects that reference it."""
        found: dict[str, set[str]] = {}
        for address, record in self.records():
            for dependency in record.depends_on:
                found.setdefault(dependency, set()).add(address)
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "State":
        prims = {a: PrimitiveRecord(**r) for a, r in data.get("primitives", {}).items()}
        deposed = {a: [PrimitiveRecord(**r) for r in records] for a, records in data.get("deposed", {}).items()}
        return cls(
            stack=data["stack"],
            lineage=data["lineage"],
            serial=data.get("serial", 0),
            format_version=data.get("format_version", FORMAT_VERSION),
            primitives=prims,
            deposed=deposed,
            outputs=data.get("outputs", {}),
            pending=[PendingOperation(**p) for p in data.get("pending", [])],
            sealed_outputs=data.get("sealed_outputs", {}),
        )


@dataclass(frozen=True)
class LockInfo:
    """Who holds a stack's lock, for the message a second writer sees."""

    id: str
    user: str
    host: str
    pid: int
    command: str
    since: str  # ISO 8601, UTC


class StateStore(abc.ABC):
    """Where one stack's state lives, and its lock."""

    @abc.abstractmethod
    def read(self) -> State | None:
        """The current state, or None if the stack was never applied."""

    @abc.abstractmethod
    def write(self, state: State) -> None:
        """Persist `state` atomically, incrementing `state.serial`; keeps a backup."""

    @abc.abstractmethod
    def acquire(self, command: str) -> LockInfo:
        """Take the lock or raise `LockHeldError` naming the holder (taking over a stale
        local lock, with a warning)."""

    @abc.abstractmethod
    def release(self, lock: LockInfo) -> None: ...

    @abc.abstractmethod
    def force_unlock(self, lock_id: str) -> None:
        """`lepton state unlock ID`: break a lock whose id matches."""

    @contextlib.contextmanager
    def locked(self, command: str) -> Iterator[LockInfo]:
        lock = self.acquire(command)
        try:
            yield lock
        finally:
            self.release(lock)
