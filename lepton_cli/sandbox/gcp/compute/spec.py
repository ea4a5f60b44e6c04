"""What the emulator knows about one collection: a small declarative record, so the generic
backend handles insert/get/list/patch/update/delete the same way for all of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class RefField:
    """A field holding links to other resources: `path` is dotted, `[]` iterates a list
    (``backends[].group``); `targets` are the (scope, collection) pairs it may point at;
    `bare` is the collection a bare name means (None: a bare name is refused); `blocks_delete`
    says whether the reference makes its target "in use"."""

    path: str
    targets: tuple[tuple[str, str], ...]
    bare: str | None = None
    blocks_delete: bool = True  # False: the referenced object may go (an unused template's subnet)


Hook = Callable[..., Any]


@dataclass(frozen=True)
class Collection:
    coll: str  # URL segment
    scope: str  # "global" | "region" | "zone"
    kind: str  # "compute#network"
    noun: str  # "network", as the real in-use messages name it
    required: tuple[str, ...] = ()
    refs: tuple[RefField, ...] = ()
    methods: frozenset[str] = frozenset({"insert", "get", "list", "delete"})
    fingerprint: bool = False  # carries `fingerprint`, checked on patch/update when sent
    labels: bool = False  # carries `labels` + `labelFingerprint` (setLabels)
    name_in_query: str | None = None  # patch/update name the resource in a query parameter
    defaults: dict[str, Any] = field(default_factory=dict)
    validate: Hook | None = None  # (backend, project, loc, res) -> None; raises GcpError
    on_insert: Hook | None = None  # (backend, project, loc, res) -> None
    on_update: Hook | None = None  # (backend, project, loc, old, new) -> None
    on_delete: Hook | None = None  # (backend, project, loc, res) -> None
    users: Hook | None = None  # (backend, project, loc, res) -> extra links that count as "this object"
    actions: dict[str, Hook] = field(default_factory=dict)  # custom POST methods
    list_key: str = "items"

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def aggregated_kind(self) -> str:
        return f"{self.kind}AggregatedList"
