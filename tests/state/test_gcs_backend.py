"""The gcs state backend against the project's Cloud Storage emulator (served in this process on
a loopback port, driven through google-cloud-storage): the remote-state contract, the bucket's
own versioning, and the errors a user must fix."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from lepton_cli.spec.models import Backend
from lepton_cli.state.gcs import SANDBOX_PROJECT
from lepton_cli.state.remote import RemoteStateStore
from lepton_cli.state.store import new_state
from tests.state.remote_contract import Remote, RemoteContract, objects_from_spec, refused_everywhere


@pytest.fixture(scope="module")
def endpoint(gcp_endpoints):
    return gcp_endpoints["storage"]


def client(endpoint):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=SANDBOX_PROJECT, credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": endpoint})


def new_bucket(endpoint, versioning: bool = False):
    bucket = client(endpoint).bucket(f"state-{uuid.uuid4().hex[:12]}")
    bucket.versioning_enabled = versioning
    bucket.create()
    return bucket


@pytest.fixture
def remote(endpoint) -> Remote:
    bucket = new_bucket(endpoint)
    return Remote(spec={"type": "gcs", "endpoint": endpoint, "bucket": bucket.name},
                  keys=lambda: sorted(b.name for b in bucket.list_blobs()),
                  raw_get=lambda key: bucket.blob(key).download_as_bytes(),
                  raw_put=lambda key, data: bucket.blob(key).upload_from_string(data))


class TestContract(RemoteContract):
    """The remote-state contract, against the Cloud Storage emulator."""


def gcs_store(endpoint, bucket: str, tmp_path) -> RemoteStateStore:
    return RemoteStateStore(objects_from_spec({"type": "gcs", "endpoint": endpoint, "bucket": bucket}),
                            "team", "shop", tmp_path)


def test_a_versioned_bucket_keeps_the_previous_state_itself(endpoint, tmp_path):
    bucket = new_bucket(endpoint, versioning=True)
    st = gcs_store(endpoint, bucket.name, tmp_path)
    state = new_state("shop")
    with st.locked("apply"):
        st.write(state)
        state.outputs["url"] = "http://two"
        st.write(state)
    assert [b.name for b in bucket.list_blobs()] == ["team/shop.state.json"]  # no .backup object
    versions = sorted((b.generation, json.loads(b.download_as_bytes())["serial"])
                      for b in bucket.list_blobs(versions=True) if b.name == "team/shop.state.json")
    assert [serial for _, serial in versions] == [1, 2]  # the previous one is a noncurrent generation


def test_a_missing_bucket_is_one_clear_error_and_nothing_is_written(endpoint, tmp_path):
    for error in refused_everywhere(gcs_store(endpoint, "no-such-state-bucket", tmp_path)):
        diagnostic = error.diagnostics[0]
        assert diagnostic.summary == "state bucket no-such-state-bucket does not exist"
        assert "create it first" in diagnostic.hint and "gcloud storage buckets create" in diagnostic.hint
    assert "no-such-state-bucket" not in [b.name for b in client(endpoint).list_buckets()]
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def denying_endpoint():
    """A loopback server answering every request as Cloud Storage answers a principal without
    storage.objects.* on the bucket: 403 in Google's JSON error format. (The emulator serves
    anonymous callers with every permission, so the refusal is replayed here, through the
    official SDK's whole HTTP path.)"""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Response

    from lepton_cli.sandbox.gcp.storage.errors import StorageError

    seen = []

    def app(environ, start_response):
        seen.append(environ["REQUEST_METHOD"])
        error = StorageError(403, "forbidden", "ci@acme.iam.gserviceaccount.com does not have "
                                               "storage.objects.get access to the Google Cloud Storage object.")
        return Response(json.dumps(error.body()), status=403, content_type="application/json")(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_access_denied_is_one_clear_error_and_nothing_is_written(denying_endpoint, tmp_path):
    url, seen = denying_endpoint
    for error in refused_everywhere(gcs_store(url, "acme-state", tmp_path)):
        diagnostic = error.diagnostics[0]
        assert diagnostic.summary == "access to state bucket acme-state was denied"
        assert "roles/storage.objectUser" in diagnostic.hint
    assert seen and list(tmp_path.iterdir()) == []


def test_the_store_is_chosen_from_the_backend_block_and_recorded_without_credentials(tmp_path):
    from lepton_cli.state.store import state_store_for, store_from_context

    store = state_store_for(tmp_path / "lepton.yaml", "shop", Backend(type="gcs", bucket="acme-state", prefix="team"),
                            sandbox=False)
    assert store.path == "gs://acme-state/team/shop.state.json"
    assert store.settings() == {"type": "gcs", "bucket": "acme-state", "prefix": "team"}
    assert store_from_context(store.settings(), "shop", sandbox=False, directory=tmp_path).path == store.path


def test_a_gcs_backend_block_takes_no_region():
    with pytest.raises(ValueError, match="`region` is not a field of the gcs backend; it takes bucket, prefix"):
        Backend(type="gcs", bucket="acme-state", region="us-central1")
