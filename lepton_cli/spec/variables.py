"""The `variables:` block: declared before the template is rendered, since rendering needs them.

The block is read from the plan file's text as written: the top-level `variables:` key and the
indented lines under it, parsed on their own (with the file's line numbers) and validated by
the same model as the rest of the plan. So it must not use template syntax itself. With the
block present, every variable given with --var or --var-file must be declared (LEPTON_VAR_*
variables that are not declared are ignored, as the environment is shared), declared defaults
apply, and a declared variable without a default that is not given is an error naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from lepton_cli.errors import Diagnostic, Location, PlanFileError
from lepton_cli.spec.models import Stack, Variable
from lepton_cli.spec.parse import Positions, parse_yaml
from lepton_cli.spec.suggest import did_you_mean

_BLOCK_START = re.compile(r"variables[ \t]*:(?=[ \t\r\n]|$)")
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#")
ENV_PREFIX = "LEPTON_VAR_"

# A declared `type` -> whether a value is of it.
TYPE_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "map": lambda v: isinstance(v, dict),
}


def _block(text: str) -> tuple[int, str] | None:
    """(0-based line, text) of the top-level `variables:` block, if the file has one."""
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _BLOCK_START.match(line):
            end = i + 1
            while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
                end += 1
            return i, "".join(lines[i:end])
    return None


def declared_variables(text: str, filename: str) -> tuple[dict[str, Variable], Positions] | None:
    """The declared variables (None when the plan file has no `variables:` block)."""
    found = _block(text)
    if found is None:
        return None
    line, block = found
    syntax = _TEMPLATE_SYNTAX.search(block)
    if syntax:
        at = block[:syntax.start()].count("\n")
        raise PlanFileError(Diagnostic(
            summary="the variables block cannot use template syntax ({{ }}, {% %}, {# #})",
            location=Location(filename, line + at + 1, 1), path="variables",
            hint="it is read before the template is rendered: write its values literally"))
    data, positions = parse_yaml("\n" * line + block, filename)
    if data.get("variables") is None:
        return {}, positions
    try:
        stack = Stack.model_validate({"stack": "declared", "variables": data["variables"]})
    except ValidationError as exc:
        from lepton_cli.spec.validate import diagnostics_for

        raise PlanFileError(*diagnostics_for(exc, data, positions, filename)) from None
    return dict(stack.variables), positions


def resolve_variables(declared: Mapping[str, Variable], given: Mapping[str, Any], explicit: set[str],
                      positions: Positions, filename: str) -> dict[str, Any]:
    """The values the template sees: given ones (checked against their declaration), else
    defaults. Every problem is reported at once."""
    block = positions.get("variables") or Location(filename, 1, 1)
    problems = [Diagnostic(summary=f"variable {name!r} is given but not declared in the plan file's variables block",
                           location=block, path="variables",
                           hint=did_you_mean(name, declared) or f"declare it: variables: {{{name}: {{}}}}")
                for name in sorted(explicit - declared.keys())]
    values: dict[str, Any] = {}
    for name, declaration in declared.items():
        where = positions.get(f"variables.{name}", block)
        if name in given:
            value = _coerce(given[name], declaration.type)
            if declaration.type and not TYPE_CHECKS[declaration.type](value):
                problems.append(Diagnostic(
                    summary=f"variable {name!r} must be a {declaration.type}, not {_kind(value)}",
                    location=where, path=f"variables.{name}"))
                continue
        elif not declaration.required:
            value = declaration.default
        else:
            problems.append(Diagnostic(
                summary=f"variable {name!r} is declared without a default and not given", location=where,
                path=f"variables.{name}",
                hint=f"pass --var {name}=VALUE, put it in a --var-file, or set {ENV_PREFIX}{name}"))
            continue
        if declaration.sensitive and (isinstance(value, (bool, list, dict)) or value is None):
            problems.append(Diagnostic(
                summary=f"sensitive variable {name!r} must be a string or a number, not {_kind(value)}",
                location=where, path=f"variables.{name}"))
            continue
        values[name] = value
    if problems:
        raise PlanFileError(*problems)
    return values


def _coerce(value: Any, declared_type: str | None) -> Any:
    """A `--var` value is read as YAML (`3` is a number); a string variable takes it as text."""
    if declared_type == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if declared_type == "string" and isinstance(value, bool):
        return "true" if value else "false"
    return value


def _kind(value: Any) -> str:
    for name, check in TYPE_CHECKS.items():
        if check(value):
            return f"a {name}"
    return "null" if value is None else type(value).__name__


def sensitive_names(declared: Mapping[str, Variable] | None) -> frozenset[str]:
    return frozenset(n for n, v in (declared or {}).items() if v.sensitive)
