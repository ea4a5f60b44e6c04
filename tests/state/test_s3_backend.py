"""The s3 state backend against moto (the sandbox's S3, served in this process on a loopback
port): locking by conditional writes, lost-update protection, crash safety, moving state,
and the errors a user must fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from lepton_cli.errors import LockHeldError, StateError
from lepton_cli.spec.models import Backend
from lepton_cli.state.local import LocalStateStore
from lepton_cli.state.remote import RemoteStateStore
from lepton_cli.state.s3 import S3Objects
from lepton_cli.state.store import move_state, new_state

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


def store(endpoint, bucket, tmp_path, stack="shop", prefix="team") -> RemoteStateStore:
    objects = S3Objects(bucket, "us-east-1", sandbox=True, endpoint=lambda: endpoint)
    return RemoteStateStore(objects, prefix, stack, tmp_path)


def body(s3, bucket, key):
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_objects_live_under_the_prefix_and_the_previous_version_is_kept(endpoint, bucket, s3, tmp_path):
    st = store(endpoint, bucket, tmp_path)
    assert st.read() is None
    state = new_state("shop")
    with st.locked("apply"):
        assert "team/shop.lock" in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        st.write(state)
        state.outputs["url"] = "http://one"
        st.write(state)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["team/shop.state.json", "team/shop.state.json.backup"]  # lock released
    assert body(s3, bucket, "team/shop.state.json")["serial"] == 2
    assert body(s3, bucket, "team/shop.state.json.backup")["serial"] == 1
    again = store(endpoint, bucket, tmp_path).read()
    assert (again.lineage, again.serial, again.outputs) == (state.lineage, 2, {"url": "http://one"})


def test_a_second_writer_is_refused_naming_the_holder_and_its_age(endpoint, bucket, tmp_path):
    first, second = store(endpoint, bucket, tmp_path), store(endpoint, bucket, tmp_path)
    with first.locked("apply") as lock:
        with pytest.raises(LockHeldError) as refused:
            second.acquire("destroy")
        text = str(refused.value.diagnostics[0])
        assert f"pid {os.getpid()}" in text and "`lepton apply`" in text and lock.id in text
        assert "less than a minute ago" in text and "another machine" in text
    with second.locked("destroy"):  # released: now free
        pass


def test_a_lock_is_released_only_by_its_owner(endpoint, bucket, s3, tmp_path):
    first, second = store(endpoint, bucket, tmp_path), store(endpoint, bucket, tmp_path)
    lock = first.acquire("apply")
    with pytest.raises(StateError, match="does not match"):
        second.force_unlock("not-the-id")
    second.force_unlock(lock.id)  # broken: the second run takes its own
    mine = second.acquire("apply")
    first.release(lock)  # the first run ends: it must not delete the second run's lock
    assert body(s3, bucket, "team/shop.lock")["id"] == mine.id
    second.release(mine)
    with pytest.raises(StateError, match="is not locked"):
        second.force_unlock(mine.id)


def test_a_writer_whose_lock_was_broken_cannot_overwrite_a_newer_state(endpoint, bucket, s3, tmp_path):
    slow, other = store(endpoint, bucket, tmp_path), store(endpoint, bucket, tmp_path)
    lock = slow.acquire("apply")
    state = new_state("shop")
    slow.write(state)  # serial 1
    other.force_unlock(lock.id)
    with other.locked("apply"):
        theirs = other.read()
        theirs.outputs["by"] = "other"
        other.write(theirs)  # serial 2
    state.outputs["by"] = "slow"
    state.primitives.clear()
    with pytest.raises(StateError) as refused:
        slow.write(state)
    text = str(refused.value.diagnostics[0])
    assert "another run wrote it since this one read it" in text and "serial 2" in text
    saved = tmp_path / "shop.state.json.rejected-2"
    assert saved.exists() and (saved.stat().st_mode & 0o777) == 0o600
    assert json.loads(saved.read_text())["outputs"] == {"by": "slow"}
    assert body(s3, bucket, "team/shop.state.json")["outputs"] == {"by": "other"}  # newer state intact
    # The run's later journal writes are refused too, each keeping its latest state in the file.
    state.outputs["by"] = "slow, later"
    with pytest.raises(StateError, match="another run wrote it"):
        slow.write(state)
    assert json.loads(saved.read_text())["outputs"] == {"by": "slow, later"}
    assert body(s3, bucket, "team/shop.state.json")["outputs"] == {"by": "other"}


def test_lineage_and_serial_are_checked_as_for_local_state(endpoint, bucket, tmp_path):
    st = store(endpoint, bucket, tmp_path)
    st.write(new_state("shop"))
    with pytest.raises(StateError, match="another history"):
        store(endpoint, bucket, tmp_path).write(new_state("shop"))
    current = store(endpoint, bucket, tmp_path)
    old = current.read()
    old.serial -= 1
    with pytest.raises(StateError, match="written by someone else meanwhile"):
        current.write(old)


def test_a_corrupt_state_object_is_one_clear_error_naming_the_backup(endpoint, bucket, s3, tmp_path):
    s3.put_object(Bucket=bucket, Key="team/shop.state.json", Body=b"{not json")
    with pytest.raises(StateError, match="is corrupt") as refused:
        store(endpoint, bucket, tmp_path).read()
    assert "team/shop.state.json.backup" in str(refused.value.diagnostics[0])


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


def test_two_processes_racing_for_the_lock(endpoint, bucket, s3, tmp_path):
    seed = store(endpoint, bucket, tmp_path)
    seed.write(new_state("shop"))
    go, finish = tmp_path / "go", tmp_path / "finish"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = {name: subprocess.Popen([sys.executable, "-c", RACER, endpoint, bucket, name, str(go), str(finish)],
                                     cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
              for name in ("a", "b")}
    go.touch()
    # The loser is refused while the winner holds the lock (it waits for `finish`).
    while all(proc.poll() is None for proc in racers.values()):
        time.sleep(0.05)
    [loser] = [name for name, proc in racers.items() if proc.poll() is not None]
    outcomes = {loser: racers[loser].communicate()}
    winner = "b" if loser == "a" else "a"
    out, err = outcomes[loser]
    assert racers[loser].returncode == 1, err
    assert "stack shop is locked by another lepton run" in out
    assert f"pid {racers[winner].pid}" in out and "`lepton apply`" in out
    finish.touch()
    out, err = racers[winner].communicate(timeout=60)
    assert racers[winner].returncode == 0 and "WON" in out, err
    state = store(endpoint, bucket, tmp_path).read()
    assert state.outputs == {"winner": winner} and state.serial == 2 and state.lineage == seed.read().lineage


KILLED = textwrap.dedent("""
    import sys
    from lepton_cli.state.remote import RemoteStateStore
    from lepton_cli.state.s3 import S3Objects
    from lepton_cli.state.model import PrimitiveRecord

    endpoint, bucket = sys.argv[1:3]
    store = RemoteStateStore(S3Objects(bucket, "us-east-1", sandbox=True, endpoint=lambda: endpoint),
                             "team", "shop", ".")
    state = store.read()
    for i in range(10_000):
        state.primitives[f"r{i}/aws.s3_bucket"] = PrimitiveRecord(
            type="aws.s3_bucket", cloud="aws", region="us-east-1", id=f"b{i}" * 40, resource=f"r{i}",
            kind="bucket", properties={"blob": "x" * 400})
        store.write(state)
        if i == 0:
            print("WRITING", flush=True)
""")


def test_sigkill_during_remote_writes_leaves_a_readable_state(endpoint, bucket, tmp_path):
    seed = store(endpoint, bucket, tmp_path)
    seed.write(new_state("shop"))
    proc = subprocess.Popen([sys.executable, "-c", KILLED, endpoint, bucket], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "WRITING"
    while store(endpoint, bucket, tmp_path).read().serial < 20:  # well into a stream of ever larger writes
        assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    state = store(endpoint, bucket, tmp_path).read()  # parses: the old or the new document, never torn
    assert state.lineage == seed.read().lineage and state.serial >= 2
    assert len(state.primitives) == state.serial - 1


def test_state_moves_local_to_remote_and_back(endpoint, bucket, tmp_path):
    local = LocalStateStore(tmp_path / "local", "shop")
    state = new_state("shop")
    state.outputs["url"] = "http://shop"
    local.write(state)
    remote = store(endpoint, bucket, tmp_path)
    moved = move_state(local, remote, "state push")
    assert moved.serial == 2
    back = store(endpoint, bucket, tmp_path).read()
    assert (back.lineage, back.outputs) == (state.lineage, {"url": "http://shop"})
    # The remote copy moves on (an apply from CI), then comes back.
    with remote.locked("apply"):
        back.outputs["url"] = "http://shop/v2"
        store(endpoint, bucket, tmp_path).write(back)
    with pytest.raises(StateError, match="it is newer than"):  # pushing the stale local copy: refused
        move_state(local, store(endpoint, bucket, tmp_path), "state push")
    move_state(store(endpoint, bucket, tmp_path), local, "state pull")
    pulled = LocalStateStore(tmp_path / "local", "shop").read()
    assert (pulled.lineage, pulled.outputs) == (state.lineage, {"url": "http://shop/v2"})


def test_moving_state_onto_another_history_is_refused(endpoint, bucket, s3, tmp_path):
    store(endpoint, bucket, tmp_path).write(new_state("shop"))
    before = body(s3, bucket, "team/shop.state.json")
    local = LocalStateStore(tmp_path / "local", "shop")
    local.write(new_state("shop"))
    with pytest.raises(StateError, match="another history"):
        move_state(local, store(endpoint, bucket, tmp_path), "state push")
    assert body(s3, bucket, "team/shop.state.json") == before
    with pytest.raises(StateError, match="another history"):
        move_state(store(endpoint, bucket, tmp_path), local, "state pull")


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
