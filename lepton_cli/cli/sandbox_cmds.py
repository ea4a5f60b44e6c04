"""`lepton sandbox start|status|stop`: the local emulated clouds (DESIGN §8)."""

from __future__ import annotations

import typer
from rich.markup import escape

from lepton_cli.cli.options import Json
from lepton_cli.ui.console import output, write_json

app = typer.Typer(help="Run local emulated clouds to try plans without an account.", no_args_is_help=True)


def _print_status(status, json: bool) -> None:
    if json:
        write_json(status.to_json())
        return
    out = output().out
    if not status.running:
        out.print("The sandbox is not running. `lepton sandbox start` starts it.")
        return
    out.print(f"The sandbox is running[muted] (pid {status.pid})[/]:")
    for service, url in sorted(status.endpoints.items()):
        out.print(f"  {escape(service)}: {escape(url)}")
    for service, why in sorted(status.unavailable.items()):
        out.print(f"  {escape(service)}: unavailable: {escape(why)}")


@app.command()
def start(json: Json = False) -> None:
    """Start the emulators in the background (does nothing if they are running)."""
    from lepton_cli.sandbox.manager import start as start_sandbox

    status, started = start_sandbox()
    if not json:
        output().err.print("Started the sandbox." if started else "The sandbox was already running.")
    _print_status(status, json)


@app.command()
def status(json: Json = False) -> None:
    """Say whether the emulators run, and where."""
    from lepton_cli.sandbox.manager import status as sandbox_status

    _print_status(sandbox_status(), json)


@app.command()
def stop(json: Json = False) -> None:
    """Stop the emulators that `lepton sandbox start` started (their contents are lost)."""
    from lepton_cli.sandbox.manager import stop as stop_sandbox

    stopped = stop_sandbox()
    if json:
        write_json({"stopped": stopped})
    else:
        output().out.print("Stopped the sandbox." if stopped else "The sandbox was not running.")
