"""The azblob state backend against Azurite (the sandbox's Azure Blob Storage, a child process
of the in-process sandbox): the remote-state contract, and the errors a user must fix."""

from __future__ import annotations

import uuid

import pytest

from lepton_cli.errors import LeptonError, StateError
from lepton_cli.spec.models import Backend
from lepton_cli.state.remote import RemoteStateStore
from tests.state.remote_contract import Remote, RemoteContract, objects_from_spec, refused_everywhere

ACCOUNT = "devstoreaccount1"  # the pool accounts are the ARM emulator's storage accounts


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from lepton_cli.sandbox.testing import in_process_sandbox

    with in_process_sandbox(tmp_path_factory.mktemp("sandbox-home")) as status:
        assert "azblob" in status.endpoints, status.unavailable  # Azurite: `npm ci --prefix tests/node`
        yield status


@pytest.fixture(scope="module")
def endpoint(sandbox):
    return sandbox.endpoints["azblob"]


def service(endpoint: str, account: str = ACCOUNT, key: str | None = None):
    from azure.storage.blob import BlobServiceClient

    from lepton_cli.sandbox.azurite import ACCOUNTS

    return BlobServiceClient(f"{endpoint}/{account}",
                             credential={"account_name": account, "account_key": key or ACCOUNTS[account]})


@pytest.fixture
def remote(endpoint) -> Remote:
    from lepton_cli.sandbox.azurite import ACCOUNTS

    name = f"state-{uuid.uuid4().hex[:12]}"
    container = service(endpoint).create_container(name)
    return Remote(
        spec={"type": "azblob", "endpoint": endpoint, "account": ACCOUNT, "key": ACCOUNTS[ACCOUNT], "container": name},
        keys=lambda: sorted(b.name for b in container.list_blobs()),
        raw_get=lambda key: container.download_blob(key).readall(),
        raw_put=lambda key, data: container.upload_blob(key, data, overwrite=True))


class TestContract(RemoteContract):
    """The remote-state contract, against Azurite."""


def azblob_store(endpoint, tmp_path, *, account=ACCOUNT, container="lepton", key=None) -> RemoteStateStore:
    from lepton_cli.sandbox.azurite import ACCOUNTS

    spec = {"type": "azblob", "endpoint": endpoint, "account": account, "container": container,
            "key": key or ACCOUNTS.get(account, ACCOUNTS[ACCOUNT])}
    return RemoteStateStore(objects_from_spec(spec), "team", "shop", tmp_path)


def test_a_missing_container_is_one_clear_error_and_nothing_is_written(endpoint, tmp_path):
    for error in refused_everywhere(azblob_store(endpoint, tmp_path, container="no-such-container")):
        diagnostic = error.diagnostics[0]
        assert diagnostic.summary == f"state container no-such-container does not exist in storage account {ACCOUNT}"
        assert "create it first" in diagnostic.hint and "az storage container create" in diagnostic.hint
    assert "no-such-container" not in [c.name for c in service(endpoint).list_containers()]
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_account_is_one_clear_error(endpoint, tmp_path):
    for error in refused_everywhere(azblob_store(endpoint, tmp_path, account="nosuchaccount")):
        assert error.diagnostics[0].summary == "storage account nosuchaccount does not exist"
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_key_is_refused_as_denied_and_nothing_is_written(endpoint, remote, tmp_path):
    """Azurite answers a request signed with another account's key 403 (Azure: 403 too)."""
    from lepton_cli.sandbox.azurite import ACCOUNTS

    wrong = dict(remote.spec, key=ACCOUNTS["leptonsandbox4"])
    for error in refused_everywhere(RemoteStateStore(objects_from_spec(wrong), "team", "shop", tmp_path)):
        diagnostic = error.diagnostics[0]
        assert diagnostic.summary == (f"access to state container {remote.spec['container']} in storage account "
                                      f"{ACCOUNT} was denied")
        assert "Storage Blob Data Contributor" in diagnostic.hint
    assert remote.keys() == [] and list(tmp_path.iterdir()) == []


def test_a_real_account_that_does_not_resolve_is_one_clear_error(tmp_path, monkeypatch):
    """A storage account that does not exist has no DNS name: the request never leaves this
    machine (`.invalid` never resolves), and the SDK's connection error becomes one message."""
    from azure.storage.blob import ContainerClient

    from lepton_cli.state.azblob import AzureBlobObjects

    objects = AzureBlobObjects("nosuchacct", "lepton")
    objects._client = ContainerClient("https://nosuchacct.blob.core.invalid", "lepton",
                                      credential={"account_name": "nosuchacct", "account_key": "bm8ta2V5"},
                                      retry_total=0)
    with pytest.raises(StateError) as refused:
        RemoteStateStore(objects, "team", "shop", tmp_path).read()
    assert refused.value.diagnostics[0].summary == "cannot reach storage account nosuchacct"
    assert "check `account:`" in refused.value.diagnostics[0].hint


def test_the_store_is_chosen_from_the_backend_block_and_recorded_without_credentials(endpoint, tmp_path):
    from lepton_cli.state.store import state_store_for, store_from_context

    backend = Backend(type="azblob", account="acmestate", container="lepton", prefix="team")
    store = state_store_for(tmp_path / "lepton.yaml", "shop", backend, sandbox=False)
    assert store.path == "azblob://acmestate/lepton/team/shop.state.json"
    assert store.settings() == {"type": "azblob", "account": "acmestate", "container": "lepton", "prefix": "team"}
    again = store_from_context(store.settings(), "shop", sandbox=False, directory=tmp_path)
    assert again.path == store.path


@pytest.mark.parametrize("fields, message", [
    ({"type": "azblob", "account": "acmestate"}, "the azblob backend needs `container:`"),
    ({"type": "azblob", "container": "lepton"}, "the azblob backend needs `account:`"),
    ({"type": "azblob", "account": "acmestate", "container": "lepton", "bucket": "b"},
     "`bucket` is not a field of the azblob backend; it takes account, container, prefix"),
    ({"type": "s3", "bucket": "b", "container": "lepton"}, "`container` is not a field of the s3 backend"),
    ({"type": "azblob", "account": "Acme_State", "container": "lepton"}, "is not a storage account name"),
    ({"type": "azblob", "account": "acmestate", "container": "a--b"}, "is not a blob container name"),
    ({"type": "local", "account": "acmestate"}, "account and container are for the azblob backend"),
])
def test_the_azblob_backend_block_is_validated(fields, message):
    with pytest.raises(ValueError, match=message):
        Backend(**fields)


def test_without_azurite_the_sandbox_says_why_and_the_backend_names_the_fix(tmp_path, monkeypatch):
    """A sandbox started where no Azurite can be found still serves the other clouds; an azblob
    backend with --sandbox then fails with one message saying how to install it."""
    from lepton_cli.sandbox import azurite
    from lepton_cli.sandbox.manager import status
    from lepton_cli.sandbox.runtime import write_runtime
    from lepton_cli.sandbox.server import serve_all
    from lepton_cli.state.azblob import AzureBlobObjects

    monkeypatch.setenv("LEPTON_AZURITE", str(tmp_path / "missing" / "azurite-blob"))
    monkeypatch.setenv("LEPTON_SANDBOX_HOME", str(tmp_path / "home"))
    running = serve_all()
    try:
        assert "azblob" not in running.endpoints and "aws" in running.endpoints
        write_runtime(tmp_path / "home", __import__("os").getpid(), running.endpoints, running.details)
        seen = status(tmp_path / "home")
        assert seen.running and "is not an executable file" in seen.to_json()["unavailable"]["azblob"]
        with pytest.raises(LeptonError) as refused:
            RemoteStateStore(AzureBlobObjects(ACCOUNT, "lepton", sandbox=True), "team", "shop", tmp_path).read()
        diagnostic = refused.value.diagnostics[0]
        assert diagnostic.summary.startswith("the sandbox has no Azure Blob Storage")
        assert "npm ci --prefix tests/node" in diagnostic.hint and "LEPTON_AZURITE" in diagnostic.detail
    finally:
        running.shutdown()
    assert azurite.find_binary({"LEPTON_AZURITE": "", "PATH": ""})[0]  # the checkout's own is found
