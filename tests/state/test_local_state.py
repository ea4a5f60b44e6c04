"""Local state: atomic, private, journaled writes and a lock that names its holder."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lepton_cli.errors import LockHeldError, StateError
from lepton_cli.spec.models import Backend
from lepton_cli.state.local import LocalStateStore
from lepton_cli.state.model import LockInfo, PrimitiveRecord
from lepton_cli.state.store import new_state, state_directory, state_store_for

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def record(i: int) -> PrimitiveRecord:
    return PrimitiveRecord(type="aws.vpc", cloud="aws", region="us-east-1", id=f"vpc-{i}", resource="net", kind="network")


def test_round_trip_serial_backup_and_permissions(tmp_path):
    store = LocalStateStore(tmp_path / ".lepton", "shop")
    assert store.read() is None
    state = new_state("shop")
    state.primitives["a/aws.vpc"] = record(1)
    store.write(state)
    state.primitives["b/aws.vpc"] = record(2)
    store.write(state)
    again = store.read()
    assert again.serial == 2 and again.lineage == state.lineage
    assert set(again.primitives) == {"a/aws.vpc", "b/aws.vpc"}
    assert json.loads(store.backup_path.read_text())["serial"] == 1
    assert mode(store.path) == 0o600 and mode(store.backup_path) == 0o600
    assert mode(tmp_path / ".lepton") == 0o700
    assert not list((tmp_path / ".lepton").glob(".*.tmp"))


def test_refuses_another_history_and_a_newer_state(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    mine = new_state("shop")
    store.write(mine)
    with pytest.raises(StateError, match="another history"):
        store.write(new_state("shop"))
    stale = store.read()
    store.write(mine)  # someone else moves it on
    with pytest.raises(StateError, match="written by someone else"):
        store.write(stale)


def test_a_corrupt_state_is_a_clear_error_naming_the_backup(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    state = new_state("shop")
    store.write(state)
    store.write(state)
    store.path.write_text("{not json")
    with pytest.raises(StateError) as caught:
        store.read()
    message = str(caught.value)
    assert "corrupt" in message and str(store.backup_path) in message


WRITER = textwrap.dedent("""
    import sys
    from lepton_cli.state.local import LocalStateStore
    from lepton_cli.state.model import PrimitiveRecord, State
    store = LocalStateStore(sys.argv[1], "shop")
    state = store.read() or State(stack="shop", lineage="fixed")
    i = state.serial
    while True:
        i += 1
        # Each version is bigger than the last, so a torn write would show as bad JSON.
        state.primitives[f"r{i}/aws.vpc"] = PrimitiveRecord("aws.vpc", "aws", "us-east-1", "x" * 200, "r", "network")
        store.write(state)
        print(state.serial, flush=True)
""")


def test_an_atomic_write_survives_being_killed(tmp_path):
    for attempt in range(5):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        for _ in range(5 + attempt * 7):  # let it write a varying number of versions
            proc.stdout.readline()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = LocalStateStore(tmp_path, "shop").read()  # parses: never torn
        assert len(state.primitives) == state.serial  # a complete version, not a mix
        assert mode(tmp_path / "shop.state.json") == 0o600


RACER = textwrap.dedent("""
    import sys, time
    from lepton_cli.errors import LockHeldError
    from lepton_cli.state.local import LocalStateStore
    store = LocalStateStore(sys.argv[1], "shop")
    start = float(sys.argv[2])
    while time.time() < start:
        pass
    try:
        lock = store.acquire("apply")
    except LockHeldError as exc:
        print("HELD", exc.diagnostics[0].detail, flush=True)
    else:
        print("WON", lock.pid, flush=True)
        time.sleep(1.5)
        store.release(lock)
""")


def test_processes_racing_for_the_lock_one_wins_the_others_see_the_holder(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    state = new_state("shop")
    store.write(state)
    before = store.path.read_text()
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), str(start)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    winners = [o for o in outputs if o.startswith("WON")]
    assert len(winners) == 1, outputs
    winner_pid = winners[0].split()[1]
    for held in (o for o in outputs if o.startswith("HELD")):
        assert f"pid {winner_pid}" in held and "`lepton apply`" in held
    assert store.path.read_text() == before
    assert not store.lock_path.exists()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(store: LocalStateStore, pid: int, host: str | None = None, lock_id: str = "old-lock") -> None:
    store.directory.mkdir(parents=True, exist_ok=True)
    info = LockInfo(id=lock_id, user="someone", host=host or socket.gethostname(), pid=pid,
                    command="apply", since="2026-01-01T00:00:00+00:00")
    store.lock_path.write_text(json.dumps(info.__dict__))


def test_a_lock_held_by_a_live_process_names_the_holder_and_the_unlock_command(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    write_lock(store, os.getppid(), lock_id="abc-123")
    with pytest.raises(LockHeldError) as caught:
        store.acquire("destroy")
    d = caught.value.diagnostics[0]
    assert "someone@" in d.detail and f"pid {os.getppid()}" in d.detail and "since 2026-01-01" in d.detail
    assert "lepton state unlock abc-123" in d.hint


def test_a_stale_local_lock_is_taken_over_with_a_notice(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    pid = dead_pid()
    write_lock(store, pid)
    lock = store.acquire("apply")
    assert lock.pid == os.getpid()
    assert any("stale lock" in n and str(pid) in n for n in store.notices)
    store.release(lock)
    assert not store.lock_path.exists()


def test_a_lock_from_another_host_is_never_taken_over(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    write_lock(store, dead_pid(), host="some-ci-runner")
    with pytest.raises(LockHeldError):
        store.acquire("apply")


def test_two_processes_racing_to_take_over_a_stale_lock_only_one_wins(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    write_lock(store, dead_pid())
    start = time.time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), str(start)], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sum(o.startswith("WON") for o in outputs) == 1, outputs


def test_force_unlock(tmp_path):
    store = LocalStateStore(tmp_path, "shop")
    with pytest.raises(StateError, match="not locked"):
        store.force_unlock("x")
    write_lock(store, os.getppid(), lock_id="right")
    with pytest.raises(StateError) as caught:
        store.force_unlock("wrong")
    assert "lepton state unlock right" in str(caught.value)
    store.force_unlock("right")
    assert not store.lock_path.exists()


def test_where_state_lives(tmp_path):
    plan = tmp_path / "project" / "lepton.yaml"
    assert state_directory(plan, Backend(), sandbox=False, env={}) == plan.parent / ".lepton"
    assert state_directory(plan, Backend(), sandbox=True, env={}) == plan.parent / ".lepton" / "sandbox"
    assert state_directory(plan, Backend(), sandbox=False, env={"LEPTON_STATE_DIR": "/srv/state"}) == Path("/srv/state")
    assert state_directory(plan, Backend(), sandbox=True, state_dir="/x", env={"LEPTON_STATE_DIR": "/y"}) == Path("/x/sandbox")
    assert state_store_for(plan, "shop", Backend(type="gcs", bucket="b"), sandbox=False, env={}).path == \
        "gs://b/shop.state.json"  # remote: nothing local but the directory for rejected state
