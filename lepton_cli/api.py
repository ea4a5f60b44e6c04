"""The Python API the CLI is a thin layer over: load a plan file, plan, apply, destroy.

Scripts that move workloads between clouds use this directly:

    ws = api.open_workspace("lepton.yaml", sandbox=True)
    with ws.locked("apply"):
        plan = ws.plan()
        result = ws.apply(plan)

A `Workspace` ties a loaded plan file to its state store and the drivers of the clouds it (or
its state) uses. It never prints; the CLI presents.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_cli.drivers.base import Driver, DriverConfig
from lepton_cli.drivers.registry import driver_class, make_driver
from lepton_cli.engine.model import Plan
from lepton_cli.errors import Diagnostic, LeptonError
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
    _drivers: dict[str, Driver] = field(default_factory=dict)

    @property
    def stack(self) -> Stack:
        if self.loaded is None:
            raise LeptonError("this command needs the plan file")
        return self.loaded.stack

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

        state = self.read_state() if state is None else state
        plan = make_plan(
            self.stack, self.drivers(state), state,
            plan_digest=source_digest(self.loaded.source),
            targets=targets, destroy=destroy, parallelism=parallelism,
            resource_graph=self.loaded.graph,
        )
        plan.context = self.context()
        return plan

    def apply(self, plan: Plan, *, parallelism: int = 10,
              on_event: Callable[..., None] | None = None,
              stop: threading.Event | None = None):
        from lepton_cli.engine.executor import apply_plan

        state = self.read_state()
        drivers = self.drivers(state, [c.cloud for c in plan.changes])
        result = apply_plan(plan, drivers, self.store, state, parallelism=parallelism, on_event=on_event, stop=stop)
        if plan.destroy and not plan.targets and result.ok and self.loaded is not None:
            self._verify_destroyed(drivers, result, parallelism)
        return result

    def _verify_destroyed(self, drivers: Mapping[str, Driver], result, parallelism: int) -> None:
        """A whole destroy succeeds only if nothing carrying the stack's marker is left, found
        anywhere the plan file or state names (one more batched look per region)."""
        from lepton_cli.engine.planner import remaining

        for address in remaining(self.stack, drivers, result.state, parallelism):
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
    loaded = load_plan(path, cli_vars=cli_vars, var_files=var_files, env=env)
    store = state_store_for(loaded.path, loaded.stack.stack, loaded.stack.backend,
                            sandbox=sandbox, state_dir=state_dir, env=env)
    endpoints, started = _sandbox_endpoints(sandbox and reach_clouds)
    return Workspace(stack_name=loaded.stack.stack, store=store, sandbox=sandbox,
                     driver_settings=_driver_settings(loaded.stack), loaded=loaded,
                     endpoints=endpoints, sandbox_started=started)


def open_changeset(path: str | Path) -> tuple[Workspace, Plan]:
    """A saved change set and the workspace it was made in. Call `check_changeset` under the
    lock before applying it."""
    from lepton_cli.engine.changeset import load_changeset
    from lepton_cli.state.local import LocalStateStore

    plan = load_changeset(Path(path))
    ctx = plan.context or {}
    try:
        stack = ctx["stack"]
        ctx["plan_file"], ctx["state_dir"]
    except (KeyError, TypeError):
        raise LeptonError(f"{path} is not a change set saved by `lepton plan -o`") from None
    sandbox = bool(ctx.get("sandbox"))
    store = LocalStateStore(Path(ctx["state_dir"]), stack)
    endpoints, started = _sandbox_endpoints(sandbox)
    ws = Workspace(stack_name=stack, store=store, sandbox=sandbox,
                   driver_settings=ctx.get("driver_settings") or {}, endpoints=endpoints,
                   sandbox_started=started)
    return ws, plan


def check_changeset(ws: Workspace, plan: Plan) -> None:
    """Refuse a change set made against another state serial/lineage or another plan file."""
    from lepton_cli.engine.changeset import check_fresh

    try:
        digest = source_digest(Path(plan.context["plan_file"]).read_text())
    except OSError:
        digest = None  # the plan file is gone: that alone does not make the change set stale
    check_fresh(plan, ws.read_state(), digest)
