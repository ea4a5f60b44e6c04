"""Options shared by every command that reads a stack (DESIGN §7), declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

PlanFile = Annotated[str, typer.Option("-f", "--file", help="The plan file.", show_default=True)]
Vars = Annotated[Optional[list[str]], typer.Option(
    "--var", help="Set a variable: NAME=VALUE (VALUE is read as YAML: 3 is a number). Repeatable.")]
VarFiles = Annotated[Optional[list[str]], typer.Option(
    "--var-file", help="Read variables from a YAML file. Repeatable.")]
Sandbox = Annotated[bool, typer.Option(
    "--sandbox", help="Target the local emulated clouds (starts them if needed). Also LEPTON_SANDBOX=1.")]
StateDir = Annotated[Optional[str], typer.Option(
    "--state-dir", help="Directory for state files (default .lepton/ beside the plan file; also LEPTON_STATE_DIR).")]
StackName = Annotated[Optional[str], typer.Option(
    "--stack", metavar="NAME", help="Read this stack's state without the plan file: NAME.state.json in --state-dir "
    "(default .lepton/ in the current directory). With the plan file present and declaring NAME, nothing changes.")]
Targets = Annotated[Optional[list[str]], typer.Option(
    "--target", help="Limit to this resource and what it depends on. Repeatable.")]
Parallelism = Annotated[int, typer.Option(
    "--parallelism", min=1, max=256, help="Operations to run at once.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
