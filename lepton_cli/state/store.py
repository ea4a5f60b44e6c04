"""Which state store a stack uses: the backend named by the plan, in the right directory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Backend
from lepton_cli.state.local import LocalStateStore
from lepton_cli.state.model import State, StateStore

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


def state_store_for(plan_path: Path, stack: str, backend: Backend, *, sandbox: bool,
                    state_dir: str | None = None, env: Mapping[str, str] | None = None) -> StateStore:
    if backend.type != "local":
        raise LeptonError(Diagnostic(
            summary=f"the {backend.type} state backend is not available yet",
            hint="remove the `backend:` block (or use `type: local`) to keep state beside the plan file"))
    return LocalStateStore(state_directory(plan_path, backend, sandbox=sandbox, state_dir=state_dir, env=env), stack)


def new_state(stack: str) -> State:
    return State(stack=stack, lineage=str(uuid.uuid4()))
