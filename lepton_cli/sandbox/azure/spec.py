"""What the emulator knows about one ARM resource type: a small declarative record, so the
generic backend handles PUT/GET/PATCH/DELETE/list and long-running operations the same way
for every type, and per-type modules add only their rules (hooks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

Hook = Callable[..., Any]


@dataclass(frozen=True)
class NameRule:
    """ARM's naming rule for a type: a pattern and the message ARM gives when it is broken."""

    pattern: str
    message: str
    code: str = "InvalidResourceName"

    def check(self, name: str) -> str | None:
        return None if re.fullmatch(self.pattern, name) else self.message


# The rule most Microsoft.Network types share (1-80: alphanumerics, underscores, periods, hyphens).
NETWORK_NAME = NameRule(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?",
                        "Resource name {name} is invalid. The name can be up to 80 characters long. It must begin "
                        "with a word character, and it must end with a word character or with '_'. The name may "
                        "contain word characters or '.', '-', '_'.")


@dataclass(frozen=True)
class ResourceType:
    type: str  # "Microsoft.Network/virtualNetworks/subnets", as ARM spells it
    versions: frozenset[str]
    lro: bool = True  # PUT answers 201/200 with Azure-AsyncOperation (False: plain 201/200)
    create_status: int = 201  # what a synchronous create answers (singletons such as policies: 200)
    accepted: bool = False  # create answers 202 + Location, no body; a PUT on an existing one is plain 200
    lro_delete: bool | None = None  # DELETE answers 202 + Azure-AsyncOperation/Location (None: as `lro`)
    patch: str | None = None  # PATCH: None (refused), "lro" or "sync"
    etag: bool = False
    location: str = "required"  # "required" | "none" (children: no location of their own)
    regional: bool = True  # the location must be a region (False: the type checks it, e.g. "Global")
    name_rule: NameRule | None = None
    singleton: str | None = None  # the one name a singleton child accepts ("default")
    inline: str | None = None  # a child stored inside its parent's `properties[inline]` list
    lists_in_subscription: bool = True
    generic: bool = True  # listed by the generic `resources` list (tracked, top-level types)
    prepare: Hook | None = None  # (backend, new, old) -> None: defaults, computed fields, validation
    check_delete: Hook | None = None  # (backend, res) -> None: raise ArmError when in use
    after_put: Hook | None = None  # (backend, res, old) -> None, once the record is stored
    on_deleted: Hook | None = None  # (backend, res) -> None, once gone
    actions: dict[str, Hook] = field(default_factory=dict)  # POST verbs: (backend, res, body, ctx) -> (status, body)
    reader: Hook | None = None  # virtual, read-only children: (backend, parent, name|None) -> record(s)
    public: Hook | None = None  # (backend, res) -> dict: the shape served (default: the record)

    @property
    def deletes_async(self) -> bool:
        return self.lro if self.lro_delete is None else self.lro_delete

    @property
    def key(self) -> str:
        return self.type.lower()

    @property
    def provider(self) -> str:
        return self.type.split("/", 1)[0]

    @property
    def depth(self) -> int:
        return self.type.count("/")
