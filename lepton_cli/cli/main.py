"""The `lepton` command: the typer app, and the one place errors become messages and exit codes.

Every user error is a `LeptonError` rendered as diagnostics with exit code 1; a usage error
(unknown option or command, missing argument, bad value) is one `Error:` line, the usage and a
`Try '... --help'` line, also exit 1 (2 would read as "changes present" to a CI step running
`plan --detailed-exitcode`); anything else is a bug, reported in one line (the traceback only
with --debug). With `--json` anywhere on the command line every error is also one JSON document
on stdout. `--debug` and `--no-color` are accepted anywhere on the command line.

Only typer, rich and lepton's light modules are imported here: the commands import the API, the
engine and pydantic when they run, so `lepton --help` and `lepton --version` stay fast.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from typing import Any, Iterable, Optional

import typer

from lepton_cli.cli import init_cmd, interrupt, sandbox_cmds, stack_cmds, state_cmds
from lepton_cli.cli.interrupt import Interrupted
from lepton_cli.errors import AbandonedError, Diagnostic, LeptonError
from lepton_cli.ui.console import configure, diagnostic_json, json_written, output, write_json

app = typer.Typer(
    name="lepton",
    help="Provision portable cloud infrastructure on AWS, Google Cloud and Azure from one plan file.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (typer's own)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: typer's rich help imports rich.markdown (+0.04 s)
    context_settings={"help_option_names": ["-h", "--help"]},
)
stack_cmds.register(app)
init_cmd.register(app)
for group, name in ((state_cmds.app, "state"), (sandbox_cmds.app, "sandbox")):
    group.rich_markup_mode = None  # one help style everywhere (and no rich.markdown import)
    app.add_typer(group, name=name)

GLOBAL_FLAGS = ("--debug", "--no-color")
EXIT_ERROR = 1  # every error, usage errors included
EXIT_INTERRUPTED = 130  # Ctrl-C before anything was changed (128 + SIGINT, as shells report it)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("lepton-cli")
        except PackageNotFoundError:  # running from a source tree that was never installed
            number = "0+unknown"
        typer.echo(f"lepton {number}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and SDK detail on errors."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain output without colour (as NO_COLOR)."),
    version: Optional[bool] = typer.Option(None, "--version", callback=_version, is_eager=True,
                                           help="Print lepton's version and exit."),
) -> None:
    """Provision portable cloud infrastructure from one plan file."""


def _split_global_flags(argv: list[str]) -> tuple[list[str], dict[str, bool]]:
    flags = {flag: flag in argv for flag in GLOBAL_FLAGS}
    rest = [a for a in argv if a not in GLOBAL_FLAGS]
    return rest, flags


# typer <0.20 raises click's exceptions, later ones its vendored copy (`typer._click`), and
# `typer.Exit`/`typer.Abort` are their own classes since: recognise them by class name (the first
# match in the exception's class hierarchy wins), whichever click raised them.
CLICK_KINDS = {"NoArgsIsHelpError": "help", "Exit": "exit", "Abort": "abort", "ClickException": "usage"}


def _click_kind(exc: BaseException) -> str | None:
    for cls in type(exc).__mro__:
        if cls.__name__ in CLICK_KINDS and cls.__module__.split(".")[0] in ("click", "typer"):
            return CLICK_KINDS[cls.__name__]
    return None


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for JSON output (`--json` or `--format json`)."""
    pairs = zip(args, args[1:])
    return "--json" in args or "--format=json" in args or ("--format", "json") in pairs


def main(argv: list[str] | None = None) -> None:
    with interrupt.installed():
        _main(list(sys.argv[1:] if argv is None else argv))


def _main(argv: list[str]) -> None:
    args, flags = _split_global_flags(argv)
    out = configure(no_color=flags["--no-color"], debug=flags["--debug"])
    as_json = _wants_json(args)
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(args=args, prog_name="lepton", standalone_mode=False)
    except AbandonedError as exc:
        _report(exc.diagnostics, as_json)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_ERROR)  # do not wait for worker threads still blocked on cloud calls
    except LeptonError as exc:
        _report(exc.diagnostics, as_json)
        if out.debug:
            out.err.print_exception()
        sys.exit(EXIT_ERROR)
    except (Interrupted, KeyboardInterrupt) as exc:  # Ctrl-C outside an apply's operations
        _report([Diagnostic(summary=str(exc) or "stopped by Ctrl-C")], as_json, label="Interrupted:")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)  # do not wait for refresh threads still reading a cloud
    except Exception as exc:
        kind = _click_kind(exc)
        if kind == "exit":
            sys.exit(getattr(exc, "exit_code", 0))
        if kind == "help":  # bare `lepton` (or `lepton state`): the help is what was asked for
            out.out.print(exc.format_message(), markup=False, highlight=False, end="")
            sys.exit(0)
        if kind == "abort":
            _report([Diagnostic(summary="aborted: nothing was changed")], as_json)
            sys.exit(EXIT_ERROR)
        if kind == "usage":
            _usage_error(exc, args, as_json)
            sys.exit(EXIT_ERROR)
        # A bug in lepton: say so plainly, never a raw traceback.
        if out.debug:
            out.err.print_exception()
        _report([Diagnostic(summary=f"{type(exc).__name__}: {exc}",
                            hint="Run again with --debug for the traceback, and please report it.")],
                as_json, label="Internal error:")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: Any, args: list[str], as_json: bool) -> None:
    """click's usage error, said the way click says it (Error, usage, Try line), in lepton's colours."""
    from rich.markup import escape

    ctx = getattr(exc, "ctx", None)
    usage = ctx.get_usage() if ctx is not None else ""
    try_line = f"Try '{ctx.command_path if ctx is not None else _command_path(args)} --help' for help."
    if as_json:
        write_json({"error": {"diagnostics": [diagnostic_json(Diagnostic(summary=exc.format_message(),
                                                                          detail=usage, hint=try_line))]}})
    err = output().err
    err.print(f"[error]Error:[/] {escape(exc.format_message())}")
    if usage:
        err.print(escape(usage), style="muted")
    err.print(f"[hint]{escape(try_line)}[/]")


def _command_path(args: list[str]) -> str:
    """The command a usage error without click's context is about (`--file` without its value)."""
    command, path = typer.main.get_command(app), ["lepton"]
    for arg in args:
        subcommands = getattr(command, "commands", {})
        if arg in subcommands:
            command = subcommands[arg]
            path.append(arg)
        elif not arg.startswith("-"):
            break
    return " ".join(path)


def _report(diagnostics: Iterable[Diagnostic], as_json: bool, label: str = "Error:") -> None:
    """Diagnostics on stderr, and with --json as the one JSON document on stdout (unless the
    command already printed its document)."""
    diagnostics = tidy(diagnostics)
    if as_json and not json_written():
        write_json({"error": {"diagnostics": [diagnostic_json(d) for d in diagnostics]}})
    for diagnostic in diagnostics:
        _print_diagnostic(diagnostic, label)


def tidy(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Hints written as text become hints: a summary's indented second line, or a bare indented
    "diagnostic" following another (`LeptonError("what", "  how to fix")`) is the remedy of the
    one before, not a second error."""
    result: list[Diagnostic] = []
    for d in diagnostics:
        summary, _, rest = d.summary.partition("\n")
        if rest.strip():
            d = replace(d, summary=summary, hint=_join(rest.strip(), d.hint))
        bare = not (d.detail or d.location or d.path or d.address or d.hint)
        if result and bare and d.summary[:1].isspace():
            result[-1] = replace(result[-1], hint=_join(result[-1].hint, d.summary.strip()))
            continue
        result.append(d)
    return result


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _print_diagnostic(diagnostic: Diagnostic, label: str = "Error:") -> None:
    from rich.markup import escape

    err = output().err
    head = f"{diagnostic.location}: " if diagnostic.location else ""
    where = f" [muted]({escape(diagnostic.path)})[/]" if diagnostic.path else ""
    addr = f" [address]{escape(diagnostic.address)}[/]" if diagnostic.address else ""
    err.print(f"[error]{label}[/] {escape(head)}{escape(diagnostic.summary)}{where}{addr}")
    if diagnostic.detail:
        err.print(f"  {escape(diagnostic.detail)}")
    for line in diagnostic.hint.splitlines():
        err.print(f"  [hint]{escape(line.strip())}[/]")


if __name__ == "__main__":
    main()
