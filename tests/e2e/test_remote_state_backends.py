"""Remote state on Azure Blob Storage (Azurite) and Cloud Storage (the project's emulator), as a
team uses it: two working directories (two machines) with the same plan file and the backend in
the sandbox, through the CLI."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.e2e.conftest import REPO, Lepton
from tests.e2e.test_remote_state import machines
from tests.e2e.test_state_only import error_lines, run


def plan_with(stack: str, backend: str) -> str:
    text = (REPO / "examples" / "quickstart.yaml").read_text().replace("stack: quickstart", f"stack: {stack}")
    return text + f"\nbackend: {backend}\n"


@pytest.fixture
def azblob_container(sandbox_home):
    """A fresh container in one of the sandbox's storage accounts, through the official SDK."""
    from azure.storage.blob import BlobServiceClient

    from lepton_cli.sandbox.manager import status

    seen = status(sandbox_home)
    assert "azblob" in seen.endpoints, seen.unavailable  # Azurite: `npm ci --prefix tests/node`
    account = "devstoreaccount1"  # the pool accounts are the ARM emulator's storage accounts
    key = json.loads((sandbox_home / "sandbox.json").read_text())["azblob_accounts"][account]
    service = BlobServiceClient(f"{seen.endpoints['azblob']}/{account}",
                                credential={"account_name": account, "account_key": key})
    return account, service.create_container(f"state-{uuid.uuid4().hex[:8]}")


def test_two_machines_share_one_stack_through_an_azblob_backend(lepton: Lepton, azblob_container):
    account, container = azblob_container
    stack = "team-azblob"
    laptop, ci = machines(lepton, plan_with(
        stack, f"{{type: azblob, account: {account}, container: {container.container_name}, prefix: team}}"))

    run(laptop, "apply", "--sandbox", "--yes", "--var", "web_count=1")
    state = json.loads(container.download_blob(f"team/{stack}.state.json").readall())
    assert state["stack"] == stack and state["primitives"]
    assert f"team/{stack}.lock" not in [b.name for b in container.list_blobs()]  # released
    assert not (laptop.cwd / ".lepton" / "sandbox" / f"{stack}.state.json").exists()  # nothing local

    assert run(ci, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=1").code == 0
    assert run(ci, "output", "--sandbox", "--json", "--var", "web_count=1").json()["bucket"] == \
        state["outputs"]["bucket"]
    run(ci, "destroy", "--sandbox", "--yes", "--var", "web_count=1")
    assert run(laptop, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=1", check=2).code == 2


def test_a_missing_container_is_one_clear_error(lepton: Lepton, azblob_container):
    account, _ = azblob_container
    laptop, _ = machines(lepton, plan_with("team-nocontainer",
                                           f"{{type: azblob, account: {account}, container: no-such-container}}"))
    result = run(laptop, "plan", "--sandbox", "--var", "web_count=1", check=1)
    assert error_lines(result) == [f"Error: state container no-such-container does not exist in storage account "
                                   f"{account}"]
    assert "Traceback" not in result.stderr


def test_two_machines_share_one_stack_through_a_gcs_backend(lepton: Lepton, sandbox_home):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from lepton_cli.sandbox.manager import status

    endpoints = status(sandbox_home).endpoints
    assert "gcs" in endpoints, endpoints
    bucket = storage.Client(project="lepton-sandbox", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": endpoints["gcs"]}).create_bucket(
        f"acme-state-{uuid.uuid4().hex[:8]}")
    stack = "team-gcs"
    laptop, ci = machines(lepton, plan_with(stack, f"{{type: gcs, bucket: {bucket.name}, prefix: team}}"))

    run(laptop, "apply", "--sandbox", "--yes", "--var", "web_count=1")
    state = json.loads(bucket.blob(f"team/{stack}.state.json").download_as_bytes())
    assert state["stack"] == stack and state["primitives"]
    assert f"team/{stack}.lock" not in [b.name for b in bucket.list_blobs()]
    assert not (laptop.cwd / ".lepton" / "sandbox" / f"{stack}.state.json").exists()

    assert run(ci, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=1").code == 0
    run(ci, "destroy", "--sandbox", "--yes", "--var", "web_count=1")
    assert json.loads(bucket.blob(f"team/{stack}.state.json").download_as_bytes())["primitives"] == {}
