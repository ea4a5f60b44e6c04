"""Rendering a plan file: Jinja2 in the sandboxed environment, then variables.

The plan file is a template whose only context is `var`. It is rendered with `StrictUndefined`
so a missing variable is an error (naming it and its line) unless the template gives a
`default`. `${name.attr}` is not Jinja syntax and passes through untouched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from lepton_cli.errors import Diagnostic, Location, PlanFileError
from lepton_cli.spec.parse import load_core

ENV_PREFIX = "LEPTON_VAR_"


def _environment() -> SandboxedEnvironment:
    from lepton_cli.spec.budget import BudgetedEnvironment  # the sandbox plus time and size limits

    return BudgetedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def _template_line(exc: BaseException, filename: str) -> int | None:
    """The plan file line a Jinja runtime error happened on (Jinja rewrites tracebacks so the
    template's frames carry the template's line; `from_string` names them "<template>")."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(text: str, variables: Mapping[str, Any], filename: str) -> str:
    """Render the plan file template; every failure is a `PlanFileError` with its line."""
    env = _environment()
    try:
        template = env.from_string(text)
    except TemplateSyntaxError as exc:
        raise PlanFileError(Diagnostic(
            summary=f"template syntax error: {exc.message}",
            location=Location(filename, exc.lineno or 1, 1),
            hint=getattr(exc, "hint", "the plan file is a Jinja2 template: check {{ }} and {% %} pairs"),
        )) from None
    try:
        from lepton_cli.spec.budget import render_budgeted

        return render_budgeted(env, template, var=dict(variables))
    except UndefinedError as exc:
        line = _template_line(exc, filename) or 1
        name = _missing_name(str(exc.message or exc))
        summary = (f"variable {name!r} is not set" if name else f"undefined value: {exc.message}")
        raise PlanFileError(Diagnostic(
            summary=summary, location=Location(filename, line, 1),
            hint=(f"pass --var {name}=VALUE, put it in a --var-file, set {ENV_PREFIX}{name}, "
                  f"or give a default: {{{{ var.{name} | default(...) }}}}") if name else "",
        )) from None
    except SecurityError as exc:
        raise PlanFileError(Diagnostic(
            summary=f"the template did something the sandbox forbids: {exc}",
            location=Location(filename, _template_line(exc, filename) or 1, 1),
        )) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError,
            RecursionError, OverflowError, MemoryError) as exc:
        raise PlanFileError(Diagnostic(
            summary=f"template error: {exc}",
            location=Location(filename, _template_line(exc, filename) or 1, 1),
        )) from None


def _missing_name(message: str) -> str | None:
    # "'dict object' has no attribute 'web_count'" / "'web_count' is undefined"
    if "has no attribute" in message:
        return message.rsplit("'", 2)[-2]
    if message.endswith("is undefined") and message.startswith("'"):
        return message.split("'")[1]
    return None


# -- variables ---------------------------------------------------------------------------------------
def parse_var_assignment(text: str) -> tuple[str, Any]:
    """`k=v` from `--var`, with v read as a YAML scalar (`3` is an int, `true` a bool)."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise PlanFileError(Diagnostic(
            summary=f"--var {text!r} is not NAME=VALUE",
            hint="e.g. --var web_count=3 (NAME is letters, digits and _)",
        ))
    return name, _scalar(raw)


def _scalar(raw: str) -> Any:
    try:
        value = load_core(raw) if raw.strip() else raw
    except (yaml.YAMLError, PlanFileError, ValueError, RecursionError):
        return raw
    return value if isinstance(value, (str, int, float, bool)) or value is None else raw


def collect_vars(cli_vars: Sequence[str] = (), var_files: Sequence[str | Path] = (),
                 env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Variables by precedence: LEPTON_VAR_* < --var-file (in order) < --var."""
    env = os.environ if env is None else env
    variables: dict[str, Any] = {
        key[len(ENV_PREFIX):]: _scalar(value) for key, value in env.items()
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX):]
    }
    for path in var_files:
        variables.update(_read_var_file(Path(path)))
    for assignment in cli_vars:
        name, value = parse_var_assignment(assignment)
        variables[name] = value
    return variables


def _read_var_file(path: Path) -> dict[str, Any]:
    try:
        data = load_core(path.read_text(), str(path))
    except OSError as exc:
        raise PlanFileError(Diagnostic(summary=f"cannot read variable file {path}: {exc.strerror}")) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        location = Location(str(path), mark.line + 1, mark.column + 1) if mark else None
        raise PlanFileError(Diagnostic(summary=f"variable file is not valid YAML: {getattr(exc, 'problem', exc)}",
                                       location=location)) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise PlanFileError(Diagnostic(summary=f"variable file {path} must be a mapping of NAME: VALUE"))
    return data
