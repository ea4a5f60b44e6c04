"""`lepton state list|show|unlock`: look into and repair a stack's state."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from lepton_cli.cli.lazy import api  # imported on first use: `lepton --help` stays fast
from lepton_cli.cli.options import Json, PlanFile, Sandbox, StackName, StateDir, Vars, VarFiles, Yes
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.ui.console import output, write_json

app = typer.Typer(help="Inspect a stack's state, break a stale lock, move it to or from a remote backend.",
                  no_args_is_help=True)


def open_state(file, var, var_file, sandbox, state_dir, stack, *, reach_clouds: bool = False,
               lenient: bool = True):
    """The workspace of a command that needs only state (`api.open_state`: works without the
    plan file, or with one that cannot be loaded), its notices said on stderr."""
    ws = api.open_state(stack, file, cli_vars=var or (), var_files=var_file or (), sandbox=sandbox,
                        state_dir=state_dir, reach_clouds=reach_clouds, lenient=lenient)
    for notice in ws.notices:
        output().err.print(f"[warning]Note:[/] {escape(notice)}")
    return ws


def _state(file, var, var_file, sandbox, state_dir, stack):
    ws = open_state(file, var, var_file, sandbox, state_dir, stack)
    return ws, ws.read_state()


@app.command("list")
def list_(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
          sandbox: Sandbox = False, state_dir: StateDir = None, stack: StackName = None,
          json: Json = False) -> None:
    """List the addresses of every primitive in state."""
    _, state = _state(file, var, var_file, sandbox, state_dir, stack)
    addresses = sorted(state.primitives) if state else []
    # Replaced objects still waiting for deletion are the stack's too.
    addresses += sorted(f"{a} (deposed {r.id})" for a, records in (state.deposed if state else {}).items()
                        for r in records)
    # Operations an interrupted apply started and never recorded: the next plan settles them.
    addresses += [f"{p.address} (pending {p.operation} since {p.since})" for p in (state.pending if state else [])]
    if json:
        write_json(addresses)
        return
    for address in addresses:
        output().out.print(address, markup=False)


@app.command("show")
def show(address: Annotated[str, typer.Argument(help="A primitive's address, e.g. web/aws.autoscaling_group.")],
         file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
         sandbox: Sandbox = False, state_dir: StateDir = None, stack: StackName = None,
         json: Json = False) -> None:
    """Show one primitive as recorded in state."""
    from dataclasses import asdict

    ws, state = _state(file, var, var_file, sandbox, state_dir, stack)
    records = state.primitives if state else {}
    if address not in records:
        from lepton_cli.spec.suggest import did_you_mean

        hint = did_you_mean(address, records) or "`lepton state list` shows every address"
        raise LeptonError(f"no primitive {address!r} in the state of stack {ws.stack_name}", f"  {hint}")
    record = asdict(records[address])
    if json:
        write_json({"address": address, **record})
        return
    import json as _json

    out = output().out
    out.print(f"[address]{escape(address)}[/]")
    for key in ("type", "cloud", "region", "id", "resource", "kind", "depends_on"):
        out.print(f"  {key}: {escape(str(record[key]))}")
    for section in ("properties", "outputs"):
        out.print(f"  {section}:")
        for key, value in sorted(record[section].items()):
            text = value if isinstance(value, str) else _json.dumps(value)
            out.print(f"    {escape(key)}: {escape(text)}")


@app.command("unlock")
def unlock(lock_id: Annotated[str, typer.Argument(metavar="ID", help="The lock's id, as the error that named the holder showed it.")],
           file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
           sandbox: Sandbox = False, state_dir: StateDir = None, stack: StackName = None,
           yes: Yes = False) -> None:
    """Break a stack's lock. Only do this when its holder is certainly gone. A remote lock
    (whose holder may run on another machine) is broken only after confirmation or --yes."""
    ws = open_state(file, var, var_file, sandbox, state_dir, stack)
    if getattr(ws.store, "remote", False) and not yes:
        from lepton_cli.cli.stack_cmds import _confirm

        holder, _, age = ws.store.lock_named(lock_id)
        _confirm(f"Break the lock on stack {ws.stack_name} held by {holder.user}@{holder.host}, pid {holder.pid} "
                 f"(`lepton {holder.command}` since {holder.since}, {age})? It may still be running on another "
                 f"machine.", f"state unlock {lock_id}")
    ws.store.force_unlock(lock_id)
    output().out.print(f"Released lock {escape(lock_id)} on stack {escape(ws.stack_name)}.")


def _local_and_remote(file, var, var_file, sandbox, state_dir):
    """The stack's local state store and the remote one its plan file's backend names."""
    from lepton_cli.state.local import LocalStateStore

    ws = open_state(file, var, var_file, sandbox, state_dir, None, lenient=False)
    if not getattr(ws.store, "remote", False):
        raise LeptonError(Diagnostic(
            summary=f"the plan file {file} names no remote backend: its state is already local ({ws.store.path})",
            hint="add e.g. `backend: {type: s3, bucket: BUCKET, prefix: team, region: us-east-1}` to it first"))
    return ws, LocalStateStore(ws.store.directory, ws.stack_name), ws.store


@app.command("push")
def push(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
         sandbox: Sandbox = False, state_dir: StateDir = None) -> None:
    """Move the stack's local state to the remote backend its plan file names."""
    from lepton_cli.state.store import move_state

    ws, local, remote = _local_and_remote(file, var, var_file, sandbox, state_dir)
    state = move_state(local, remote, "state push")
    output().out.print(f"Pushed the state of stack {escape(ws.stack_name)} (serial {state.serial}) to "
                       f"{escape(remote.path)}.")
    output().out.print(f"The local copy {escape(str(local.path))} is no longer read while the plan file names "
                       f"the {escape(ws.stack.backend.type)} backend; remove it once you have checked.")


@app.command("pull")
def pull(file: PlanFile = api.DEFAULT_PLAN_FILE, var: Vars = None, var_file: VarFiles = None,
         sandbox: Sandbox = False, state_dir: StateDir = None) -> None:
    """Copy the stack's state from the remote backend its plan file names to local state
    (then remove the `backend:` block to use it)."""
    from lepton_cli.state.store import move_state

    ws, local, remote = _local_and_remote(file, var, var_file, sandbox, state_dir)
    state = move_state(remote, local, "state pull")
    output().out.print(f"Pulled the state of stack {escape(ws.stack_name)} (serial {state.serial}) from "
                       f"{escape(remote.path)} to {escape(str(local.path))}.")
    output().out.print("Remove the plan file's `backend:` block to use it; the remote copy is left as it was.")
