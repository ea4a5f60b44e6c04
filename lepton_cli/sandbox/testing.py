"""The sandbox for test suites: its services in this process, on free loopback ports, found by
CLI runs (in-process or subprocesses) through the same runtime file `lepton sandbox start`
writes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from lepton_cli.sandbox.manager import SandboxStatus, status
from lepton_cli.sandbox.runtime import remove_runtime, write_runtime


@contextlib.contextmanager
def in_process_sandbox(home: Path) -> Iterator[SandboxStatus]:
    from lepton_cli.sandbox.server import serve_all

    running = serve_all(shared_children=True)  # Azurite: started once per test session
    write_runtime(Path(home), os.getpid(), running.endpoints, running.details)
    try:
        yield status(Path(home))
    finally:
        remove_runtime(Path(home), os.getpid())
        running.shutdown()
