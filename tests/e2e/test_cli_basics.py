"""The CLI's contract that needs no cloud: help, validate, schema, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}
    env.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO), **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "lepton_cli.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


@pytest.mark.parametrize("argv", [["--help"], ["validate", "-f", "examples/quickstart.yaml"], ["schema"],
                                  ["validate", "-f", "examples/web-stack.yaml", "--var", "cloud=gcp"],
                                  ["validate", "-f", "examples/web-stack.yaml", "--var", "cloud=azure"]])
def test_help_validate_and_schema_never_import_a_cloud_sdk(argv):
    code = (
        "import sys, runpy\n"
        f"sys.argv = ['lepton', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('lepton_cli.cli.main', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'azure', 'google', 'moto'))\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr


def test_validate_accepts_the_examples():
    for example in ("quickstart.yaml", "web-stack.yaml"):
        proc = run("validate", "-f", f"examples/{example}", cwd=REPO)
        assert proc.returncode == 0, proc.stderr
        assert "is valid" in proc.stdout


def test_a_typo_is_one_readable_error_with_location_and_suggestion(tmp_path):
    (tmp_path / "lepton.yaml").write_text(
        "stack: shop\nresources:\n  web:\n    kind: compute\n    size: {cpus: 2}\n    cuont: 3\n")
    proc = run("validate", cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    assert "lepton.yaml:6:5" in proc.stderr
    assert "resources.web.cuont" in proc.stderr
    assert "count" in proc.stderr  # did you mean


def test_validate_json_reports_diagnostics(tmp_path):
    (tmp_path / "lepton.yaml").write_text("stack: shop\nresources:\n  b:\n    kind: bukket\n")
    proc = run("validate", "--json", cwd=tmp_path)
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert document["valid"] is False
    assert any("bucket" in (d["hint"] + d["summary"]) for d in document["diagnostics"])


def test_missing_variable_names_it(tmp_path):
    (tmp_path / "lepton.yaml").write_text(
        "stack: shop\nresources:\n  web:\n    kind: compute\n    size: {cpus: 2}\n    count: {{ var.web_count }}\n")
    proc = run("validate", cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    assert "web_count" in proc.stderr


def test_missing_plan_file_and_bad_option_exit_1(tmp_path):
    proc = run("plan", "-f", "nope.yaml", cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)
    assert "nope.yaml" in proc.stderr
    proc = run("plan", "--no-such-flag", cwd=tmp_path)
    assert proc.returncode == 1
    no_traceback(proc)


def test_schema_is_json_schema_of_the_plan():
    proc = run("schema", cwd=REPO)
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert "resources" in json.dumps(schema)
    assert "stack" in schema.get("properties", {})


def test_destroy_of_an_empty_stack_needs_no_confirmation(tmp_path):
    (tmp_path / "lepton.yaml").write_text("stack: shop\nresources: {}\n")
    proc = run("destroy", cwd=tmp_path)
    # nothing to destroy: no confirmation needed, succeeds
    assert proc.returncode == 0, proc.stderr
