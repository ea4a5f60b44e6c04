"""A plan is inert data (after Terraform's `internal/plans`): `Change`s with an `Action`.

`diff` produces a `Plan`; the executor applies exactly the changes it holds; the UI renders
it; `plan -o` saves it as a change set. Nothing here calls a cloud.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.drivers.base import Observed, Primitive, ReplaceStrategy


class Action(str, enum.Enum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True)
class FieldDiff:
    """One property's change; `after` may be `UNKNOWN` (known after apply)."""

    before: Any
    after: Any


@dataclass
class Change:
    """What will happen to one primitive, and why."""

    address: str
    type: str
    resource: str
    kind: str
    cloud: str
    region: str
    action: Action
    diff: dict[str, FieldDiff] = field(default_factory=dict)
    replace_fields: list[str] = field(default_factory=list)  # the fields that force a replace
    notes: list[str] = field(default_factory=list)  # e.g. "rolls a new launch template version"
    desired: Primitive | None = None  # None for a delete
    current: Observed | None = None  # None for a create
    depends_on: tuple[str, ...] = ()  # addresses (of desired, else of recorded state)
    # A replace: create the successor first, or destroy first (and why it cannot create first).
    strategy: ReplaceStrategy | None = None
    strategy_reason: str = ""
    # A delete of an object kept only as *deposed* (replaced, waiting for deletion): its id.
    deposed: str | None = None
    # The object was found only through a pending create (an apply killed between creating it
    # and tagging it): the apply puts the stack's marker on it first.
    adopt: bool = False
    # What the driver chose for the desired object, for people (instance type, vCPUs, price).
    summary: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Unique in a plan: the address, or for a deposed object the address and its id."""
        return f"{self.address} (deposed {self.deposed})" if self.deposed else self.address

    @property
    def create_first(self) -> bool:
        return self.action is Action.REPLACE and self.strategy is not ReplaceStrategy.DESTROY_BEFORE_CREATE


@dataclass
class Plan:
    """Every change needed to make the clouds match the plan file, in no particular order
    (the executor orders them by dependency)."""

    stack: str
    changes: list[Change]
    outputs: dict[str, Any]  # output name -> value, Ref or Template (resolved after apply)
    lineage: str | None  # of the state this plan was made against
    serial: int
    plan_digest: str  # sha256 of the rendered plan file (and vars) it was made from
    destroy: bool = False
    # Recorded in state but gone from the cloud (deleted out of band): apply drops these records
    # before any operation (one still wanted is also planned as a create).
    forget: list[str] = field(default_factory=list)
    # Deposed records whose objects are gone: [address, id] pairs apply drops likewise.
    forget_deposed: list[list[str]] = field(default_factory=list)
    # Addresses whose pending operations (journaled by an interrupted apply) are settled: apply
    # drops them before any operation.
    forget_pending: list[str] = field(default_factory=list)
    # The resources `--target` limited this plan to (empty: the whole stack).
    targets: list[str] = field(default_factory=list)
    # Where the plan was made (stack, plan file, state directory, sandbox, driver settings), so a
    # saved change set can be applied later exactly; set by the API, never holds credentials.
    context: dict[str, Any] = field(default_factory=dict)
    # The run's sensitive values (engine.sensitive.Secrets), in memory only: what the UI redacts
    # and what state and change sets seal. Set by the API; never saved.
    secrets: Any = field(default=None, repr=False, compare=False)

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.action is not Action.NOOP]

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)}
        for change in self.actionable:
            counts[change.action.value] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)
