"""Sensitive variables through the installed `lepton` command: the secret is never shown,
never saved in clear, still compared (no-op / update), and re-checked by `apply CHANGES`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "hunter2-Sw0rdfish"
OTHER = "correct-horse-battery"

PLAN = """stack: {stack}
variables:
  db_password: {{sensitive: true, description: "the app's database password"}}
  web_count: {{default: 1}}
resources:
  web:
    kind: compute
    size: {{cpus: 1}}
    count: {{{{ var.web_count }}}}
    user_data: |
      #!/bin/bash
      export DB_PASSWORD={{{{ var.db_password }}}}
      echo started
outputs:
  dsn: "postgres://app:{{{{ var.db_password }}}}@db.internal/app"
  group: ${{web.group_id}}
"""


def _script() -> str:
    """The `lepton` console script installed beside this Python."""
    found = Path(sys.executable).with_name("lepton")
    return str(found) if found.exists() else shutil.which("lepton")


class Run:
    """`lepton ...` as a user runs it, every output kept to look for the secret in."""

    def __init__(self, lepton):
        self.lepton = lepton
        self.seen: list[str] = []

    def __call__(self, *args: str, check: int | None = 0, env: dict[str, str] | None = None):
        proc = subprocess.run([_script(), *args], cwd=self.lepton.cwd, env={**self.lepton.env, **(env or {})},
                              capture_output=True, text=True, timeout=600)
        self.seen += [proc.stdout, proc.stderr]
        if check is not None:
            assert proc.returncode == check, f"lepton {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc


def _files(directory: Path) -> dict[str, str]:
    return {str(p): p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file()}


@pytest.fixture
def run(lepton):
    lepton.write("lepton.yaml", PLAN.format(stack="secrets"))
    return Run(lepton)


def test_a_sensitive_variable_is_never_shown_or_stored_in_clear(run, lepton):
    var = f"--var=db_password={SECRET}"
    plan = run("plan", "--sandbox", var)
    assert "(sensitive)" in plan.stdout
    planned = json.loads(run("plan", "--sandbox", var, "--json").stdout)
    user_data = [c for c in planned["changes"] if c["type"] == "aws.launch_template"][0]["diff"]["user_data"]
    assert user_data["after"] == "(sensitive)"
    run("plan", "--sandbox", var, "-o", "changes.json")
    saved = (lepton.cwd / "changes.json").read_text()
    assert "$sensitive" in saved and "db_password" in saved

    applied = run("apply", "changes.json", var)
    assert "Apply complete" in applied.stdout
    assert "dsn = (sensitive)" in applied.stdout
    run("apply", "--sandbox", var, "--yes", "--json")
    assert run("output", "--sandbox", var).stdout.splitlines()[0] == "dsn = (sensitive)"
    assert json.loads(run("output", "--sandbox", var, "--json").stdout)["dsn"] == "(sensitive)"
    # As Terraform: a sensitive output is printed only when asked for by name, and only with
    # the variable it was built from (state holds just its keyed hash).
    named = subprocess.run([_script(), "output", "dsn", "--sandbox", var], cwd=lepton.cwd, env=lepton.env,
                           capture_output=True, text=True, timeout=600)
    assert named.stdout.strip() == f"postgres://app:{SECRET}@db.internal/app"
    wrong = run("output", "dsn", "--sandbox", f"--var=db_password={OTHER}", check=1)
    assert "output 'dsn' is sensitive" in wrong.stderr and "db_password" in wrong.stderr
    run("show", "--sandbox", var)
    run("show", "--sandbox", var, "--json")
    run("state", "list", "--sandbox")

    key = lepton.cwd / ".lepton" / "sandbox" / "secrets.key"
    assert key.stat().st_mode & 0o777 == 0o600
    state = (lepton.cwd / ".lepton" / "sandbox" / "secrets.state.json").read_text()
    assert "hmac-sha256:" in state and key.read_text().strip() not in state
    for text in [*run.seen, saved, *(t for p, t in _files(lepton.cwd).items() if not p.endswith(".key"))]:
        assert SECRET not in text

    # Unchanged secret: nothing to do. Changed secret: an update that shows neither value.
    again = run("plan", "--sandbox", var, "--detailed-exitcode")
    assert "No changes" in again.stdout
    changed = run("plan", "--sandbox", f"--var=db_password={OTHER}", "--json", check=None)
    document = json.loads(changed.stdout)
    updates = [c for c in document["changes"] if c["type"] == "aws.launch_template"]
    assert [c["action"] for c in updates] == ["update"]
    assert updates[0]["diff"]["user_data"] == {"before": "(sensitive)", "after": "(sensitive)"}
    human = run("plan", "--sandbox", f"--var=db_password={OTHER}")
    assert "user_data: (sensitive) → (sensitive)" in human.stdout
    markdown = run("plan", "--sandbox", f"--var=db_password={OTHER}", "--format", "markdown")
    assert "(sensitive)" in markdown.stdout
    for text in run.seen:
        assert SECRET not in text and OTHER not in text

    run("destroy", "--sandbox", var, "--yes")


def test_a_saved_change_set_needs_the_same_secret(run, lepton):
    run("plan", "--sandbox", f"--var=db_password={SECRET}", "-o", "changes.json")
    other = run("apply", "changes.json", f"--var=db_password={OTHER}", check=1)
    assert "db_password" in other.stderr and "differs from the one the change set was planned with" in other.stderr
    missing = run("apply", "changes.json", check=1)
    assert "needs the sensitive variable 'db_password'" in missing.stderr
    assert "Traceback" not in other.stderr + missing.stderr
    assert not (lepton.cwd / ".lepton" / "sandbox" / "secrets.state.json").exists()  # nothing was applied
    from_env = run("apply", "changes.json", env={"LEPTON_VAR_db_password": SECRET})
    assert "Apply complete" in from_env.stdout
    for text in run.seen:
        assert SECRET not in text and OTHER not in text
    run("destroy", "--sandbox", f"--var=db_password={SECRET}", "--yes")
