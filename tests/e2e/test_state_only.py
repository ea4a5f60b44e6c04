"""Read-only commands and destroy work from state alone (`--stack NAME`), without the plan file
or its variables; through the installed `lepton` console script, against the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import REPO, Result, tagged_with_stack

LEPTON = str(Path(sys.executable).parent / "lepton")  # the console script pip installed


def run(lepton, *args: str, check: int | None = 0) -> Result:
    proc = subprocess.run([LEPTON, *args], cwd=lepton.cwd, env=lepton.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    if check is not None:
        assert result.code == check, f"lepton {' '.join(args)} exited {result.code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "Internal error" not in result.stderr
    return result


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def quickstart_as(lepton, stack: str) -> Path:
    """examples/quickstart.yaml (a bucket, a compute group, its network) under another stack name."""
    text = (REPO / "examples" / "quickstart.yaml").read_text().replace("stack: quickstart", f"stack: {stack}")
    return lepton.write("lepton.yaml", text)


def test_read_only_commands_and_destroy_need_only_state(lepton, sandbox_aws):
    stack = "state-only"
    plan_file = quickstart_as(lepton, stack)
    run(lepton, "apply", "--sandbox", "--yes", "--var", "web_count=1")
    recorded = run(lepton, "state", "list", "--sandbox").stdout.split()
    outputs = run(lepton, "output", "--sandbox", "--json").json()
    assert len(recorded) == 9 and outputs["bucket"].startswith(f"{stack}-assets-")
    plan_file.unlink()

    # Without the plan file, without its variables: everything read from .lepton/sandbox/.
    assert run(lepton, "output", "--stack", stack, "--sandbox", "--json").json() == outputs
    assert run(lepton, "output", "bucket", "--stack", stack, "--sandbox").stdout.strip() == outputs["bucket"]
    shown = run(lepton, "show", "--stack", stack, "--sandbox").stdout
    assert f"Stack {stack}" in shown and "web (compute)" in shown and "assets/aws.s3_bucket" in shown
    assert f"bucket = {outputs['bucket']}" in shown
    assert run(lepton, "state", "list", "--stack", stack, "--sandbox").stdout.split() == recorded
    record = run(lepton, "state", "show", "assets/aws.s3_bucket", "--stack", stack, "--sandbox", "--json").json()
    assert record["id"] == outputs["bucket"] and record["properties"]["versioning"] is True
    assert "type: aws.autoscaling_group" in run(lepton, "state", "show", "web/aws.autoscaling_group",
                                                  "--stack", stack, "--sandbox").stdout

    # An object the stack owns that state lost track of is found by the stack's marker in the
    # region state names, and destroyed with the rest.
    state_file = lepton.cwd / ".lepton" / "sandbox" / f"{stack}.state.json"
    state = json.loads(state_file.read_text())
    del state["primitives"]["assets/aws.s3_bucket"]
    state_file.write_text(json.dumps(state))
    assert outputs["bucket"] in tagged_with_stack(sandbox_aws, stack)

    refused = run(lepton, "destroy", "--stack", stack, "--sandbox", check=1)  # no terminal to confirm on
    assert error_lines(refused) == ["Error: destroy needs confirmation, and there is no terminal to ask on"]
    assert len(tagged_with_stack(sandbox_aws, stack)) > 1  # nothing was deleted

    destroyed = run(lepton, "destroy", "--stack", stack, "--sandbox", "--yes")
    assert f"Destroying stack {stack} from its state alone" in destroyed.stderr
    assert "Destroy complete" in destroyed.stdout and "9 deleted" in destroyed.stdout
    assert tagged_with_stack(sandbox_aws, stack) == []
    assert run(lepton, "state", "list", "--stack", stack, "--sandbox").stdout == ""


PLAN_WITH_VARIABLE = """\
stack: {stack}
resources:
  data:
    kind: bucket
    versioning: {{{{ var.versioning }}}}
    force_destroy: true
outputs:
  data: ${{data.name}}
"""


def test_a_plan_file_with_a_missing_variable_does_not_block_reading_state(lepton, sandbox_aws):
    stack = "missing-var"
    lepton.write("lepton.yaml", PLAN_WITH_VARIABLE.format(stack=stack))
    run(lepton, "apply", "--sandbox", "--yes", "--var", "versioning=true")
    bucket = run(lepton, "output", "data", "--sandbox", "--var", "versioning=true").stdout.strip()

    note = "lepton.yaml cannot be loaded (variable 'versioning' is not set); using the state of stack missing-var alone"
    out = run(lepton, "output", "--sandbox", "--json")
    assert out.json() == {"data": bucket} and note in out.stderr
    assert run(lepton, "state", "list", "--sandbox").stdout.split() == ["data/aws.s3_bucket"]
    assert f"data/aws.s3_bucket  {bucket}" in run(lepton, "show", "--sandbox").stdout
    assert run(lepton, "state", "show", "data/aws.s3_bucket", "--sandbox", "--json").json()["id"] == bucket

    # destroy never guesses: the variable is still needed, unless --stack says to use state alone.
    refused = run(lepton, "destroy", "--sandbox", "--yes", check=1)
    assert "variable 'versioning' is not set" in refused.stderr and f"--stack {stack}" in refused.stderr
    assert bucket in tagged_with_stack(sandbox_aws, stack)  # nothing was deleted
    destroyed = run(lepton, "destroy", "--sandbox", "--yes", "--stack", stack)
    assert note in destroyed.stderr and "1 deleted" in destroyed.stdout
    assert tagged_with_stack(sandbox_aws, stack) == []


def test_state_kept_elsewhere_is_found_with_state_dir(lepton, sandbox_aws):
    stack = "elsewhere"
    lepton.write("lepton.yaml", PLAN_WITH_VARIABLE.format(stack=stack))
    run(lepton, "apply", "--sandbox", "--yes", "--var", "versioning=false", "--state-dir", "states")
    (lepton.cwd / "lepton.yaml").unlink()

    missing = run(lepton, "output", "--stack", stack, "--sandbox", check=1)  # not in ./.lepton
    assert error_lines(missing) == [f"Error: no state for stack '{stack}': "
                                    f"{lepton.cwd / '.lepton' / 'sandbox'} does not exist"]
    assert "--state-dir DIR" in missing.stderr
    assert run(lepton, "output", "--stack", stack, "--sandbox", "--state-dir", "states", "--json").json()["data"]
    run(lepton, "destroy", "--stack", stack, "--sandbox", "--state-dir", "states", "--yes")
    assert tagged_with_stack(sandbox_aws, stack) == []


def test_mistakes_end_in_one_clear_error(lepton):
    sandbox_state = lepton.cwd / ".lepton" / "sandbox"
    for command in (["output"], ["show"], ["state", "list"], ["destroy", "--yes"]):
        nothing = run(lepton, *command, "--stack", "ghost", "--sandbox", check=1)  # no state dir at all
        assert error_lines(nothing) == [f"Error: no state for stack 'ghost': {sandbox_state} does not exist"]
    # A plan file that cannot be loaded, of a stack without state: its own error is the news.
    lepton.write("lepton.yaml", PLAN_WITH_VARIABLE.format(stack="ghost"))
    broken = run(lepton, "show", "--sandbox", check=1)
    assert len(error_lines(broken)) == 1 and "variable 'versioning' is not set" in broken.stderr

    lepton.write("lepton.yaml", "stack: alpha\nresources:\n  b: {kind: bucket}\n")
    run(lepton, "apply", "--sandbox", "--yes")
    lepton.write("lepton.yaml", "stack: beta\nresources:\n  b: {kind: bucket}\n")
    run(lepton, "apply", "--sandbox", "--yes")
    (lepton.cwd / "lepton.yaml").unlink()

    for command in (["output"], ["show"], ["state", "list"], ["state", "show", "b/aws.s3_bucket"],
                    ["destroy", "--yes"]):
        unknown = run(lepton, *command, "--stack", "gamma", "--sandbox", check=1)
        assert error_lines(unknown) == [f"Error: no state for stack 'gamma' in {sandbox_state}"]
        assert "stacks with state there: alpha, beta" in unknown.stderr

    no_plan = run(lepton, "output", "--sandbox", check=1)
    assert error_lines(no_plan) == ["Error: no plan file at lepton.yaml"]
    assert "--stack NAME" in no_plan.stderr and "alpha, beta" in no_plan.stderr

    real = run(lepton, "show", "--stack", "alpha", check=1)  # the state is the sandbox's
    assert "has sandbox state" in real.stderr and "add --sandbox" in real.stderr
    bad = run(lepton, "output", "--stack", "../alpha", "--sandbox", check=1)
    assert error_lines(bad) == ["Error: --stack '../alpha' is not a stack name"]

    lock = sandbox_state / "alpha.lock"  # a holder that died on another host: unlock works from state alone
    lock.write_text(json.dumps({"id": "lock-9", "user": "ci", "host": "runner-3", "pid": 4242,
                                "command": "apply", "since": "2026-11-24T10:00:00+00:00"}))
    held = run(lepton, "destroy", "--stack", "alpha", "--sandbox", "--yes", check=1)
    assert "lepton state unlock lock-9" in held.stderr
    unlocked = run(lepton, "state", "unlock", "lock-9", "--stack", "alpha", "--sandbox")
    assert "Released lock lock-9 on stack alpha" in unlocked.stdout and not lock.exists()

    for stack in ("alpha", "beta"):
        run(lepton, "destroy", "--stack", stack, "--sandbox", "--yes")
    assert run(lepton, "show", "--stack", "alpha", "--sandbox").stdout.startswith("Stack alpha owns nothing")
