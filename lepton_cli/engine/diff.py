"""Diff: one desired primitive against what exists, decided by one small function.

Values are compared as JSON (tuples and lists alike); a value known only after apply counts as
changed. Only the properties the desired primitive sets are compared: what the cloud computes
(ids, ARNs, DNS names) is an output, never a difference.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lepton_cli.drivers.base import (SENSITIVE, UNKNOWN, leaves, Observed, Primitive, PrimitiveType, Ref, ReplaceStrategy,
                                     resolve)
from lepton_cli.engine.model import Action, Change, FieldDiff


def canonical(value: Any) -> Any:
    """A value as the JSON it would be stored as (so (1, 2) == [1, 2])."""
    if value is UNKNOWN:
        return UNKNOWN
    try:
        return json.loads(json.dumps(value, sort_keys=True, default=str))
    except (TypeError, ValueError):
        return value


def changed_keys(properties: Mapping[str, Any], current: Mapping[str, Any]) -> set[str]:
    return {k for k, v in properties.items()
            if v is UNKNOWN or _contains_unknown(v) or canonical(v) != canonical(current.get(k))}


def _contains_unknown(value: Any) -> bool:
    return any(leaf is UNKNOWN for leaf in leaves(value))


def decide_action(exists: bool, changed: set[str], replace_on: frozenset[str]) -> Action:
    """Terraform's getAction, for lepton: the whole decision table in one place. A move to
    another region (the pseudo-field `region`) always replaces."""
    if not exists:
        return Action.CREATE
    if changed & (replace_on | {MOVE}):
        return Action.REPLACE
    if changed:
        return Action.UPDATE
    return Action.NOOP


MOVE = "region"  # the pseudo-field a move to another region changes


def comparable(primitive: Primitive, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The properties lepton diffs: all but those another owner changes after creation."""
    return {k: v for k, v in properties.items() if k not in primitive.ignore_changes}


def diff_primitive(primitive: Primitive, ptype: PrimitiveType, current: Observed | None,
                   lookup: Callable[[Ref], Any]) -> Change:
    properties = resolve(dict(primitive.properties), lookup)
    if not _contains_unknown(properties):
        properties = ptype.normalize(properties)
    if current is None:
        changed = set(properties)
        diff = {k: FieldDiff(None, v) for k, v in properties.items()}
    else:
        # lepton's own properties of an adopted object (not yet in state) are what the plan says.
        adopted = {k: properties[k] for k in ptype.local if k in properties and k not in current.properties}
        current.properties.update(adopted)
        changed = changed_keys(comparable(primitive, properties), current.properties)
        diff = {k: FieldDiff(current.properties.get(k), properties[k]) for k in sorted(changed)}
        if current.region != primitive.region:
            changed.add(MOVE)
            diff[MOVE] = FieldDiff(current.region, primitive.region)
    action = decide_action(current is not None, changed, ptype.replace_on)
    strategy, reason = None, ""
    if action is Action.REPLACE:
        reason = ptype.can_coexist(current, properties, primitive.region) or ""
        strategy = ReplaceStrategy.DESTROY_BEFORE_CREATE if reason else ReplaceStrategy.CREATE_BEFORE_DESTROY
    return Change(
        address=primitive.address, type=primitive.type, resource=primitive.resource, kind=primitive.kind,
        cloud=primitive.cloud, region=primitive.region, action=action,
        diff=diff if action is not Action.NOOP else {},
        replace_fields=sorted(changed & (ptype.replace_on | {MOVE})) if action is Action.REPLACE else [],
        notes=sorted({ptype.update_notes[k] for k in changed if k in ptype.update_notes})
        if action is Action.UPDATE else [],
        desired=primitive, current=current, depends_on=tuple(sorted(primitive.dependencies())),
        strategy=strategy, strategy_reason=reason, summary=list(primitive.summary),
    )


# -- field-level changes (what a person reads) ------------------------------------------------------------
class _Absent:
    """A key one side of a change does not have (a property being created, a new map key)."""

    def __repr__(self) -> str:
        return "(none)"


ABSENT = _Absent()
OPAQUE = (UNKNOWN, SENSITIVE)  # never diffed into: shown as their marker only


@dataclass(frozen=True)
class FieldChange:
    """One leaf of a property's change, at a dotted path (`health_check.path`).

    kind "value": `before` -> `after` (either may be ABSENT, UNKNOWN or SENSITIVE);
    kind "elements": list members `removed` and `added` (a reorder alone is no change);
    kind "lines": a multi-line string as unified-diff `lines` ("+...", "-...", " ...", "@@ ...").
    """

    path: str
    kind: str
    before: Any = ABSENT
    after: Any = ABSENT
    removed: tuple[Any, ...] = ()
    added: tuple[Any, ...] = ()
    lines: tuple[str, ...] = ()


def field_changes(path: str, before: Any, after: Any) -> list[FieldChange]:
    """The leaves that differ between two values, nested maps walked key by key, lists
    compared as collections of members, multi-line strings line by line. Pass `ABSENT` as
    `before` for a create. A sensitive or unknown value is one leaf, never looked into."""
    if any(v is o for v in (before, after) for o in OPAQUE):
        if before is after and before is SENSITIVE:
            return []
        return [FieldChange(path, "value", before, after)]
    if before is not ABSENT and after is not ABSENT and canonical(before) == canonical(after):
        return []
    if before is ABSENT:
        before = {} if isinstance(after, Mapping) else [] if isinstance(after, (list, tuple)) else before
    if after is ABSENT:
        after = {} if isinstance(before, Mapping) else [] if isinstance(before, (list, tuple)) else after
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        return [fc for key in sorted(set(before) | set(after), key=str)
                for fc in field_changes(f"{path}.{key}" if path else str(key),
                                        before.get(key, ABSENT), after.get(key, ABSENT))]
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        return _element_changes(path, list(before), list(after))
    if _multiline(before) or _multiline(after):
        if isinstance(before, (str, _Absent)) and isinstance(after, (str, _Absent)):
            return [_line_changes(path, before, after)]
    return [FieldChange(path, "value", before, after)]


def _element_changes(path: str, before: list, after: list) -> list[FieldChange]:
    key = (lambda v: json.dumps(canonical(v), sort_keys=True, default=str))
    old, new = Counter(map(key, before)), Counter(map(key, after))
    removed, added = _take(before, old - new, key), _take(after, new - old, key)
    return [FieldChange(path, "elements", removed=tuple(removed), added=tuple(added))] if removed or added else []


def _take(values: list, wanted: Counter, key: Callable[[Any], str]) -> list:
    """The members of `values` counted in `wanted`, in their order (duplicates as often as counted)."""
    out = []
    for value in values:
        if wanted[key(value)] > 0:
            wanted[key(value)] -= 1
            out.append(value)
    return out


def _multiline(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.rstrip("\n")


def _line_changes(path: str, before: Any, after: Any) -> FieldChange:
    old = [] if before is ABSENT else before.splitlines()
    new = [] if after is ABSENT else after.splitlines()
    if before is ABSENT or after is ABSENT:  # all added or all removed: no hunk header to read
        sign = "-" if after is ABSENT else "+"
        return FieldChange(path, "lines", before, after, lines=tuple(sign + line for line in old or new))
    lines = [line for line in difflib.unified_diff(old, new, lineterm="", n=2)][2:]
    return FieldChange(path, "lines", before, after, lines=tuple(lines))


def change_fields(change: Change) -> list[tuple[str, FieldChange]]:
    """Every field-level change of a create or update as (property, leaf) pairs in property
    order; a create's `before` is ABSENT. A property whose walk finds no leaf (an empty list
    created; a sensitive value changed, both sides hidden) is one leaf of its own."""
    out = []
    for name, d in sorted(change.diff.items()):
        create = change.action is Action.CREATE
        before = ABSENT if create else d.before
        found = field_changes(name, before, d.after)
        if not found and (create or any(v is SENSITIVE for v in (before, d.after))):
            found = [FieldChange(name, "value", before, d.after)]
        out += [(name, fc) for fc in found]
    return out
