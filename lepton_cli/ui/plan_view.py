"""How a plan looks: for people (grouped by resource, field by field) and as the `--json`
document of DESIGN §7."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from rich.markup import escape

from lepton_cli.drivers.base import UNKNOWN, Ref, Template
from lepton_cli.engine.model import Action, Change, Plan

UNKNOWN_TEXT = "(known after apply)"

# action -> (symbol, style, verb for the summary line)
ACTION_STYLE: dict[Action, tuple[str, str, str]] = {
    Action.CREATE: ("+", "create", "create"),
    Action.UPDATE: ("~", "update", "update in place"),
    Action.REPLACE: ("+/-", "replace", "replace: create the replacement, then destroy the old one"),
    Action.DELETE: ("-", "delete", "delete"),
}
DESTROY_FIRST = ("-/+", "replace", "replace: destroy the old one, then create the replacement")


def _style(change: Change) -> tuple[str, str, str]:
    if change.action is Action.REPLACE and not change.create_first:
        return DESTROY_FIRST
    return ACTION_STYLE[change.action]
MAX_VALUE = 72


def json_value(value: Any) -> Any:
    """A property value as plain JSON; unknowns become the marker text."""
    if value is UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, (Ref, Template)):
        return str(value)
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan's `--json` document (no-ops omitted)."""
    return {
        "stack": plan.stack,
        "changes": [
            {
                "address": c.address,
                "resource": c.resource,
                "kind": c.kind,
                "cloud": c.cloud,
                "region": c.region,
                "type": c.type,
                "action": c.action.value,
                "order": ("create_before_destroy" if c.create_first else "destroy_before_create")
                if c.action is Action.REPLACE else None,
                "order_reason": c.strategy_reason or None,
                "deposed": c.deposed,
                "adopt": c.adopt,
                "diff": {k: {"before": json_value(d.before), "after": json_value(d.after)}
                         for k, d in c.diff.items()},
                "replace_fields": c.replace_fields,
                "notes": c.notes,
            }
            for c in sorted(plan.actionable, key=lambda c: c.key)
        ],
        "summary": plan.summary(),
    }


def short(value: Any) -> str:
    """One line for a value, cut to fit; unknowns say so."""
    if value is UNKNOWN:
        return UNKNOWN_TEXT
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(json_value(value), default=str)
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def summary_line(plan: Plan, destroy: bool = False) -> str:
    counts = plan.summary()
    if not plan.has_changes:
        return "No changes. The clouds match the plan file."
    verb = "Destroy" if destroy else "Plan"
    return (f"{verb}: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['replace']} to replace, {counts['delete']} to delete.")


def _change_lines(change: Change) -> Iterable[str]:
    symbol, style, verb = _style(change)
    reason = ""
    if change.action is Action.REPLACE:
        why = [f"{', '.join(change.replace_fields)} forces replacement"] if change.replace_fields else []
        if change.strategy_reason:
            why.append(f"destroyed first because {change.strategy_reason}")
        reason = f" ({'; '.join(why)})" if why else ""
    elif change.deposed and not change.notes:
        reason = " (replaced earlier; waiting for deletion)"
    elif change.notes:
        reason = f" ({'; '.join(change.notes)})"
    yield f"  [{style}]{symbol}[/] [address]{escape(change.key)}[/] [{style}]{verb}[/]{escape(reason)}"
    if change.action is Action.DELETE:
        if change.current is not None and change.current.id:
            yield f"      [muted]id: {escape(str(change.current.id))}[/]"
        return
    for field, d in sorted(change.diff.items()):
        forced = "  [replace]# forces replacement[/]" if field in change.replace_fields else ""
        if change.action is Action.CREATE:
            yield f"      {escape(field)}: {escape(short(d.after))}"
        else:
            yield (f"      {escape(field)}: [muted]{escape(short(d.before))}[/] → "
                   f"{escape(short(d.after))}{forced}")


def render_plan(plan: Plan, *, destroy: bool = False) -> list[str]:
    """Rich-markup lines for a plan, grouped by the resource each primitive implements."""
    lines: list[str] = []
    changes = sorted(plan.actionable, key=lambda c: (c.resource, c.key))
    for resource, group in groupby(changes, key=lambda c: c.resource):
        group = list(group)
        first = group[0]
        lines.append(f"[bold]{escape(resource)}[/] [muted]({first.kind}, {first.cloud} {first.region})[/]")
        for change in group:
            lines.extend(_change_lines(change))
        lines.append("")
    lines.append(f"[bold]{escape(summary_line(plan, destroy))}[/]")
    return lines
