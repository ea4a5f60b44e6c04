"""The sandbox for test suites: its services in this process, on free loopback ports, found by
CLI runs (in-process or subprocesses) through the same runtime file `lepton sandbox start`
writes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lepton_cli.sandbox.manager import SandboxStatus, status
from lepton_cli.sandbox.runtime import remove_runtime, write_runtime

if TYPE_CHECKING:
    from lepton_cli.sandbox.server import RunningServices


@contextlib.contextmanager
def in_process_sandbox(home: Path, running: "RunningServices | None" = None) -> Iterator[SandboxStatus]:
    """The sandbox's services, published in `home` for CLI runs to find: `running` (services the
    caller started and will stop, e.g. a test session's), else new ones for this block."""
    from lepton_cli.sandbox.server import serve_all

    own = running is None
    if own:
        running = serve_all(shared_children=True)  # Azurite: started once per test session
    write_runtime(Path(home), os.getpid(), running.endpoints, running.details)
    try:
        yield status(Path(home))
    finally:
        remove_runtime(Path(home), os.getpid())
        if own:
            running.shutdown()
