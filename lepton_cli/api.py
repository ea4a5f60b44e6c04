"""The Python API the CLI is a thin layer over: load a plan file, plan, apply, destroy.

Scripts that move workloads between clouds use this directly:

    ws = api.open_workspace("lepton.yaml", sandbox=True)
    with ws.locked("apply"):
        plan = ws.plan()
        result = ws.apply(plan)

A `Workspace` ties a loaded plan file to its state store and the drivers of the clouds it (or
its state) uses. It never prints; the CLI presents. Commands that need only state (output, show,
state …, destroy) open theirs with `open_state`, which works without the plan file:

    ws = api.open_state("shop", sandbox=True)   # .lepton/sandbox/shop.state.json in the cwd
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_cli.drivers.base import Driver, DriverConfig
from lepton_cli.drivers.registry import driver_class, make_driver
from lepton_cli.engine.model import Plan
from lepton_cli.engine.sensitive import Secrets, key_path, note_plan, unsealed_state
from lepton_cli.errors import Diagnostic, LeptonError, PlanFileError, StateError
from lepton_cli.spec.loader import LoadedPlan, load_plan
from lepton_cli.spec.models import Stack
from lepton_cli.state.model import State, StateStore

DEFAULT_PLAN_FILE = "lepton.yaml"


def sandbox_requested(flag: bool, env: Mapping[str, str] | None = None) -> bool:
    """`--sandbox` or LEPTON_SANDBOX=1 (any truthy spelling)."""
    env = os.environ if env is None else env
    return flag or env.get("LEPTON_SANDBOX", "").strip().lower() in {"1", "true", "yes", "on"}


def source_digest(text: str) -> str:
    """Identifies the plan file's content, so a saved change set can be refused as stale."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Workspace:
    """One stack as a command sees it: its plan file (if any), state store and drivers."""

    stack_name: str
    store: StateStore
    sandbox: bool
    driver_settings: dict[str, Any]  # what DriverConfig needs beyond the stack name (no secrets)
    loaded: LoadedPlan | None = None
    endpoints: dict[str, str] = field(default_factory=dict)
    sandbox_started: bool = False
    from_state: bool = False  # opened by `open_state` from the stack's state alone, without its plan file
    notices: list[str] = field(default_factory=list)  # things the CLI should tell the user (never errors)
    _drivers: dict[str, Driver] = field(default_factory=dict)

    @property
    def stack(self) -> Stack:
        if self.loaded is None:
            raise LeptonError("this command needs the plan file")
        return self.loaded.stack

    def _stack_or_empty(self) -> Stack:
        """The plan file's stack; from state alone, a stack without resources, so a destroy
        looks only at what state records and in the regions state names."""
        return self.loaded.stack if self.loaded is not None else Stack(stack=self.stack_name)

    # -- drivers --------------------------------------------------------------------------------
    def drivers(self, state: State | None = None, extra_clouds: Sequence[str] = ()) -> dict[str, Driver]:
        """Drivers for every cloud the plan or the state uses (a cloud dropped from the plan
        still needs its driver to delete what lepton made there)."""
        clouds = set(extra_clouds)
        if self.loaded is not None:
            clouds |= set(self.stack.clouds())
        if state is not None:
            clouds |= state.clouds()
        for cloud in sorted(clouds - set(self._drivers)):
            self._drivers[cloud] = make_driver(cloud, self._driver_config(cloud))
        return self._drivers

    def _driver_config(self, cloud: str) -> DriverConfig:
        endpoints: dict[str, str] = {}
        if self.sandbox:
            wanted = driver_class(cloud).sandbox_services
            missing = sorted(name for name in wanted.values() if name not in self.endpoints)
            if missing or not wanted:
                raise LeptonError(Diagnostic(
                    summary=f"the sandbox has no {cloud} emulator yet",
                    hint="run without --sandbox, or move these resources to a cloud the sandbox emulates",
                ))
            endpoints = {service: self.endpoints[name] for service, name in wanted.items()}
        return DriverConfig(stack=self.stack_name, endpoints=endpoints, **self.driver_settings)

    # -- state ------------------------------------------------------------------------------------
    def read_state(self) -> State | None:
        return self.store.read()

    @contextlib.contextmanager
    def locked(self, command: str) -> Iterator[None]:
        with self.store.locked(command):
            yield

    # -- plan and apply ---------------------------------------------------------------------------
    def plan(self, *, targets: Sequence[str] = (), destroy: bool = False, parallelism: int = 10,
             state: State | None = None) -> Plan:
        from lepton_cli.engine.planner import make_plan

        if self.loaded is None and not destroy:
            raise LeptonError("this command needs the plan file")
        state = self.read_state() if state is None else state
        secrets = self.secrets()
        try:
            plan = make_plan(
                self._stack_or_empty(), self.drivers(state), unsealed_state(secrets, state),
                plan_digest=source_digest(self.loaded.source if self.loaded else ""),
                targets=targets, destroy=destroy, parallelism=parallelism,
                resource_graph=self.loaded.graph if self.loaded else None,
            )
        except LeptonError as exc:  # a driver's message may quote a value built from a secret
            raise secrets.redact_error(exc) from None
        plan.context = self.context()
        note_plan(secrets, plan, state)
        plan.secrets = secrets
        return plan

    def output_value(self, state: State | None, name: str) -> Any:
        """One recorded output (KeyError if none). A sensitive one is rebuilt from the variables
        given now and checked against its keyed hash: as Terraform, lepton prints a sensitive
        output only when it is asked for by name."""
        from lepton_cli.engine.sensitive import is_seal

        value = state.outputs[name] if state else {}[name]
        sealed = state.sealed_outputs.get(name)
        if sealed is None:
            return value
        names = sorted({p["var"] for p in sealed.get("parts") or () if isinstance(p, Mapping)})
        try:
            value = self.secrets().unseal(sealed, strict=True)
        except LeptonError:
            value = sealed
        if is_seal(value):
            raise LeptonError(Diagnostic(
                summary=f"output {name!r} is sensitive: state holds only a keyed hash of it",
                hint=(f"to print it, give the plan file and the value of {', '.join(names)} it was applied with"
                      if names else "it was built from a value lepton can no longer rebuild")))
        return value

    def secrets(self) -> Secrets:
        """The plan file's sensitive values, and the stack's key to seal them with."""
        loaded = self.loaded
        return Secrets.of(loaded.variables if loaded else {}, loaded.sensitive if loaded else (),
                          key_path(Path(self.store.directory).resolve(), self.stack_name))

    def apply(self, plan: Plan, *, parallelism: int = 10,
              on_event: Callable[..., None] | None = None,
              stop: threading.Event | None = None):
        from lepton_cli.engine.executor import apply_plan

        state = self.read_state()
        drivers = self.drivers(state, [c.cloud for c in plan.changes])
        result = apply_plan(plan, drivers, self.store, state, parallelism=parallelism, on_event=on_event, stop=stop)
        if plan.destroy and not plan.targets and result.ok and (self.loaded is not None or self.from_state):
            # From state alone the regions to look in are those state named before the destroy.
            self._verify_destroyed(drivers, result, parallelism, result.state if self.loaded else state)
        return result

    def _verify_destroyed(self, drivers: Mapping[str, Driver], result, parallelism: int,
                          state: State | None) -> None:
        """A whole destroy succeeds only if nothing carrying the stack's marker is left, found
        anywhere the plan file or state names (one more batched look per region)."""
        from lepton_cli.engine.planner import remaining

        for address in remaining(self._stack_or_empty(), drivers, state, parallelism):
            result.failed[address] = ("still exists after the destroy (it carries the stack's marker; it was "
                                      "created while this destroy ran, or its delete did not take): run "
                                      "`lepton destroy` again")

    def context(self) -> dict[str, Any]:
        """What a saved change set needs to be applied later without re-reading variables:
        where the state is and how to reach the clouds. Never credentials."""
        return {
            "stack": self.stack_name,
            "plan_file": str(self.loaded.path.resolve()) if self.loaded else None,
            "sandbox": self.sandbox,
            "state_dir": str(self.store.directory),
            "backend": getattr(self.store, "settings", dict)() or None,  # a remote backend: where its state is
            "driver_settings": self.driver_settings,
        }


def _sandbox_endpoints(sandbox: bool) -> tuple[dict[str, str], bool]:
    """The emulators' endpoints, starting them if they are not running (and saying so)."""
    if not sandbox:
        return {}, False
    from lepton_cli.sandbox.manager import ensure_running

    status, started = ensure_running()
    return dict(status.endpoints), started


def _driver_settings(stack: Stack) -> dict[str, Any]:
    return {"project": stack.defaults.project, "subscription": stack.defaults.subscription}


def open_workspace(path: str | Path = DEFAULT_PLAN_FILE, *, cli_vars: Sequence[str] = (),
                   var_files: Sequence[str] = (), sandbox: bool = False,
                   state_dir: str | None = None, env: Mapping[str, str] | None = None,
                   reach_clouds: bool = True) -> Workspace:
    """Load the plan file and find its state; in the sandbox, start the emulators if needed
    (unless `reach_clouds` is False: commands that only read state never need them)."""
    from lepton_cli.state.store import state_store_for

    env = os.environ if env is None else env
    sandbox = sandbox_requested(sandbox, env)
    # Commands that reach the clouds first run the drivers' checks: a typo is a located error, not an API failure.
    loaded = load_plan(path, cli_vars=cli_vars, var_files=var_files, env=env, drivers=reach_clouds)
    store = state_store_for(loaded.path, loaded.stack.stack, loaded.stack.backend,
                            sandbox=sandbox, state_dir=state_dir, env=env)
    endpoints, started = _sandbox_endpoints(sandbox and reach_clouds)
    return Workspace(stack_name=loaded.stack.stack, store=store, sandbox=sandbox,
                     driver_settings=_driver_settings(loaded.stack), loaded=loaded,
                     endpoints=endpoints, sandbox_started=started)


# `stack: NAME` written literally at the top level of a plan file.
_DECLARED_STACK = re.compile(r"""^stack:[ \t]*(["']?)([a-z][a-z0-9-]{0,29})\1[ \t]*(#.*)?$""", re.MULTILINE)


def declared_stack(path: str | Path) -> str | None:
    """The stack a plan file declares, read without rendering it (so without its variables):
    enough for read-only commands when the plan file cannot be loaded. None if the name is
    not written literally (a template expression) or the file cannot be read."""
    try:
        names = {m.group(2) for m in _DECLARED_STACK.finditer(Path(path).read_text(encoding="utf-8"))}
    except (OSError, UnicodeDecodeError):
        return None
    return names.pop() if len(names) == 1 else None


def open_state(stack: str | None = None, path: str | Path = DEFAULT_PLAN_FILE, *, cli_vars: Sequence[str] = (),
               var_files: Sequence[str] = (), sandbox: bool = False, state_dir: str | None = None,
               env: Mapping[str, str] | None = None, reach_clouds: bool = False,
               lenient: bool = True) -> Workspace:
    """A workspace for commands that need only the stack's state (output, show, state …, destroy).

    The plan file is used as always when it is there, loads, and declares `stack` (or `stack` is
    None). Otherwise the stack's state alone: `<stack>.state.json` in the directory the plan
    file's state would be in without a `backend:` block (`--state-dir`, else LEPTON_STATE_DIR,
    else `.lepton/` beside the plan file path, i.e. in the current directory by default; its
    `sandbox/` subdirectory with --sandbox). A plan file that cannot be loaded (a missing
    variable) falls back to the stack it declares when `lenient`, with a notice.
    """
    env = os.environ if env is None else env
    path = Path(path)
    options = dict(sandbox=sandbox, state_dir=state_dir, env=env, reach_clouds=reach_clouds)
    if path.exists():
        try:
            ws = open_workspace(path, cli_vars=cli_vars, var_files=var_files, **options)
        except PlanFileError as exc:
            name = stack or (declared_stack(path) if lenient else None)
            if name is None:
                declared = declared_stack(path)
                if declared and exc.diagnostics:  # destroy: said, never guessed
                    last = exc.diagnostics[-1]
                    exc.diagnostics[-1] = dataclasses.replace(last, hint="; ".join(filter(None, [
                        last.hint, f"or use the stack's state alone: --stack {declared}"])))
                raise
            try:
                ws = _open_state_only(name, path, **options)
            except LeptonError:
                if stack is None:
                    raise exc from None  # no state to fall back on: the plan file's problem is the news
                raise
            ws.notices.append(f"{path} cannot be loaded ({exc.diagnostics[0].summary}); "
                              f"using the state of stack {name} alone")
            return ws
        if stack is None or stack == ws.stack_name:
            return ws
    elif stack is None:
        from lepton_cli.state.local import stacks_in

        directory = _state_dir_for(path, sandbox_requested(sandbox, env), state_dir, env)
        known = stacks_in(directory)
        raise PlanFileError(Diagnostic(
            summary=f"no plan file at {path}",
            hint="pass one with -f FILE, or read a stack's state without it with --stack NAME"
                 + (f" (stacks with state in {directory}: {', '.join(known)})" if known else "")))
    return _open_state_only(stack, path, **options)


def _state_dir_for(path: Path, sandbox: bool, state_dir: str | None, env: Mapping[str, str]) -> Path:
    from lepton_cli.spec.models import Backend
    from lepton_cli.state.store import state_directory

    return state_directory(path, Backend(), sandbox=sandbox, state_dir=state_dir, env=env)


def _open_state_only(stack: str, path: Path, *, sandbox: bool, state_dir: str | None,
                     env: Mapping[str, str], reach_clouds: bool) -> Workspace:
    """Stack `stack` from its state alone; one clear error if it has none there."""
    from lepton_cli.spec.models import STACK_NAME
    from lepton_cli.state.local import LocalStateStore

    if not re.fullmatch(STACK_NAME, stack):
        raise LeptonError(Diagnostic(
            summary=f"--stack {stack!r} is not a stack name",
            hint="a stack name is lowercase letters, digits and '-', starting with a letter, at most 30 characters"))
    sandbox = sandbox_requested(sandbox, env)
    directory = _state_dir_for(path, sandbox, state_dir, env)
    store = LocalStateStore(directory, stack)
    if not (store.path.exists() or store.lock_path.exists()):
        raise _no_state(stack, directory, _state_dir_for(path, not sandbox, state_dir, env), sandbox)
    endpoints, started = _sandbox_endpoints(sandbox and reach_clouds)
    return Workspace(stack_name=stack, store=store, sandbox=sandbox, driver_settings={}, endpoints=endpoints,
                     sandbox_started=started, from_state=True)


def _no_state(stack: str, directory: Path, other_directory: Path, sandbox: bool) -> StateError:
    """One clear error for `--stack NAME` without state: what exists there, and whether the
    stack's state is on the other side of --sandbox."""
    from lepton_cli.state.local import stacks_in

    if not directory.is_dir():
        summary = f"no state for stack {stack!r}: {directory} does not exist"
        hint = ("run where the stack was applied (state is kept in .lepton/ beside the plan file), "
                "or pass --state-dir DIR")
    else:
        known = stacks_in(directory)
        summary = f"no state for stack {stack!r} in {directory}"
        hint = f"stacks with state there: {', '.join(known)}" if known else "no stack has state there"
    if stack in stacks_in(other_directory):
        hint += (f"; stack {stack!r} has real-cloud state in {other_directory}: drop --sandbox (and LEPTON_SANDBOX)"
                 if sandbox else f"; stack {stack!r} has sandbox state in {other_directory}: add --sandbox")
    return StateError(Diagnostic(summary=summary, hint=hint))


def open_changeset(path: str | Path, *, cli_vars: Sequence[str] = (), var_files: Sequence[str] = (),
                   env: Mapping[str, str] | None = None) -> tuple[Workspace, Plan]:
    """A saved change set and the workspace it was made in. Call `check_changeset` under the
    lock before applying it. Its sensitive values are rebuilt from the variables given now
    (as for `plan`), which must be those it was planned with."""
    from lepton_cli.engine.changeset import load_changeset
    from lepton_cli.state.store import store_from_context

    plan = load_changeset(Path(path), lambda ctx: _changeset_variables(ctx, cli_vars, var_files, env))
    ctx = plan.context or {}
    try:
        stack = ctx["stack"]
        ctx["plan_file"], ctx["state_dir"]
    except (KeyError, TypeError):
        raise LeptonError(f"{path} is not a change set saved by `lepton plan -o`") from None
    sandbox = bool(ctx.get("sandbox"))
    store = store_from_context(ctx.get("backend"), stack, sandbox=sandbox, directory=Path(ctx["state_dir"]))
    endpoints, started = _sandbox_endpoints(sandbox)
    ws = Workspace(stack_name=stack, store=store, sandbox=sandbox,
                   driver_settings=ctx.get("driver_settings") or {}, endpoints=endpoints,
                   sandbox_started=started)
    return ws, plan


def _changeset_variables(ctx: Mapping[str, Any], cli_vars: Sequence[str], var_files: Sequence[str],
                         env: Mapping[str, str] | None) -> dict[str, Any]:
    """The variables as `plan` would see them: given ones, else the plan file's declared defaults."""
    from lepton_cli.spec.render import collect_vars
    from lepton_cli.spec.variables import declared_variables

    values = collect_vars(cli_vars, var_files, env)
    try:
        text = Path(ctx.get("plan_file") or "").read_text(encoding="utf-8")
        declared = declared_variables(text, str(ctx.get("plan_file")))
    except (OSError, UnicodeDecodeError, LeptonError):
        declared = None
    for name, variable in (declared[0] if declared else {}).items():
        if name not in values and not variable.required:
            values[name] = variable.default
    return values


def check_changeset(ws: Workspace, plan: Plan) -> None:
    """Refuse a change set made against another state serial/lineage or another plan file."""
    from lepton_cli.engine.changeset import check_fresh

    try:
        digest = source_digest(Path(plan.context["plan_file"]).read_text())
    except OSError:
        digest = None  # the plan file is gone: that alone does not make the change set stale
    check_fresh(plan, ws.read_state(), digest)
