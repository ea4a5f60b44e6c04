"""Remote state on S3, as a team uses it: two working directories (two machines) with the same
plan file and an s3 backend in the sandbox, through the installed `lepton` console script."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from tests.e2e.conftest import REPO, Lepton, Result
from tests.e2e.test_state_only import LEPTON, error_lines, run


def team_plan(stack: str, bucket: str) -> str:
    text = (REPO / "examples" / "quickstart.yaml").read_text().replace("stack: quickstart", f"stack: {stack}")
    return text + f"\nbackend: {{type: s3, bucket: {bucket}, prefix: team, region: us-east-1}}\n"


def machines(lepton: Lepton, text: str) -> tuple[Lepton, Lepton]:
    found = []
    for name in ("laptop", "ci"):
        directory = lepton.cwd / name
        directory.mkdir()
        (directory / "lepton.yaml").write_text(text)
        found.append(Lepton(cwd=directory, env=lepton.env))
    return found[0], found[1]


def start(machine: Lepton, *args: str) -> subprocess.Popen:
    return subprocess.Popen([LEPTON, *args], cwd=machine.cwd, env=machine.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_machines_share_one_stack_through_an_s3_backend(lepton, sandbox_aws):
    stack, bucket = "team-shop", f"acme-state-{uuid.uuid4().hex[:8]}"
    s3 = sandbox_aws("s3")
    s3.create_bucket(Bucket=bucket)
    laptop, ci = machines(lepton, team_plan(stack, bucket))

    run(laptop, "apply", "--sandbox", "--yes", "--var", "web_count=1")
    state = json.loads(s3.get_object(Bucket=bucket, Key=f"team/{stack}.state.json")["Body"].read())
    assert state["stack"] == stack and state["primitives"]
    assert not (laptop.cwd / ".lepton" / "sandbox" / f"{stack}.state.json").exists()  # nothing local
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"team/{stack}.lock" not in keys  # released

    # The other machine sees the same state: nothing to do.
    plan = run(ci, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=1")
    assert plan.code == 0
    assert run(ci, "output", "--sandbox", "--json", "--var", "web_count=1").json()["bucket"] == \
        state["outputs"]["bucket"]

    # Two applies started together: one runs, the other is refused, naming the holder.
    first, second = (start(m, "apply", "--sandbox", "--yes", "--var", "web_count=2") for m in (laptop, ci))
    results = [Result(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in (first, second)]
    refused = [r for r in results if r.code == 1]
    assert sorted(r.code for r in results) == [0, 1], results
    [line] = error_lines(refused[0])
    assert line == f"Error: stack {stack} is locked by another lepton run"
    other_pid = (first if results[1] is refused[0] else second).pid
    assert f"pid {other_pid}" in refused[0].stderr and "`lepton apply`" in refused[0].stderr
    assert "ago" in refused[0].stderr and "lepton state unlock" in refused[0].stderr
    assert run(laptop, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=2").code == 0

    # A change set planned on one machine is applied against the remote state.
    run(ci, "plan", "--sandbox", "--var", "web_count=1", "-o", "changes.json")
    run(ci, "apply", "changes.json", "--sandbox", "--yes", "--var", "web_count=1")
    assert run(laptop, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=1").code == 0

    run(laptop, "destroy", "--sandbox", "--yes", "--var", "web_count=1")
    assert json.loads(s3.get_object(Bucket=bucket, Key=f"team/{stack}.state.json")["Body"].read())[
        "primitives"] == {}


def test_a_remote_lock_is_broken_only_after_confirmation(lepton, sandbox_aws):
    stack, bucket = "team-lock", f"acme-state-{uuid.uuid4().hex[:8]}"
    s3 = sandbox_aws("s3")
    s3.create_bucket(Bucket=bucket)
    laptop, _ = machines(lepton, team_plan(stack, bucket))
    holder = {"id": "3f1c-held", "user": "ci", "host": "runner-7", "pid": 4242, "command": "apply",
              "since": "2026-01-01T00:00:00+00:00"}
    s3.put_object(Bucket=bucket, Key=f"team/{stack}.lock", Body=json.dumps(holder).encode())

    apply = run(laptop, "apply", "--sandbox", "--yes", "--var", "web_count=1", check=1)
    assert "held by ci@runner-7, pid 4242, running `lepton apply` since 2026-01-01T00:00:00+00:00 (" in apply.stderr
    assert "days ago" in apply.stderr and "lepton cannot check a process on another machine" in apply.stderr

    no_tty = run(laptop, "state", "unlock", "3f1c-held", "--sandbox", check=1)
    assert error_lines(no_tty) == ["Error: state unlock 3f1c-held needs confirmation, and there is no terminal to "
                                   "ask on"]
    assert "lepton state unlock 3f1c-held --yes" in no_tty.stderr
    not_it = run(laptop, "state", "unlock", "nope", "--sandbox", check=1)  # checked before asking
    assert error_lines(not_it) == [f"Error: lock id nope does not match the lock on stack {stack}"]
    assert s3.get_object(Bucket=bucket, Key=f"team/{stack}.lock")  # still there
    wrong = run(laptop, "state", "unlock", "nope", "--sandbox", "--yes", check=1)
    assert error_lines(wrong) == [f"Error: lock id nope does not match the lock on stack {stack}"]
    done = run(laptop, "state", "unlock", "3f1c-held", "--sandbox", "--yes")
    assert f"Released lock 3f1c-held on stack {stack}" in done.stdout
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_missing_state_bucket_is_one_clear_error(lepton, sandbox_aws):
    laptop, _ = machines(lepton, team_plan("team-missing", "no-such-state-bucket"))
    for args in (["plan"], ["apply", "--yes"]):
        result = run(laptop, *args, "--sandbox", "--var", "web_count=1", check=1)
        assert error_lines(result) == ["Error: state bucket no-such-state-bucket does not exist"]
        assert "create it first" in result.stderr
    assert not (laptop.cwd / ".lepton" / "sandbox" / "team-missing.state.json").exists()
    assert "no-such-state-bucket" not in [b["Name"] for b in sandbox_aws("s3").list_buckets()["Buckets"]]


def test_state_moves_to_the_bucket_and_back(lepton, sandbox_aws):
    stack, bucket = "team-move", f"acme-state-{uuid.uuid4().hex[:8]}"
    s3 = sandbox_aws("s3")
    s3.create_bucket(Bucket=bucket)
    laptop, ci = machines(lepton, team_plan(stack, bucket))
    local_plan = (REPO / "examples" / "quickstart.yaml").read_text().replace("stack: quickstart", f"stack: {stack}")
    (laptop.cwd / "local.yaml").write_text(local_plan)
    run(laptop, "apply", "-f", "local.yaml", "--sandbox", "--yes", "--var", "web_count=1")
    recorded = run(laptop, "state", "list", "-f", "local.yaml", "--sandbox").stdout.split()

    pushed = run(laptop, "state", "push", "--sandbox", "--var", "web_count=1")
    assert f"to s3://{bucket}/team/{stack}.state.json" in pushed.stdout
    assert run(ci, "state", "list", "--sandbox", "--var", "web_count=1").stdout.split() == recorded
    assert run(ci, "plan", "--sandbox", "--detailed-exitcode", "--var", "web_count=1").code == 0

    # Back: into the other machine's local state, which it then uses without the backend block.
    pulled = run(ci, "state", "pull", "--sandbox", "--var", "web_count=1")
    assert f"from s3://{bucket}/team/{stack}.state.json" in pulled.stdout
    (ci.cwd / "local.yaml").write_text(local_plan)
    assert run(ci, "plan", "-f", "local.yaml", "--sandbox", "--detailed-exitcode", "--var", "web_count=1").code == 0

    # A state of another history in the bucket is never overwritten.
    other = team_plan(stack, bucket).replace(f"stack: {stack}", "stack: team-other").replace(
        "prefix: team", "prefix: other")
    (ci.cwd / "other.yaml").write_text(other)
    run(ci, "apply", "-f", "other.yaml", "--sandbox", "--yes", "--var", "web_count=1")
    s3.copy_object(Bucket=bucket, Key=f"team/{stack}.state.json",
                   CopySource={"Bucket": bucket, "Key": "other/team-other.state.json"})
    refused = run(laptop, "state", "push", "--sandbox", "--var", "web_count=1", check=1)
    assert "another history" in error_lines(refused)[0]
    run(ci, "destroy", "-f", "other.yaml", "--sandbox", "--yes", "--var", "web_count=1")
    run(ci, "destroy", "-f", "local.yaml", "--sandbox", "--yes", "--var", "web_count=1")
    assert Path(ci.cwd / ".lepton" / "sandbox" / f"{stack}.state.json").exists()
