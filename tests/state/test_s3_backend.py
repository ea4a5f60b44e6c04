"""The s3 state backend against moto (the sandbox's S3, served in this process on a loopback
port): locking by conditional writes, lost-update protection, crash safety, moving state,
and the errors a user must fix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from lepton_cli.errors import StateError
from lepton_cli.spec.models import Backend
from lepton_cli.state.remote import RemoteStateStore
from lepton_cli.state.s3 import S3Objects
from lepton_cli.state.store import new_state
from tests.state.remote_contract import Remote, RemoteContract

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    from lepton_cli.sandbox.testing import in_process_sandbox

    with in_process_sandbox(tmp_path_factory.mktemp("sandbox-home")) as status:
        yield status.endpoints["aws"]


@pytest.fixture
def s3(endpoint):
    import boto3

    from lepton_cli.drivers.aws.driver import SANDBOX_CREDENTIALS

    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint, **SANDBOX_CREDENTIALS)


@pytest.fixture
def bucket(s3):
    name = f"state-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def remote(endpoint, s3, bucket) -> Remote:
    return Remote(spec={"type": "s3", "endpoint": endpoint, "bucket": bucket},
                  keys=lambda: sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])),
                  raw_get=lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                  raw_put=lambda key, data: s3.put_object(Bucket=bucket, Key=key, Body=data))


class TestContract(RemoteContract):
    """The remote-state contract, against moto's S3."""


def store(endpoint, bucket, tmp_path, stack="shop", prefix="team") -> RemoteStateStore:
    objects = S3Objects(bucket, "us-east-1", sandbox=True, endpoint=lambda: endpoint)
    return RemoteStateStore(objects, prefix, stack, tmp_path)


def test_a_missing_bucket_is_one_clear_error_and_nothing_is_written(endpoint, s3, tmp_path):
    st = store(endpoint, "no-such-state-bucket", tmp_path)
    for action in (st.read, lambda: st.acquire("apply"), lambda: st.write(new_state("shop"))):
        with pytest.raises(StateError) as refused:
            action()
        diagnostic = refused.value.diagnostics[0]
        assert diagnostic.summary == "state bucket no-such-state-bucket does not exist"
        assert "create it first" in diagnostic.hint
    assert "no-such-state-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert list(tmp_path.iterdir()) == []


DENIED = textwrap.dedent("""
    import json, os, boto3
    from moto import mock_aws
    from moto.core import set_initial_no_auth_action_count
    from lepton_cli.errors import LeptonError
    from lepton_cli.state.remote import RemoteStateStore
    from lepton_cli.state.s3 import S3Objects
    from lepton_cli.state.store import new_state

    @set_initial_no_auth_action_count(4)  # the setup below; every later call is checked by IAM
    @mock_aws
    def main():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="ci")
        iam.put_user_policy(UserName="ci", PolicyName="list-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="acme-state")
        os.environ.update(AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
        store = RemoteStateStore(S3Objects("acme-state", "us-east-1"), "team", "shop", ".")
        for action in (store.read, lambda: store.acquire("apply"), lambda: store.write(new_state("shop"))):
            try:
                action()
                print("ALLOWED")
            except LeptonError as exc:
                print(exc.diagnostics[0].summary)
    main()
""")


def test_access_denied_is_one_clear_error(tmp_path):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "setup", "AWS_SECRET_ACCESS_KEY": "setup", "PYTHONPATH": str(REPO)}
    env.pop("AWS_PROFILE", None)
    proc = subprocess.run([sys.executable, "-c", DENIED], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["access to state bucket acme-state was denied"] * 3
    assert list(tmp_path.iterdir()) == []


RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from lepton_cli.errors import LeptonError
    from lepton_cli.state.remote import RemoteStateStore
    from lepton_cli.state.s3 import S3Objects

    endpoint, bucket, name, go, finish = sys.argv[1:6]
    store = RemoteStateStore(S3Objects(bucket, "us-east-1", sandbox=True, endpoint=lambda: endpoint),
                             "team", "shop", ".")
    while not Path(go).exists():
        time.sleep(0.01)
    try:
        with store.locked("apply"):
            state = store.read()
            state.outputs["winner"] = name
            store.write(state)
            print("WON", flush=True)
            while not Path(finish).exists():
                time.sleep(0.01)
    except LeptonError as exc:
        print(exc.diagnostics[0].summary, exc.diagnostics[0].detail, sep="\\n", flush=True)
        sys.exit(1)
""")


@pytest.mark.parametrize("fields, message", [
    ({"type": "s3", "prefix": "team"}, "the s3 backend needs `bucket:`"),
    ({"type": "s3", "bucket": "b", "path": "state"}, "`path` is for the local backend"),
    ({"type": "local", "bucket": "b"}, "bucket, prefix and region are for a remote backend"),
])
def test_the_backend_block_is_validated(fields, message):
    with pytest.raises(ValueError, match=message):
        Backend(**fields)
    assert Backend(type="s3", bucket="acme-lepton-state", prefix="team", region="us-east-1").bucket


def test_every_remote_backend_type_opens_its_store(tmp_path):
    from lepton_cli.state.store import state_store_for

    for backend, path in ((Backend(type="gcs", bucket="b"), "gs://b/shop.state.json"),
                          (Backend(type="azblob", account="acme", container="lepton"),
                           "azblob://acme/lepton/shop.state.json")):
        assert state_store_for(tmp_path / "lepton.yaml", "shop", backend, sandbox=False).path == path


@pytest.mark.parametrize("code, status, summary", [
    ("PermanentRedirect", 301, "state bucket acme-state is not in region us-east-1 (it is in eu-west-1)"),
    ("AuthorizationHeaderMalformed", 400, "state bucket acme-state is not in region us-east-1 (it is in eu-west-1)"),
    ("InvalidAccessKeyId", 403, "the AWS credentials were refused by S3 (unknown access key)"),
])
def test_a_wrong_region_or_unknown_key_is_one_clear_error(code, status, summary):
    """moto serves any bucket from any region and accepts any key when IAM is off, so the answers
    real S3 gives are replayed here with botocore's Stubber (what the service sends: the code,
    the status, the bucket's region in a header)."""
    from botocore.stub import Stubber

    objects = S3Objects("acme-state", "us-east-1", sandbox=True, endpoint=lambda: "http://127.0.0.1:9")
    with Stubber(objects.client) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=status,
                              response_meta={"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}})
        with pytest.raises(StateError) as refused:
            RemoteStateStore(objects, "team", "shop", Path(".")).read()
    assert refused.value.diagnostics[0].summary == summary
