"""Starting, finding and stopping the sandbox (`lepton sandbox start|status|stop`, `--sandbox`).

The sandbox runs as one background process (`lepton_cli.sandbox.serve`) that outlives the
command that started it. Two commands starting it at once end up with one sandbox: starting is
serialised by a lock file. Nothing here imports moto: only the background process does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.sandbox.runtime import RUNTIME, read_runtime, sandbox_home
from lepton_cli.state.lock import pid_running

START_LOCK = "start.lock"
LOG = "sandbox.log"


@dataclass(frozen=True)
class SandboxStatus:
    running: bool
    endpoints: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # service -> why the sandbox cannot serve it

    def to_json(self) -> dict:
        if not self.running:
            return {"running": False, "endpoints": {}}
        return {"running": True, "endpoints": dict(self.endpoints), "unavailable": dict(self.unavailable)}


def _answers(url: str, timeout: float = 2.0) -> bool:
    """An endpoint answers if it returns any HTTP response (moto answers 404 to a bare GET)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


# The background emulator outlives the command that started it and never needs the caller's
# credentials: it gets what running Python needs and its own settings, nothing else (no AWS_*,
# AZURE_*, GOOGLE_*, LEPTON_VAR_*).
ENV_NAMES = frozenset({"PATH", "HOME", "LANG", "LANGUAGE", "TMPDIR", "TZ", "LEPTON_AZURITE"})
ENV_PREFIXES = ("LC_", "PYTHON", "MOTO_", "LEPTON_SANDBOX_")


def scrubbed_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the sandbox process starts with: the allow-list above, plus this
    package's location on PYTHONPATH (so a source checkout serves its own code)."""
    env = {k: v for k, v in environ.items() if k in ENV_NAMES or k.startswith(ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parents[2]), environ.get("PYTHONPATH")]))
    return env


def status(home: Path | None = None) -> SandboxStatus:
    home = home or sandbox_home()
    data = read_runtime(home)
    if data is None or not pid_running(int(data["pid"])):
        return SandboxStatus(running=False)
    endpoints = {str(k): str(v) for k, v in data["endpoints"].items()}
    if not all(_answers(url) for url in endpoints.values()):
        return SandboxStatus(running=False, pid=int(data["pid"]))
    return SandboxStatus(running=True, endpoints=endpoints, pid=int(data["pid"]),
                         unavailable={str(k): str(v) for k, v in data.get("unavailable", {}).items()})


def _take_start_lock(home: Path, timeout: float) -> Path:
    lock = home / START_LOCK
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return lock
        except FileExistsError:
            try:
                holder = int(lock.read_text() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and not pid_running(holder):
                lock.unlink(missing_ok=True)  # its starter died
                continue
            if time.monotonic() > deadline:
                raise LeptonError(f"another process has been starting the sandbox for {timeout:.0f}s ({lock})")
            time.sleep(0.1)


def start(timeout: float = 60.0, home: Path | None = None) -> tuple[SandboxStatus, bool]:
    """Start the sandbox if it is not running; returns once every endpoint answers."""
    home = home or sandbox_home()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    current = status(home)
    if current.running:
        return current, False
    lock = _take_start_lock(home, timeout)
    try:
        current = status(home)  # someone else may have started it while we waited
        if current.running:
            return current, False
        if current.pid and pid_running(current.pid):
            _terminate(current.pid)  # alive but not answering: replace it
        (home / RUNTIME).unlink(missing_ok=True)
        log = open(home / LOG, "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "lepton_cli.sandbox.serve", "--home", str(home)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env=scrubbed_env(os.environ),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = status(home)
            if current.running and current.pid == process.pid:
                return current, True
            if process.poll() is not None:
                break
            time.sleep(0.1)
        _terminate(process.pid)
        raise LeptonError(Diagnostic(summary="the sandbox did not start", detail=_log_tail(home),
                                     hint=f"its log is {home / LOG}"))
    finally:
        lock.unlink(missing_ok=True)


def _log_tail(home: Path, lines: int = 15) -> str:
    try:
        return "\n".join((home / LOG).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _terminate(pid: int, grace: float = 10.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
            if finished == pid:
                return
        except ChildProcessError:
            pass
        if not pid_running(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(home: Path | None = None) -> bool:
    """Stop what `start` started; False if nothing was running."""
    home = home or sandbox_home()
    data = read_runtime(home)
    if data is None:
        return False
    pid = int(data["pid"])
    alive = pid_running(pid) and pid != os.getpid()
    if alive:
        _terminate(pid)
    (home / RUNTIME).unlink(missing_ok=True)
    return alive


def ensure_running() -> tuple[SandboxStatus, bool]:
    """What `--sandbox` calls: the running sandbox, started now if needed."""
    return start()
