"""CLI workflows a team relies on: saved change sets, confirmation, locks, state inspection."""

from __future__ import annotations

import json
import socket

PLAN = "stack: {stack}\nresources:\n  data:\n    kind: bucket\n    versioning: {versioning}\n    force_destroy: true\n" \
       "  logs:\n    kind: bucket\noutputs:\n  data: ${{data.name}}\n"


def write(lepton, stack, versioning="false"):
    lepton.write("lepton.yaml", PLAN.format(stack=stack, versioning=versioning))


def test_a_saved_change_set_applies_exactly_and_is_refused_once_stale(lepton, sandbox_aws):
    write(lepton, "changes")
    saved = lepton("plan", "--sandbox", "-o", "changes.json")
    assert "lepton apply changes.json" in saved.stdout
    assert (lepton.cwd / "changes.json").stat().st_mode & 0o777 == 0o600
    write(lepton, "changes", versioning="true")  # the plan file moves on...
    stale = lepton("apply", "changes.json", check=1)
    assert "stale" in stale.stderr and "plan file changed" in stale.stderr
    assert lepton("state", "list", "--sandbox").stdout == ""  # ...and nothing was applied

    lepton("plan", "--sandbox", "-o", "changes.json")
    applied = lepton("apply", "changes.json")
    assert "Apply complete: 2 created" in applied.stdout
    again = lepton("apply", "changes.json", check=1)  # the state moved on
    assert "applied since the plan was made" in again.stderr
    lepton("destroy", "--sandbox", "--yes")


def test_apply_without_yes_and_without_a_terminal_changes_nothing(lepton):
    write(lepton, "confirm")
    refused = lepton("apply", "--sandbox", check=1, input="")
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert lepton("state", "list", "--sandbox").stdout == ""


def test_a_held_lock_names_its_holder_and_unlock_breaks_it(lepton):
    write(lepton, "locked")
    lock = lepton.cwd / ".lepton" / "sandbox" / "locked.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"id": "lock-1", "user": "ci", "host": "runner-7", "pid": 4242,
                                "command": "apply", "since": "2026-11-24T10:00:00+00:00"}))
    held = lepton("apply", "--sandbox", "--yes", check=1)
    assert "ci@runner-7, pid 4242" in held.stderr and "lepton state unlock lock-1" in held.stderr
    lepton("state", "unlock", "lock-1", "--sandbox")
    assert not lock.exists()


def test_a_stale_local_lock_is_taken_over(lepton):
    write(lepton, "stale")
    lock = lepton.cwd / ".lepton" / "sandbox" / "stale.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"id": "old", "user": "me", "host": socket.gethostname(), "pid": 2 ** 22 + 7,  # above the default pid_max: no such process
                                "command": "apply", "since": "2026-11-24T10:00:00+00:00"}))
    proc = lepton("plan", "--sandbox")  # plan does not lock
    assert "stale" not in proc.stderr
    applied = lepton("apply", "--sandbox", "--yes")
    assert "took over a stale lock" in applied.stderr
    lepton("destroy", "--sandbox", "--yes")


def test_show_state_show_output_and_target(lepton):
    write(lepton, "inspect")
    targeted = lepton("apply", "--sandbox", "--yes", "--target", "logs")
    assert "1 created" in targeted.stdout
    assert lepton("state", "list", "--sandbox").stdout.split() == ["logs/aws.s3_bucket"]
    lepton("apply", "--sandbox", "--yes")
    shown = lepton("show", "--sandbox").stdout
    assert "data (bucket)" in shown and "logs/aws.s3_bucket" in shown and "Outputs:" in shown
    record = lepton("state", "show", "data/aws.s3_bucket", "--sandbox", "--json").json()
    assert record["type"] == "aws.s3_bucket" and record["properties"]["force_destroy"] is True
    missing = lepton("state", "show", "data/aws.s3_bukket", "--sandbox", check=1)
    assert "did you mean 'data/aws.s3_bucket'" in missing.stderr
    assert lepton("output", "nope", "--sandbox", check=1).stderr.count("no output named") == 1
    graph = lepton("graph").stdout
    assert graph.startswith('digraph "inspect"') and '"data"' in graph
    state_file = lepton.cwd / ".lepton" / "sandbox" / "inspect.state.json"
    assert state_file.stat().st_mode & 0o777 == 0o600
    assert not (lepton.cwd / ".lepton" / "inspect.state.json").exists()  # sandbox state apart
    lepton("destroy", "--sandbox", "--yes")


def test_ctrl_c_during_apply_stops_gracefully_and_a_rerun_converges(lepton, sandbox_aws):
    import signal
    import subprocess
    import sys

    lepton.copy_example("quickstart.yaml")
    proc = subprocess.Popen([sys.executable, "-m", "lepton_cli.cli.main", "apply", "-f", "quickstart.yaml",
                             "--sandbox", "--yes", "--parallelism", "1"], cwd=lepton.cwd, env=lepton.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "creating" in line:  # the apply has started: press Ctrl-C once
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.stderr.read()
    proc.wait(timeout=120)
    assert proc.returncode == 1
    assert "Stopping: no new operations will start" in rest and "Apply interrupted" in rest
    assert "Traceback" not in rest
    recorded = lepton("state", "list", "-f", "quickstart.yaml", "--sandbox").stdout.split()
    assert 0 < len(recorded) < 9  # what finished is recorded; the rest never started

    lepton("apply", "-f", "quickstart.yaml", "--sandbox", "--yes")
    assert len(lepton("state", "list", "-f", "quickstart.yaml", "--sandbox").stdout.split()) == 9
    vpcs = sandbox_aws("ec2").describe_vpcs(Filters=[{"Name": "tag:lepton-stack", "Values": ["quickstart"]}])["Vpcs"]
    assert len(vpcs) == 1  # nothing duplicated
    lepton("destroy", "-f", "quickstart.yaml", "--sandbox", "--yes")
