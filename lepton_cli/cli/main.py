"""The `lepton` command: the typer app, and the one place errors become messages and exit codes.

Every user error is a `LeptonError` rendered as diagnostics with exit code 1; anything else is
a bug, reported in one line (the traceback only with --debug). `--debug` and `--no-color` are
accepted anywhere on the command line.
"""

from __future__ import annotations

import os
import sys

import click
import typer

from lepton_cli.cli import sandbox_cmds, stack_cmds, state_cmds
from lepton_cli.errors import AbandonedError, LeptonError
from lepton_cli.ui.console import configure, output

app = typer.Typer(
    name="lepton",
    help="Provision portable cloud infrastructure on AWS, Google Cloud and Azure from one plan file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
stack_cmds.register(app)
app.add_typer(state_cmds.app, name="state")
app.add_typer(sandbox_cmds.app, name="sandbox")

GLOBAL_FLAGS = ("--debug", "--no-color")


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and SDK detail on errors."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output without colour (as NO_COLOR)."),
) -> None:
    """Provision portable cloud infrastructure from one plan file."""


def _split_global_flags(argv: list[str]) -> tuple[list[str], dict[str, bool]]:
    flags = {flag: flag in argv for flag in GLOBAL_FLAGS}
    rest = [a for a in argv if a not in GLOBAL_FLAGS]
    return rest, flags


def main(argv: list[str] | None = None) -> None:
    args, flags = _split_global_flags(list(sys.argv[1:] if argv is None else argv))
    out = configure(no_color=flags["--no-color"], debug=flags["--debug"])
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(args=args, prog_name="lepton", standalone_mode=False)
    except AbandonedError as exc:
        for diagnostic in exc.diagnostics:
            _print_diagnostic(diagnostic)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # do not wait for worker threads still blocked on cloud calls
    except LeptonError as exc:
        for diagnostic in exc.diagnostics:
            _print_diagnostic(diagnostic)
        if out.debug:
            out.err.print_exception()
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        out.err.print(f"[error]Error:[/] {exc.format_message()}", markup=True)
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            out.err.print(f"[hint]Try '{ctx.command_path} --help' for help.[/]")
        sys.exit(1)
    except click.exceptions.Abort:
        out.err.print("[error]Aborted.[/]")
        sys.exit(1)
    except KeyboardInterrupt:
        out.err.print("[error]Interrupted.[/]")
        sys.exit(1)
    except Exception as exc:  # a bug in lepton: say so plainly, never a raw traceback
        if out.debug:
            out.err.print_exception()
        else:
            out.err.print(f"[error]Internal error:[/] {type(exc).__name__}: {exc}", markup=False)
            out.err.print("[hint]Run again with --debug for the traceback, and please report it.[/]")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _print_diagnostic(diagnostic) -> None:
    from rich.markup import escape

    err = output().err
    head = f"{diagnostic.location}: " if diagnostic.location else ""
    where = f" [muted]({escape(diagnostic.path)})[/]" if diagnostic.path else ""
    addr = f" [address]{escape(diagnostic.address)}[/]" if diagnostic.address else ""
    err.print(f"[error]Error:[/] {escape(head)}{escape(diagnostic.summary)}{where}{addr}")
    if diagnostic.detail:
        err.print(f"  {escape(diagnostic.detail)}")
    if diagnostic.hint:
        err.print(f"  [hint]{escape(diagnostic.hint)}[/]")


if __name__ == "__main__":
    main()
