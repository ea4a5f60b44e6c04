"""Ctrl-C and progress tell the truth (issue 8 item 7): a real SIGINT to a running `lepton`
against the sandbox, during apply (the report says *interrupted*, counts and names what did not
start) and during refresh (one line, exit 130); destroy's progress says "Destroying"; the live
display shows each operation in flight with its elapsed time."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import threading

import pytest

from tests.faults.proxy import Action, FaultProxy

pytestmark = pytest.mark.e2e

QUICKSTART_OPERATIONS = 9  # what examples/quickstart.yaml creates


def start(lepton, *args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lepton_cli.cli.main", *args], cwd=lepton.cwd,
                            env=env or lepton.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupt_at_first_operation(proc: subprocess.Popen) -> tuple[str, str]:
    """Press Ctrl-C once as soon as the first operation starts; (stdout, rest of stderr)."""
    for line in proc.stderr:
        if line.rstrip().endswith("creating…"):
            proc.send_signal(signal.SIGINT)
            break
    else:
        raise AssertionError("the apply never started an operation")
    stdout, rest = proc.communicate(timeout=300)
    return stdout, rest


def test_ctrl_c_during_apply_reports_interrupted_and_what_did_not_start(lepton):
    lepton.copy_example("quickstart.yaml")
    proc = start(lepton, "apply", "-f", "quickstart.yaml", "--sandbox", "--yes", "--parallelism", "1")
    _, rest = interrupt_at_first_operation(proc)
    assert proc.returncode == 1
    assert "Traceback" not in rest and "Internal error" not in rest
    assert "Fix the cause" not in rest and "failed —" not in rest
    counts = re.search(r"Apply interrupted: (\d+) completed, (\d+) failed, (\d+) not started\.", rest)
    assert counts, rest
    completed, failed, skipped = map(int, counts.groups())
    assert failed == 0 and skipped > 5 and completed + skipped == QUICKSTART_OPERATIONS
    named = [line for line in rest.splitlines() if line.endswith("not started (interrupted)")]
    assert len(named) == 5  # the first few, by address
    assert f"… and {skipped - 5} more not started (`--json` lists them all)" in rest
    assert "Stopped by Ctrl-C. State records everything that completed; run `lepton apply` again" in rest

    lepton("apply", "-f", "quickstart.yaml", "--sandbox", "--yes")
    destroyed = lepton("destroy", "-f", "quickstart.yaml", "--sandbox", "--yes")
    assert f"Destroying ({QUICKSTART_OPERATIONS} operations)…" in destroyed.stderr
    assert "Applying" not in destroyed.stderr and "creating" not in destroyed.stderr
    assert "Destroy complete:" in destroyed.stdout


def test_ctrl_c_during_apply_json_lists_every_skipped_operation(lepton):
    lepton.copy_example("quickstart.yaml")
    proc = start(lepton, "apply", "-f", "quickstart.yaml", "--sandbox", "--yes", "--parallelism", "1", "--json")
    stdout, rest = interrupt_at_first_operation(proc)
    assert proc.returncode == 1
    document = json.loads(stdout)
    assert document["ok"] is False and document["interrupted"] is True and document["failed"] == {}
    assert len(document["completed"]) + len(document["skipped"]) == QUICKSTART_OPERATIONS
    assert len(document["skipped"]) > 5
    assert "Apply interrupted" not in stdout and "Traceback" not in rest
    lepton("destroy", "-f", "quickstart.yaml", "--sandbox", "--yes")


class HoldReads:
    """Proxy policy: hold the first AWS read (the refresh; not the sandbox's health probe) until released."""

    def __init__(self):
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, call) -> Action:
        if call.service and not call.mutating and not self.release.is_set():
            self.reached.set()
            self.release.wait(120)
        return Action.FORWARD


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"], ["destroy", "--yes"]], ids=lambda c: c[0])
def test_ctrl_c_during_refresh_is_one_line_and_exit_130(lepton, sandbox_home, command):
    lepton.copy_example("quickstart.yaml")
    hold = HoldReads()
    with FaultProxy.for_sandbox(sandbox_home, hold) as proxy:
        proc = start(lepton, *command, "-f", "quickstart.yaml", "--sandbox", env=proxy.env(lepton.env))
        try:
            assert hold.reached.wait(120), "the refresh never reached the cloud"
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=2)  # it may wait for the held read to come back: then let it
            except subprocess.TimeoutExpired:
                pass
        finally:
            hold.release.set()
        stdout, stderr = proc.communicate(timeout=120)
        mutating = [c for c in proxy.calls if c.mutating]
    assert proc.returncode == 130, stderr
    assert stdout == ""
    assert stderr.splitlines() == [
        "Interrupted: stopped while reading the stack's objects from the clouds; nothing was changed"]
    assert not mutating
    assert not (lepton.cwd / ".lepton" / "sandbox" / "quickstart.state.json").exists()


# -- the live display (a terminal) -------------------------------------------------------------------
def test_the_live_display_shows_operations_in_flight_with_their_elapsed_time():
    from rich.console import Console

    from lepton_cli.engine.executor import Event
    from lepton_cli.engine.model import Action as Op
    from lepton_cli.ui.console import THEME, Output
    from lepton_cli.ui.progress import ApplyProgress

    sink = io.StringIO()
    err = Console(file=sink, force_terminal=True, width=120, theme=THEME, color_system=None)
    out = Output(out=Console(file=io.StringIO()), err=err, color=True)
    with ApplyProgress(out, total=3, verb="Destroy") as progress:
        progress(Event("start", "web/aws.autoscaling_group", Op.DELETE))
        progress(Event("start", "assets/aws.s3_bucket", Op.DELETE))
        progress._progress.refresh()
        live = sink.getvalue()
        assert [a for a, _, _ in progress.in_flight()] == ["web/aws.autoscaling_group", "assets/aws.s3_bucket"]
        progress(Event("done", "assets/aws.s3_bucket", Op.DELETE))
        progress(Event("skipped", "net/aws.vpc", Op.DELETE, "interrupted"))
        assert [a for a, _, _ in progress.in_flight()] == ["web/aws.autoscaling_group"]
    assert "Destroying" in live and "Applying" not in live
    assert re.search(r"deleting web/aws\.autoscaling_group\s+0:00:0\d", live), live
    assert re.search(r"deleting assets/aws\.s3_bucket\s+0:00:0\d", live), live
    assert "0/3" in live
    assert progress.skipped == {"net/aws.vpc": "interrupted"}
    assert "assets/aws.s3_bucket: deleted" in sink.getvalue()


def test_plain_progress_says_what_it_still_waits_for():
    from rich.console import Console

    from lepton_cli.engine.executor import Event
    from lepton_cli.engine.model import Action as Op
    from lepton_cli.ui.console import THEME, Output
    from lepton_cli.ui.progress import ApplyProgress

    sink = io.StringIO()
    err = Console(file=sink, force_terminal=False, theme=THEME, no_color=True)
    out = Output(out=Console(file=io.StringIO()), err=err, color=False)
    progress = ApplyProgress(out, total=1, verb="Apply", still_every=0.05)
    with progress:
        progress(Event("start", "cdn/aws.cloudfront_distribution", Op.CREATE))
        while "still creating" not in sink.getvalue():
            threading.Event().wait(0.01)
        progress(Event("done", "cdn/aws.cloudfront_distribution", Op.CREATE))
    lines = sink.getvalue().splitlines()
    assert lines[0] == "Applying (1 operation)…"
    assert lines[1] == "cdn/aws.cloudfront_distribution: creating…"
    assert re.fullmatch(r"cdn/aws\.cloudfront_distribution: still creating… \(\d+s elapsed\)", lines[2])
    assert re.fullmatch(r"cdn/aws\.cloudfront_distribution: created \(\d+\.\ds\)", lines[-1])
