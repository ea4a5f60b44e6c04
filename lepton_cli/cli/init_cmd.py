"""`lepton init [TEMPLATE]`: write a starter plan file from the templates shipped with lepton.

The templates live in the repository's `templates/`, packaged as `lepton_cli/templates` (a
link in the source tree, real files in the wheel). A template's first comment line is its
description in `lepton init --list`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from lepton_cli.cli.lazy import DEFAULT_PLAN_FILE
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.ui.console import output, write_json

DEFAULT_TEMPLATE = "starter"
STACK_LINE = re.compile(r"^stack:[^\n#]*", re.MULTILINE)
STACK_NAME = re.compile(r"[a-z][a-z0-9-]{0,29}")


def register(app: typer.Typer) -> None:
    app.command(name="init")(init)


def templates() -> dict[str, str]:
    """Every shipped template: name -> its text."""
    from importlib.resources import files

    folder = files("lepton_cli") / "templates"
    return {entry.name[:-len(".yaml")]: entry.read_text(encoding="utf-8")
            for entry in sorted(folder.iterdir(), key=lambda e: e.name) if entry.name.endswith(".yaml")}


def describe(text: str) -> str:
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return first.lstrip("#").strip() if first.startswith("#") else ""


def init(template: Annotated[str, typer.Argument(help="The template to start from (`lepton init --list` names them).")] = DEFAULT_TEMPLATE,
         file: Annotated[str, typer.Option("-f", "--file", help="The plan file to write.")] = DEFAULT_PLAN_FILE,
         stack: Annotated[Optional[str], typer.Option("--stack", help="The stack's name (default: the template's).")] = None,
         force: Annotated[bool, typer.Option("--force", help="Overwrite the plan file if it exists.")] = False,
         list_: Annotated[bool, typer.Option("--list", help="List the templates and exit.")] = False,
         json: Annotated[bool, typer.Option("--json", help="With --list: print one JSON document on stdout.")] = False) -> None:
    """Write a starter plan file (./lepton.yaml) from a template."""
    shipped = templates()
    if list_:
        if json:
            write_json({"templates": [{"name": n, "description": describe(t)} for n, t in shipped.items()]})
            return
        width = max(map(len, shipped), default=0)
        for name, text in shipped.items():
            output().out.print(f"{escape(name.ljust(width))}  [muted]{escape(describe(text))}[/]")
        return
    if template not in shipped:
        from lepton_cli.spec.suggest import did_you_mean

        raise LeptonError(Diagnostic(
            summary=f"no template named {template!r} (templates: {', '.join(shipped)})",
            hint=did_you_mean(template, shipped) or "`lepton init --list` describes them"))
    text = shipped[template]
    if stack is not None:
        if not STACK_NAME.fullmatch(stack):
            raise LeptonError(Diagnostic(
                summary=f"{stack!r} is not a valid stack name",
                hint="lowercase letters, digits and '-', starting with a letter, at most 30 characters"))
        text = STACK_LINE.sub(f"stack: {stack}", text, count=1)
    path = Path(file)
    if path.exists() and not force:
        raise LeptonError(Diagnostic(summary=f"{file} already exists; nothing was written",
                                     hint="`lepton init --force` overwrites it"))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LeptonError(f"cannot write {file}: {exc.strerror or exc}") from None
    if json:
        write_json({"file": str(path), "template": template})
        return
    run = "" if file == DEFAULT_PLAN_FILE else f" -f {file}"
    output().out.print(f"[create]✓[/] Wrote {escape(str(path))} from the [bold]{escape(template)}[/] template. "
                       f"Next: `lepton validate{escape(run)}`, then `lepton plan{escape(run)} --sandbox`.")
