"""Commands that read a stack: validate, plan, apply, destroy, output, show, graph, schema.

Presentation only: every decision is made by `lepton_cli.api` and the engine.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Annotated, Any, Iterator, Optional

import typer
from rich.markup import escape

from lepton_cli.cli.lazy import api, lazy_function  # imported on first use: `lepton --help` stays fast
from lepton_cli.cli.options import Json, Parallelism, PlanFile, Sandbox, StackName, StateDir, Targets, Vars, VarFiles, Yes
from lepton_cli.cli.interrupt import Interrupted
from lepton_cli.errors import AbandonedError, Diagnostic, LeptonError
from lepton_cli.ui.console import diagnostic_json, output, write_json
json_value = lazy_function("lepton_cli.ui.plan_view", "json_value")
plan_document = lazy_function("lepton_cli.ui.plan_view", "plan_document")
render_plan = lazy_function("lepton_cli.ui.plan_view", "render_plan")
render_markdown = lazy_function("lepton_cli.ui.plan_view", "render_markdown")
from lepton_cli.ui.plan_format import PlanFormat  # noqa: E402


def register(app: typer.Typer) -> None:
    for command in (validate, plan, apply, destroy, output_cmd, show, graph, schema):
        name = getattr(command, "command_name", command.__name__)
        app.command(name=name)(command)


def _workspace(file: str, var: list[str] | None, var_file: list[str] | None, sandbox: bool,
               state_dir: str | None, reach_clouds: bool = True) -> api.Workspace:
    ws = api.open_workspace(file, cli_vars=var or (), var_files=var_file or (), sandbox=sandbox,
                            state_dir=state_dir, reach_clouds=reach_clouds)
    _notices(ws)
    return ws


def _notices(ws: api.Workspace) -> None:
    if ws.sandbox_started:
        endpoints = ", ".join(f"{k} {v}" for k, v in sorted(ws.endpoints.items()))
        output().err.print(f"[hint]Started the lepton sandbox in the background ({escape(endpoints)}); "
                           f"`lepton sandbox stop` ends it.[/]")


@contextmanager
def _locked(ws: api.Workspace, command: str) -> Iterator[None]:
    """Hold the stack's lock, and say so if it had to take over a stale one."""
    with ws.locked(command):
        for notice in getattr(ws.store, "notices", ()):
            output().err.print(f"[warning]{escape(notice)}[/]")
        yield


def _print_lines(lines: list[str]) -> None:
    out = output().out
    for line in lines:
        out.print(line)


# -- validate ---------------------------------------------------------------------------------------
def validate(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
             json: Json = False) -> None:
    """Check a plan file without calling any cloud."""
    from lepton_cli.spec.loader import load_plan

    try:  # every problem at once, the clouds' checks included, each with its location
        loaded = load_plan(file, cli_vars=var or (), var_files=var_file or (), drivers=True)
    except LeptonError as exc:
        if json:
            diagnostics = [_diagnostic_json(d) for d in exc.diagnostics]
            write_json({"valid": False, "diagnostics": diagnostics, "error": {"diagnostics": diagnostics}})
            raise typer.Exit(1)
        raise
    if json:
        write_json({"valid": True, "stack": loaded.stack.stack,
                    "resources": sorted(loaded.stack.resources), "diagnostics": []})
        return
    count = len(loaded.stack.resources)
    output().out.print(f"[create]✓[/] {escape(str(file))} is valid: stack "
                       f"[bold]{escape(loaded.stack.stack)}[/], {count} resource{'s' * (count != 1)}.")


_diagnostic_json = diagnostic_json  # one shape for every command's errors (ui.console)


# -- plan ----------------------------------------------------------------------------------------------
def plan(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
         sandbox: Sandbox = False, state_dir: StateDir = None, target: Targets = None,
         parallelism: Parallelism = 10, json: Json = False,
         out: Annotated[Optional[str], typer.Option("-o", "--out", help="Save the change set to this file, to apply exactly with `lepton apply CHANGES`.")] = None,
         detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="Exit 0 when there are no changes, 2 when there are.")] = False,
         destroy_: Annotated[bool, typer.Option("--destroy", help="Plan the deletion of everything the stack owns.")] = False,
         format_: Annotated[PlanFormat, typer.Option("--format", help="human, json (same as --json) or markdown (for a pull-request comment).")] = PlanFormat.HUMAN) -> None:
    """Show what apply would change, without changing anything."""
    from lepton_cli.engine.changeset import save_changeset

    json = json or format_ is PlanFormat.JSON

    ws = _workspace(file, var, var_file, sandbox, state_dir)
    the_plan = _refresh(ws, targets=target or (), destroy=destroy_, parallelism=parallelism)
    if json:
        write_json(plan_document(the_plan))
    elif format_ is PlanFormat.MARKDOWN:
        sys.stdout.write(render_markdown(the_plan, destroy=destroy_) + "\n")
    else:
        _print_lines(render_plan(the_plan, destroy=destroy_))
    if out:
        save_changeset(the_plan, _path(out))
        if not json and format_ is PlanFormat.HUMAN:
            output().out.print(f"Saved the change set to {escape(out)}; "
                               f"apply exactly these changes with `lepton apply {escape(out)}`.")
    if detailed_exitcode and the_plan.has_changes:
        raise typer.Exit(2)


def _path(text: str):
    from pathlib import Path

    return Path(text)


# -- apply / destroy --------------------------------------------------------------------------------
def apply(changes: Annotated[Optional[str], typer.Argument(help="A change set saved by `lepton plan -o`; applied exactly.", show_default=False)] = None,
          file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
          sandbox: Sandbox = False, state_dir: StateDir = None, target: Targets = None,
          parallelism: Parallelism = 10, yes: Yes = False, json: Json = False) -> None:
    """Make the clouds match the plan file (or apply a saved change set exactly)."""
    if changes:
        ws, the_plan = api.open_changeset(changes, cli_vars=var or (), var_files=var_file or ())
        _notices(ws)
        with _locked(ws, "apply " + changes):
            api.check_changeset(ws, the_plan)
            _execute(ws, the_plan, parallelism=parallelism, json=json, verb="Apply")
        return
    ws = _workspace(file, var, var_file, sandbox, state_dir)
    with _locked(ws, "apply"):
        the_plan = _refresh(ws, targets=target or (), parallelism=parallelism)
        if not json:
            _print_lines(render_plan(the_plan))
        if the_plan.has_changes and not yes:
            _confirm(f"Apply these changes to stack {ws.stack_name}?", "apply")
        _execute(ws, the_plan, parallelism=parallelism, json=json, verb="Apply")


def destroy(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
            sandbox: Sandbox = False, state_dir: StateDir = None, target: Targets = None,
            parallelism: Parallelism = 10, yes: Yes = False, json: Json = False, stack: StackName = None) -> None:
    """Delete everything the stack owns, in reverse dependency order (from its state alone with --stack)."""
    from lepton_cli.cli.state_cmds import open_state

    ws = open_state(file, var, var_file, sandbox, state_dir, stack, reach_clouds=True, lenient=False)
    _notices(ws)
    if ws.from_state and not ws.notices:
        output().err.print(f"Destroying stack {escape(ws.stack_name)} from its state alone: everything state records, "
                           f"and whatever carries the stack's marker in the regions state names.")
    with _locked(ws, "destroy"):
        the_plan = _refresh(ws, targets=target or (), destroy=True, parallelism=parallelism)
        if not json:
            _print_lines(render_plan(the_plan, destroy=True))
        if the_plan.has_changes and not yes:
            count = len(the_plan.actionable)
            _confirm(f"Destroy {count} object{'s' * (count != 1)} of stack {ws.stack_name}? "
                     f"This cannot be undone.", "destroy")
        _execute(ws, the_plan, parallelism=parallelism, json=json, verb="Destroy")


def _confirm(question: str, command: str) -> None:
    if not sys.stdin or not sys.stdin.isatty():
        raise LeptonError(Diagnostic(
            summary=f"{command} needs confirmation, and there is no terminal to ask on",
            hint=f"run `lepton {command} --yes` to proceed without asking (as in CI)",
        ))
    output().err.print(f"[bold]{escape(question)}[/] Only 'yes' will be accepted.")
    answer = typer.prompt("Enter a value", default="", show_default=False, err=True)
    if answer.strip() != "yes":
        raise LeptonError(f"{command} cancelled: nothing was changed")


@contextmanager
def _interruptible() -> Iterator[threading.Event]:
    """First Ctrl-C: stop gracefully (no new operations; running ones finish; state saved).
    Second: stop waiting."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        output().err.print("[warning]Stopping: no new operations will start; waiting for running ones "
                           "to finish and saving state. Press Ctrl-C again to stop waiting.[/]")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _refresh(ws: api.Workspace, **options):
    """The plan (refresh and diff); a Ctrl-C here changed nothing, and says so."""
    try:
        return ws.plan(**options)
    except Interrupted:
        raise Interrupted("stopped while reading the stack's objects from the clouds; "
                          "nothing was changed") from None


def _execute(ws: api.Workspace, the_plan, *, parallelism: int, json: bool, verb: str) -> None:
    from lepton_cli.ui.progress import ApplyProgress

    out = output()
    total = sum(2 if c.action.value == "replace" else 1 for c in the_plan.actionable)
    try:
        with _interruptible() as stop, ApplyProgress(out, total, verb) as progress:
            result = ws.apply(the_plan, parallelism=parallelism, on_event=progress, stop=stop)
    except KeyboardInterrupt:
        raise AbandonedError(Diagnostic(
            summary="stopped waiting: operations already sent to the cloud may still complete",
            detail="State records everything that had finished; an object created after this is "
                   "found by its tags and adopted by the next run, never duplicated.",
            hint="run `lepton plan` to see where things stand",
        )) from None
    if json:
        write_json(_result_document(the_plan, result))
    else:
        _print_result(the_plan, result, verb, progress.skipped)
    if not result.ok:
        raise typer.Exit(1)


def _result_document(the_plan, result) -> dict[str, Any]:
    document = plan_document(the_plan)
    document.update({
        "ok": result.ok,
        "interrupted": result.interrupted,
        "completed": result.completed,
        "failed": result.failed,
        "skipped": result.skipped,
        "outputs": json_value(result.outputs),
    })
    return document


SHOW_SKIPPED = 5  # skipped operations named in the human report (--json lists them all)


def _print_result(the_plan, result, verb: str, reasons: dict[str, str] | None = None) -> None:
    out = output()
    if result.ok:
        counts = the_plan.summary()
        if the_plan.has_changes:
            out.out.print(f"[create]{verb} complete:[/] {counts['create']} created, {counts['update']} updated, "
                          f"{counts['replace']} replaced, {counts['delete']} deleted.")
    else:
        why = "interrupted" if result.interrupted else "failed"
        out.err.print(f"[error]{verb} {why}:[/] {len(result.completed)} completed, {len(result.failed)} failed, "
                      f"{len(result.skipped)} not started.")
        for address, message in sorted(result.failed.items()):
            out.err.print(f"  [address]{escape(address)}[/]: [error]failed[/] — {escape(message)}")
        for address in result.skipped[:SHOW_SKIPPED]:
            reason = (reasons or {}).get(address, "")
            out.err.print(f"  [address]{escape(address)}[/]: not started"
                          + (f" [muted]({escape(reason)})[/]" if reason else ""))
        if len(result.skipped) > SHOW_SKIPPED:
            out.err.print(f"  … and {len(result.skipped) - SHOW_SKIPPED} more not started "
                          f"[muted](`--json` lists them all)[/]")
        command = f"lepton {verb.lower()}"
        if result.interrupted and not result.failed:
            out.err.print(f"  [hint]Stopped by Ctrl-C. State records everything that completed; run "
                          f"`{command}` again to continue from here.[/]")
        else:
            out.err.print(f"  [hint]State records everything that completed. Fix the cause and run "
                          f"`{command}` again to continue from here.[/]")
    _print_outputs(result.outputs)


def _print_outputs(outputs: dict[str, Any]) -> None:
    if not outputs:
        return
    out = output().out
    out.print("\n[bold]Outputs:[/]")
    for name, value in outputs.items():
        out.print(f"  {escape(name)} = {escape(_scalar(value))}")


def _scalar(value: Any) -> str:
    import json as _json

    return value if isinstance(value, str) else _json.dumps(json_value(value))


# -- output / show / graph / schema -----------------------------------------------------------------
def output_cmd(name: Annotated[Optional[str], typer.Argument(help="One output's name; its raw value is printed.")] = None,
               file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
               sandbox: Sandbox = False, state_dir: StateDir = None, json: Json = False,
               stack: StackName = None) -> None:
    """Print the stack's outputs, as recorded by the last apply (needs only state; see --stack)."""
    from lepton_cli.cli.state_cmds import open_state

    ws = open_state(file, var, var_file, sandbox, state_dir, stack)
    state = ws.read_state()
    outputs = dict(state.outputs) if state else {}
    if name is not None:
        if name not in outputs:
            from lepton_cli.spec.suggest import did_you_mean

            known = ", ".join(sorted(outputs)) or "none: run `lepton apply` first"
            raise LeptonError(f"no output named {name!r} (outputs: {known})"
                              + (f"\n  {did_you_mean(name, outputs)}" if did_you_mean(name, outputs) else ""))
        value = ws.output_value(state, name)  # a sensitive one only with its variables, as applied
        if json:
            write_json(value)
        else:
            output().out.print(_scalar(value), markup=False)
        return
    if json:
        write_json(outputs)
    elif outputs:
        for key, value in outputs.items():
            output().out.print(f"{key} = {_scalar(value)}", markup=False)
    else:
        output().err.print("No outputs recorded: the stack has none, or it was never applied.")


output_cmd.command_name = "output"


def show(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
         sandbox: Sandbox = False, state_dir: StateDir = None, json: Json = False,
         stack: StackName = None) -> None:
    """Show what the stack owns, as recorded in state (needs only state; see --stack)."""
    from lepton_cli.cli.state_cmds import open_state

    ws = open_state(file, var, var_file, sandbox, state_dir, stack)
    state = ws.read_state()
    if json:
        write_json(state.to_dict() if state else None)
        return
    out = output().out
    if state is None or not (state.primitives or state.deposed):
        out.print(f"Stack [bold]{escape(ws.stack_name)}[/] owns nothing yet (no state). Run `lepton apply`.")
        return
    out.print(f"Stack [bold]{escape(ws.stack_name)}[/] [muted](serial {state.serial}, lineage {state.lineage})[/]")
    by_resource: dict[str, list[tuple[str, Any]]] = {}
    for address, record in sorted(state.primitives.items()):
        by_resource.setdefault(record.resource, []).append((address, record))
    for address, records in sorted(state.deposed.items()):
        for record in records:
            by_resource.setdefault(record.resource, []).append((f"{address} (deposed, waiting for deletion)", record))
    for resource, items in by_resource.items():
        kind = items[0][1].kind
        out.print(f"\n[bold]{escape(resource)}[/] [muted]({kind})[/]")
        for address, record in items:
            out.print(f"  [address]{escape(address)}[/]  {escape(str(record.id))} "
                      f"[muted]{escape(record.cloud)} {escape(record.region)}[/]")
    _print_outputs(state.outputs)


def graph(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None) -> None:
    """Print the resources' dependency graph in Graphviz DOT format."""
    from lepton_cli.spec.loader import load_plan

    loaded = load_plan(file, cli_vars=var or (), var_files=var_file or ())
    lines = [f'digraph "{loaded.stack.stack}" {{', "  rankdir=LR;"]
    for name in sorted(loaded.stack.resources):
        resource = loaded.stack.resources[name]
        label = f"{name}\\n{resource.kind} · {loaded.stack.cloud_of(name)} {loaded.stack.region_of(name)}"
        lines.append(f'  "{name}" [label="{label}", shape=box];')
    for name in sorted(loaded.graph):
        for dependency in sorted(loaded.graph[name]):
            lines.append(f'  "{name}" -> "{dependency}";')
    lines.append("}")
    output().out.print("\n".join(lines), markup=False)


def schema() -> None:
    """Print the plan file's JSON Schema (for editors)."""
    from lepton_cli.spec.schema import plan_json_schema

    write_json(plan_json_schema())
