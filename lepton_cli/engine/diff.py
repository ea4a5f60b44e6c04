"""Diff: one desired primitive against what exists, decided by one small function.

Values are compared as JSON (tuples and lists alike); a value known only after apply counts as
changed. Only the properties the desired primitive sets are compared: what the cloud computes
(ids, ARNs, DNS names) is an output, never a difference.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from lepton_cli.drivers.base import UNKNOWN, Observed, Primitive, PrimitiveType, Ref, ReplaceStrategy, resolve
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
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_unknown(v) for v in value)
    return False


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
        strategy=strategy, strategy_reason=reason,
    )
