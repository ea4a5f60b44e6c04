"""`lepton sandbox start|status|stop` and auto-start, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def lepton(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEPTON_SANDBOX_HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "lepton_cli.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "sandbox"
    yield home
    lepton(home, "sandbox", "stop")  # always stop what a test started


def status(home: Path) -> dict:
    proc = lepton(home, "sandbox", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_start_status_stop(home):
    assert status(home) == {"running": False, "endpoints": {}}
    started = lepton(home, "sandbox", "start", "--json")
    assert started.returncode == 0, started.stderr
    running = json.loads(started.stdout)
    assert running["running"] is True and running["endpoints"]["aws"].startswith("http://127.0.0.1:")
    # Every cloud's emulators, on loopback (DESIGN §8): Azurite's blob endpoint where Node runs it.
    assert {"aws", "gcp", "gcs", "azure"} <= running["endpoints"].keys()
    assert all(url.startswith("http://127.0.0.1:") for url in running["endpoints"].values())
    assert "azblob" in running["endpoints"] or "azblob" in running.get("unavailable", {})

    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import compute_v1

    regions = compute_v1.RegionsClient(credentials=AnonymousCredentials(), transport="rest",
                                       client_options=ClientOptions(api_endpoint=running["endpoints"]["gcp"]))
    assert "us-central1" in {r.name for r in regions.list(project="lepton-sandbox")}

    import boto3

    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=running["endpoints"]["aws"],
                       aws_access_key_id="x", aws_secret_access_key="x")
    images = ec2.describe_images(Owners=["099720109477"])["Images"]
    assert any("jammy-22.04" in image["Name"] for image in images)  # the AMI catalogue is loaded

    pid = json.loads((home / "sandbox.json").read_text())["pid"]
    again = lepton(home, "sandbox", "start")
    assert "already running" in again.stderr
    assert json.loads((home / "sandbox.json").read_text())["pid"] == pid

    stopped = lepton(home, "sandbox", "stop")
    assert "Stopped" in stopped.stdout
    assert status(home)["running"] is False and not (home / "sandbox.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "not running" in lepton(home, "sandbox", "stop").stdout


def test_a_stale_runtime_file_is_recovered(home):
    home.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (home / "sandbox.json").write_text(json.dumps({"pid": dead.pid, "endpoints": {"aws": "http://127.0.0.1:9"}}))
    assert status(home)["running"] is False
    assert lepton(home, "sandbox", "start").returncode == 0
    assert status(home)["running"] is True


def test_concurrent_starts_make_one_sandbox(home):
    env = {**os.environ, "LEPTON_SANDBOX_HOME": str(home), "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "lepton_cli.cli.main", "sandbox", "start", "--json"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert len({r["endpoints"]["aws"] for r in results}) == 1
    servers = subprocess.run(["pgrep", "-f", f"lepton_cli.sandbox.serve --home {home}"], capture_output=True, text=True)
    assert len(servers.stdout.split()) == 1


def test_sandbox_flag_starts_it_and_says_so(home, tmp_path):
    plan = tmp_path / "lepton.yaml"
    plan.write_text("stack: auto\nresources:\n  b: {kind: bucket}\n")
    proc = lepton(home, "plan", "-f", str(plan), "--sandbox")
    assert proc.returncode == 0, proc.stderr
    assert "Started the lepton sandbox" in proc.stderr and "1 to create" in proc.stdout
    assert status(home)["running"] is True


SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLELEAKED0001",
    "AWS_SECRET_ACCESS_KEY": "leaked-aws-secret-3f9c1e",
    "AZURE_CLIENT_SECRET": "leaked-azure-secret-77ab",
    "GOOGLE_APPLICATION_CREDENTIALS": "/home/someone/leaked-gcp-key.json",
    "LEPTON_VAR_db_password": "leaked-db-password-51d2",
}


def test_the_sandbox_process_gets_a_scrubbed_environment(home):
    """Started by `lepton sandbox start` (the installed console script) with cloud
    credentials and a plan variable in the caller's environment, the background emulator's
    environment holds none of them, and it still serves."""
    console_script = Path(sys.executable).parent / "lepton"
    env = {**os.environ, **SECRETS, "LEPTON_SANDBOX_HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    started = subprocess.run([str(console_script), "sandbox", "start", "--json"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    endpoint = json.loads(started.stdout)["endpoints"]["aws"]
    pid = json.loads((home / "sandbox.json").read_text())["pid"]

    environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    names = {entry.split("=", 1)[0] for entry in environ if entry}
    assert not names & set(SECRETS), names
    for value in SECRETS.values():
        assert all(value not in entry for entry in environ)
    assert "PATH" in names and "LEPTON_SANDBOX_HOME" in names  # what it needs to run is kept

    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint,
                      aws_access_key_id="x", aws_secret_access_key="x")
    s3.create_bucket(Bucket="scrubbed-env-check")
    assert "scrubbed-env-check" in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_auto_start_by_the_sandbox_flag_scrubs_the_environment_too(home, tmp_path):
    plan = tmp_path / "lepton.yaml"
    plan.write_text("stack: scrub\nresources:\n  b: {kind: bucket}\n")
    env = {**os.environ, **SECRETS, "LEPTON_SANDBOX_HOME": str(home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([str(Path(sys.executable).parent / "lepton"), "plan", "-f", str(plan), "--sandbox"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Started the lepton sandbox" in proc.stderr
    pid = json.loads((home / "sandbox.json").read_text())["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    assert not any(value in environ for value in SECRETS.values())
    assert not any(f"\0{name}=" in f"\0{environ}" for name in SECRETS)
