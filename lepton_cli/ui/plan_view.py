"""How a plan looks: for people (grouped by resource, field by field, nested maps and lists
walked to the leaf that changed), as the `--json` document of DESIGN §7, and as Markdown for
a pull-request comment. Values are shown whole: nothing is cut where a change could hide."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from itertools import groupby
from typing import Any

from rich.markup import escape

from lepton_cli.drivers.base import SENSITIVE, UNKNOWN, Ref, Template
from lepton_cli.engine.sensitive import redacted_plan
from lepton_cli.engine.diff import ABSENT, FieldChange, change_fields
from lepton_cli.engine.model import Action, Change, Plan

UNKNOWN_TEXT = "(known after apply)"
SENSITIVE_TEXT = "(sensitive)"

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


def json_value(value: Any) -> Any:
    """A property value as plain JSON; unknown and sensitive values become their marker text."""
    if value is UNKNOWN:
        return UNKNOWN_TEXT
    if value is SENSITIVE:
        return SENSITIVE_TEXT
    if isinstance(value, (Ref, Template)):
        return str(value)
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan's `--json` document (no-ops omitted)."""
    plan = redacted_plan(plan)
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
                "field_changes": [field_change_json(fc) for _, fc in change_fields(c)],
                "replace_fields": c.replace_fields,
                "notes": c.notes,
                "summary": c.summary,
            }
            for c in sorted(plan.actionable, key=lambda c: c.key)
        ],
        "summary": plan.summary(),
    }


def field_change_json(fc: FieldChange) -> dict[str, Any]:
    """One leaf of a change for `--json`: a side that does not exist is left out."""
    out: dict[str, Any] = {"path": fc.path, "kind": fc.kind}
    if fc.kind == "value":
        out.update({k: json_value(v) for k, v in (("before", fc.before), ("after", fc.after)) if v is not ABSENT})
    elif fc.kind == "elements":
        out.update(removed=[json_value(v) for v in fc.removed], added=[json_value(v) for v in fc.added])
    else:
        out["lines"] = list(fc.lines)
    return out


def short(value: Any) -> str:
    """A value on one line, whole: strings quoted, maps as `{key: value}`; markers as text."""
    if value is UNKNOWN:
        return UNKNOWN_TEXT
    if value is SENSITIVE:
        return SENSITIVE_TEXT
    if value is ABSENT:
        return "(none)"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(short(v) for v in value) + "]"
    if isinstance(value, (Ref, Template)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def field_lines(fc: FieldChange, create: bool = False) -> list[tuple[str, str]]:
    """(sign, text) lines for one leaf: sign "~" an in-place value, "+"/"-" a value, list
    member or text line added/removed, " " context, "@" a hunk header, "" a heading."""
    if fc.kind == "value":
        if create or fc.before is ABSENT:
            return [("" if create else "+", f"{fc.path}: {short(fc.after)}")]
        if fc.after is ABSENT:
            return [("-", f"{fc.path}: {short(fc.before)}")]
        return [("~", f"{fc.path}: {short(fc.before)} → {short(fc.after)}")]
    if fc.kind == "elements":
        if create and not any(isinstance(v, (dict, list, tuple)) for v in fc.added):
            return [("", f"{fc.path}: {short(list(fc.added))}")]
        return [("", f"{fc.path}:"), *(("-", short(v)) for v in fc.removed), *(("+", short(v)) for v in fc.added)]
    return [("", f"{fc.path}:"), *((("@", line) if line.startswith("@@") else (line[:1] or " ", line[1:]))
                                   for line in fc.lines)]


LINE_STYLE = {"+": "create", "-": "delete", "~": "update", "@": "muted"}


def _escape_end(text: str) -> str:
    """`escape` for text that ends a line: rich doubles a trailing backslash (for a tag that
    might follow), which would then print twice (a shell line continuation in user_data)."""
    escaped = escape(text)
    return escaped[:-1] if text.endswith("\\") and len(escaped) > len(text) and escaped.endswith("\\\\") else escaped


def _human(sign: str, text: str) -> str:
    """One field line for the terminal: headings and values at the field's indent, list
    members and text lines below it with their sign."""
    if sign in ("", "~"):
        return f"      {_escape_end(text)}"
    if sign == "@":
        return f"          [muted]{escape(text)}[/]"
    style = LINE_STYLE.get(sign)
    mark = f"[{style}]{sign}[/]" if style else " "
    return f"        {mark} {_escape_end(text)}"


def summary_line(plan: Plan, destroy: bool = False) -> str:
    counts = plan.summary()
    if not plan.has_changes:
        return "No changes. The clouds match the plan file."
    verb = "Destroy" if destroy else "Plan"
    return (f"{verb}: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['replace']} to replace, {counts['delete']} to delete.")


def _reason(change: Change) -> str:
    """The headline's parenthesis: why a replace, or the notes on an update."""
    if change.action is Action.REPLACE:
        why = [f"{', '.join(change.replace_fields)} forces replacement"] if change.replace_fields else []
        if change.strategy_reason:
            why.append(f"destroyed first because {change.strategy_reason}")
        return f" ({'; '.join(why)})" if why else ""
    if change.deposed and not change.notes:
        return " (replaced earlier; waiting for deletion)"
    return f" ({'; '.join(change.notes)})" if change.notes else ""


def _change_lines(change: Change) -> Iterable[str]:
    symbol, style, verb = _style(change)
    reason = _reason(change)
    yield f"  [{style}]{symbol}[/] [address]{escape(change.key)}[/] [{style}]{verb}[/]{escape(reason)}"
    if change.action is Action.DELETE:
        if change.current is not None and change.current.id:
            yield f"      [muted]id: {escape(str(change.current.id))}[/]"
        return
    shown: set[str] = set()
    create = change.action is Action.CREATE
    for field, fc in change_fields(change):
        lines = field_lines(fc, create)
        if field in change.replace_fields and field not in shown:
            yield _human(*lines[0]) + "  [replace]# forces replacement[/]"
            lines = lines[1:]
        shown.add(field)
        yield from (_human(sign, text) for sign, text in lines)


def _resource_summary(plan: Plan, resource: str) -> list[str]:
    """What the drivers chose for a resource (instance type, price), from any of its changes."""
    seen: list[str] = []
    for change in plan.changes:
        if change.resource == resource:
            seen += [line for line in change.summary if line not in seen]
    return seen


def render_plan(plan: Plan, *, destroy: bool = False) -> list[str]:
    """Rich-markup lines for a plan, grouped by the resource each primitive implements."""
    plan = redacted_plan(plan)
    lines: list[str] = []
    changes = sorted(plan.actionable, key=lambda c: (c.resource, c.key))
    for resource, group in groupby(changes, key=lambda c: c.resource):
        group = list(group)
        first = group[0]
        lines.append(f"[bold]{escape(resource)}[/] [muted]({first.kind}, {first.cloud} {first.region})[/]")
        lines += [f"    [{'warning' if line.startswith('note:') else 'muted'}]{escape(line)}[/]"
                  for line in _resource_summary(plan, resource)]
        for change in group:
            lines.extend(_change_lines(change))
        lines.append("")
    lines.append(f"[bold]{escape(summary_line(plan, destroy))}[/]")
    return lines


# -- Markdown (a pull-request comment) ------------------------------------------------------------------
def render_markdown(plan: Plan, *, destroy: bool = False) -> str:
    """The plan for a pull-request comment: a table of counts, then per resource a collapsed
    `<details>` block holding its field-level diff in a ```diff fence."""
    plan = redacted_plan(plan)
    counts = plan.summary()
    out = [f"### lepton plan: stack `{plan.stack}`", "",
           "| create | update | replace | delete |", "|---:|---:|---:|---:|",
           f"| {counts['create']} | {counts['update']} | {counts['replace']} | {counts['delete']} |", "",
           f"**{summary_line(plan, destroy)}**", ""]
    changes = sorted(plan.actionable, key=lambda c: (c.resource, c.key))
    for resource, group in groupby(changes, key=lambda c: c.resource):
        group = list(group)
        first = group[0]
        verbs = ", ".join(f"{n} to {a}" for a, n in _count(group).items())
        out += [f"<details><summary><code>{html.escape(resource)}</code> ({html.escape(first.kind)}, "
                f"{html.escape(first.cloud)} {html.escape(first.region)}): {verbs}</summary>"]
        summary = _resource_summary(plan, resource)
        out += ["", *(f"- {html.escape(line)}" for line in summary)] if summary else []
        body = [line for change in group for line in _markdown_change(change)]
        fence = "`" * max(3, 1 + max(map(len, re.findall("`+", "\n".join(body))), default=0))
        out += ["", f"{fence}diff", *body, fence, "", "</details>", ""]
    return "\n".join(out)


def _count(group: list[Change]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in group:
        counts[change.action.value] = counts.get(change.action.value, 0) + 1
    return counts


def _markdown_change(change: Change) -> list[str]:
    """A change in diff syntax: +/- in the first column (GitHub colours them), the headline
    and headings as plain `#`/indented lines."""
    symbol, _, verb = _style(change)
    lines = [f"# {symbol} {change.key}: {verb}{_reason(change)}"]
    if change.action is Action.DELETE:
        return lines + [f"- id: {change.current.id}"] if change.current is not None and change.current.id else lines
    create = change.action is Action.CREATE
    for field, fc in change_fields(change):
        forced = "  # forces replacement" if field in change.replace_fields else ""
        for sign, text in field_lines(fc, create):
            if sign == "~":
                lines += [f"- {fc.path}: {short(fc.before)}", f"+ {fc.path}: {short(fc.after)}{forced}"]
            elif sign == "":
                lines.append(f"{'+' if create else ' '} {text}{forced}")
            elif sign == "@":
                lines.append(f"       {text}")
            else:
                lines.append(f"{sign if sign in '+-' else ' '}     {text}")
            forced = ""
    return lines

