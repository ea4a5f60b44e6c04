"""Which state store a stack uses: the backend named by the plan, in the right directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

from lepton_cli.errors import Diagnostic, LeptonError, StateError
from lepton_cli.spec.models import Backend
from lepton_cli.state.local import LocalStateStore
from lepton_cli.state.model import State, StateStore
from lepton_cli.state.remote import ObjectStore, RemoteStateStore

SANDBOX_SUBDIR = "sandbox"


def state_directory(plan_path: Path, backend: Backend, *, sandbox: bool, state_dir: str | None = None,
                    env: Mapping[str, str] | None = None) -> Path:
    """`--state-dir`, else LEPTON_STATE_DIR, else the backend's path (relative to the plan
    file), else `.lepton/` beside the plan file; sandbox state always in its own subdirectory,
    so it can never be mistaken for real-cloud state."""
    env = os.environ if env is None else env
    base_dir = Path(plan_path).resolve().parent
    chosen = state_dir or env.get("LEPTON_STATE_DIR") or backend.path
    directory = (base_dir / chosen) if chosen else base_dir / ".lepton"
    return directory / SANDBOX_SUBDIR if sandbox else directory


def _sandbox_endpoint(service: str) -> Callable[[], str]:
    """The sandbox's endpoint for `service`, found (the sandbox started if need be) on first use."""
    def endpoint() -> str:
        from lepton_cli.sandbox.manager import ensure_running

        status, _ = ensure_running()
        return status.endpoints[service]
    return endpoint


def _s3_objects(backend: Backend, sandbox: bool) -> ObjectStore:
    from lepton_cli.state.s3 import SANDBOX_SERVICE, S3Objects

    return S3Objects(backend.bucket or "", backend.region, sandbox=sandbox,
                     endpoint=_sandbox_endpoint(SANDBOX_SERVICE) if sandbox else None)


def _azblob_objects(backend: Backend, sandbox: bool) -> ObjectStore:
    from lepton_cli.state.azblob import AzureBlobObjects

    return AzureBlobObjects(backend.account or "", backend.container or "", sandbox=sandbox)


def _gcs_objects(backend: Backend, sandbox: bool) -> ObjectStore:
    from lepton_cli.state.gcs import SANDBOX_SERVICE, GcsObjects

    return GcsObjects(backend.bucket or "", sandbox=sandbox,
                      endpoint=_sandbox_endpoint(SANDBOX_SERVICE) if sandbox else None)


# Remote backend type -> how to open its object store.
REMOTE_BACKENDS: dict[str, Callable[[Backend, bool], ObjectStore]] = {
    "s3": _s3_objects, "gcs": _gcs_objects, "azblob": _azblob_objects}


def state_store_for(plan_path: Path, stack: str, backend: Backend, *, sandbox: bool,
                    state_dir: str | None = None, env: Mapping[str, str] | None = None) -> StateStore:
    """The plan's backend. A remote store keeps the stack's key (and any rejected state) in the
    directory local state would use."""
    if backend.type == "local":
        return LocalStateStore(state_directory(plan_path, backend, sandbox=sandbox, state_dir=state_dir, env=env),
                               stack)
    return remote_store(backend, stack, sandbox=sandbox,
                        directory=state_directory(plan_path, Backend(), sandbox=sandbox, state_dir=state_dir, env=env))


def remote_store(backend: Backend, stack: str, *, sandbox: bool, directory: Path) -> RemoteStateStore:
    opener = REMOTE_BACKENDS.get(backend.type)
    if opener is None:
        raise LeptonError(Diagnostic(
            summary=f"the {backend.type} state backend is not available yet",
            hint="use `type: s3`, or remove the `backend:` block (or use `type: local`) to keep state beside "
                 "the plan file"))
    return RemoteStateStore(opener(backend, sandbox), backend.prefix, stack, directory)


def store_from_context(settings: Mapping[str, object] | None, stack: str, *, sandbox: bool,
                       directory: Path) -> StateStore:
    """The store a saved change set was planned against (its context names it, never credentials)."""
    if not settings:
        return LocalStateStore(directory, stack)
    backend = Backend(**{k: v for k, v in settings.items() if v is not None})
    return remote_store(backend, stack, sandbox=sandbox, directory=directory)


def new_state(stack: str) -> State:
    return State(stack=stack, lineage=str(uuid.uuid4()))


def move_state(source: StateStore, target: StateStore, command: str) -> State:
    """Copy a stack's state from `source` to `target` (local <-> remote), both locked. Refused
    when the target holds another stack's history, or a newer version of this one."""
    with source.locked(command), target.locked(command):
        state = source.read()
        if state is None:
            raise StateError(f"no state to move: {source.path} does not exist")
        current = target.read()
        if current is not None and current.lineage != state.lineage:
            raise StateError(Diagnostic(
                summary=f"refusing to move state to {target.path}: it holds the state of another history "
                        f"(lineage {current.lineage}, not {state.lineage})",
                hint="another stack already uses that place: give the backend another prefix (or bucket)"))
        if current is not None and current.serial > state.serial:
            raise StateError(Diagnostic(
                summary=f"refusing to move state to {target.path}: it is newer than {source.path} "
                        f"(serial {current.serial}, the copy has {state.serial})",
                hint="it was written after this copy was made: move state the other way"))
        target.write(state)
        return state
