"""Azurite (Microsoft's Azure Blob Storage emulator, an npm package) as a child process of the
sandbox: the sandbox's Azure storage.

Azurite knows only the storage accounts it is given at start (`AZURITE_ACCOUNTS`), so the
sandbox declares a fixed pool of them with deterministic keys (`ACCOUNTS`): the runtime file
carries the pool, and whoever talks to the sandbox's blob endpoint signs with the key found
there. When no Azurite binary is found the sandbox runs without Azure storage and says why.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lepton_cli.sandbox.services import ServiceUnavailable

BINARY = "azurite-blob"
REPO = Path(__file__).resolve().parents[2]
INSTALL_HINT = ("install Azurite (with Node.js and npm): `npm ci --prefix tests/node` in a lepton checkout, or "
                "`npm install -g azurite@3.35.0`, or point LEPTON_AZURITE at an `azurite-blob` executable; "
                "then restart the sandbox (`lepton sandbox stop`)")
# Azurite's own well-known development account (its key is public, in Microsoft's docs); naming
# other accounts disables it unless it is named too.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
POOL_SIZE = 64  # storage accounts the ARM emulator can hand out at once (tests make many)
_LISTENING = re.compile(r"successfully listens on (http://\S+?)/?\s*$")
START_TIMEOUT = 30.0


def account_key(name: str) -> str:
    """A deterministic 64-byte key, base64 like a real storage account key."""
    if name == DEV_ACCOUNT:
        return DEV_KEY
    return base64.b64encode(hashlib.sha512(f"lepton-sandbox/{name}".encode()).digest()).decode()


ACCOUNTS: dict[str, str] = {name: account_key(name)
                            for name in [DEV_ACCOUNT, *(f"leptonsandbox{i}" for i in range(POOL_SIZE))]}
# The accounts the ARM emulator hands out as storage accounts (the development account stays free
# for the azblob state backend and anyone's experiments).
POOL: dict[str, str] = {name: key for name, key in ACCOUNTS.items() if name != DEV_ACCOUNT}


def find_binary(env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The `azurite-blob` to run, or None and why none was found: LEPTON_AZURITE, then the
    checkout's node_modules (tests/node, the repository root), then PATH."""
    env = os.environ if env is None else env
    explicit = env.get("LEPTON_AZURITE")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit, ""
        return None, f"LEPTON_AZURITE={explicit} is not an executable file"
    for candidate in (REPO / "tests" / "node" / "node_modules" / ".bin" / BINARY,
                      REPO / "node_modules" / ".bin" / BINARY):
        if os.access(candidate, os.X_OK):
            return str(candidate), ""
    found = shutil.which(BINARY, path=env.get("PATH"))
    if found:
        return found, ""
    return None, f"no `{BINARY}` executable was found (LEPTON_AZURITE, node_modules, PATH)"


@dataclass
class Azurite:
    """A running Azurite: its endpoint (account in the path: `<endpoint>/<account>`)."""

    process: subprocess.Popen
    endpoint: str
    output: list[str] = field(default_factory=list)

    @property
    def details(self) -> dict:
        """For the runtime file: the accounts Azurite knows, and their keys (sandbox-only keys)."""
        return {"azblob_accounts": dict(ACCOUNTS)}

    def stop(self) -> None:
        """End Azurite and anything it started (its own process group)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()


def start(env: Mapping[str, str] | None = None, timeout: float = START_TIMEOUT) -> Azurite:
    """Start Azurite's blob service on a free loopback port, in memory, knowing `ACCOUNTS`; its
    own process group, which dies with the sandbox (a parent-death signal where Linux offers one)."""
    binary, why = find_binary(env)
    if binary is None:
        raise ServiceUnavailable(f"{why}; {INSTALL_HINT}")
    child_env = {k: v for k, v in (os.environ if env is None else env).items()
                 if not k.startswith(("AZURITE_", "AZURE_"))}
    child_env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{key}" for name, key in ACCOUNTS.items())
    try:
        process = subprocess.Popen(
            [binary, "--inMemoryPersistence", "--loose", "--skipApiVersionCheck", "--disableTelemetry",
             "--blobHost", "127.0.0.1", "--blobPort", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=child_env, start_new_session=True, preexec_fn=_die_with_parent)
    except OSError as exc:
        raise ServiceUnavailable(f"{binary} could not be run: {exc}") from None
    running = Azurite(process, "")
    found = threading.Event()

    def read() -> None:  # keeps draining the pipe, so Azurite never blocks on a full one
        for line in process.stdout:
            running.output.append(line.rstrip())
            del running.output[:-50]
            match = _LISTENING.search(line)
            if match and not found.is_set():
                running.endpoint = match.group(1)
                found.set()
        found.set()

    threading.Thread(target=read, name="sandbox-azurite-output", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found.wait(0.05):
        if time.monotonic() > deadline:
            break
    if not running.endpoint:
        running.stop()
        tail = " / ".join(running.output[-3:])
        raise ServiceUnavailable(f"{binary} did not start ({tail or 'no output'})")
    return running


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the sandbox process dies, however it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_shared: Azurite | None = None
_shared_lock = threading.Lock()


def shared(env: Mapping[str, str] | None = None) -> Azurite:
    """One Azurite for this whole process (test sessions start many in-process sandboxes: its
    start-up is paid once), stopped when the process exits."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.process.poll() is not None:
            import atexit

            _shared = start(env)
            atexit.register(_shared.stop)
        return _shared
