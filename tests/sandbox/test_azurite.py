"""Azurite as the sandbox's child process: found, started on a free loopback port knowing the
sandbox's account pool (and nothing else from the caller's environment), and gone with the
sandbox however the sandbox ends."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lepton_cli.sandbox import azurite
from lepton_cli.sandbox.services import ServiceUnavailable

REPO = Path(__file__).resolve().parents[2]


def environ_of(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(entry.split("=", 1) for entry in entries if "=" in entry)


def gone(pid: int, polls: int = 200) -> bool:
    """Whether `pid` has ended (polled a bounded number of times)."""
    for _ in range(polls):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def test_the_pool_is_deterministic_and_includes_the_development_account():
    assert list(azurite.ACCOUNTS)[:2] == ["devstoreaccount1", "leptonsandbox0"] and len(azurite.ACCOUNTS) == 1 + azurite.POOL_SIZE
    assert azurite.ACCOUNTS["devstoreaccount1"] == azurite.DEV_KEY
    assert azurite.account_key("leptonsandbox7") == azurite.ACCOUNTS["leptonsandbox7"]
    assert len({*azurite.ACCOUNTS.values()}) == len(azurite.ACCOUNTS)  # every key distinct


def test_it_knows_the_pool_and_nothing_of_the_callers_azure_settings():
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobServiceClient

    env = {**os.environ, "AZURITE_ACCOUNTS": "intruder:aW50cnVkZXI=", "AZURE_CLIENT_SECRET": "leaked-7c1e"}
    running = azurite.start(env)
    try:
        child = environ_of(running.process.pid)
        assert "AZURE_CLIENT_SECRET" not in child and "leaked-7c1e" not in "".join(child.values())
        assert child["AZURITE_ACCOUNTS"].split(";")[1] == f"leptonsandbox0:{azurite.ACCOUNTS['leptonsandbox0']}"
        assert running.endpoint.startswith("http://127.0.0.1:")
        service = BlobServiceClient(f"{running.endpoint}/leptonsandbox9", credential={
            "account_name": "leptonsandbox9", "account_key": azurite.ACCOUNTS["leptonsandbox9"]})
        service.create_container("pool")
        assert [c.name for c in service.list_containers()] == ["pool"]
        intruder = BlobServiceClient(f"{running.endpoint}/intruder", credential={
            "account_name": "intruder", "account_key": "aW50cnVkZXI="})
        with pytest.raises(HttpResponseError) as refused:
            intruder.create_container("pool")
        assert refused.value.status_code == 404  # not an account Azurite knows
    finally:
        running.stop()
    assert running.process.poll() is not None


def test_a_missing_binary_is_unavailable_with_the_fix():
    with pytest.raises(ServiceUnavailable) as refused:
        azurite.start({"LEPTON_AZURITE": "/nonexistent/azurite-blob", "PATH": os.environ["PATH"]})
    assert "is not an executable file" in str(refused.value) and "npm ci --prefix tests/node" in str(refused.value)
    assert azurite.find_binary({"LEPTON_AZURITE": "", "PATH": ""})[0].endswith("tests/node/node_modules/.bin/azurite-blob")


SANDBOX = textwrap.dedent("""
    from lepton_cli.sandbox import azurite
    running = azurite.start()
    print(running.process.pid, flush=True)
    import time
    time.sleep(600)
""")


def test_azurite_dies_with_a_killed_sandbox(tmp_path):
    """SIGKILL gives the sandbox no chance to stop its children: the parent-death signal does."""
    parent = subprocess.Popen([sys.executable, "-c", SANDBOX], env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert not gone(child, polls=1)
    parent.kill()
    parent.wait(timeout=30)
    parent.stdout.close()
    assert gone(child)
