"""What every remote state backend must do, against its emulator (the tests of
s3, gcs and azblob backends, written once): locking by conditional
writes, lost-update protection, crash safety and moving state.

A backend's test module defines a `remote` fixture returning a `Remote` and subclasses
`RemoteContract`. Subprocesses build the same object store from `Remote.spec` with
`objects_from_spec`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from lepton_cli.errors import LockHeldError, StateError
from lepton_cli.state.local import LocalStateStore
from lepton_cli.state.remote import ObjectStore, RemoteStateStore
from lepton_cli.state.store import move_state, new_state

REPO = Path(__file__).resolve().parents[2]


def objects_from_spec(spec: dict) -> ObjectStore:
    """The object store a `Remote.spec` names, pointed at the emulator."""
    if spec["type"] == "azblob":
        from lepton_cli.state.azblob import AzureBlobObjects

        return AzureBlobObjects(spec["account"], spec["container"], sandbox=True,
                                endpoint=lambda account: (f"{spec['endpoint']}/{account}", spec["key"]))
    if spec["type"] == "s3":
        from lepton_cli.state.s3 import S3Objects

        return S3Objects(spec["bucket"], "us-east-1", sandbox=True, endpoint=lambda: spec["endpoint"])
    from lepton_cli.state.gcs import GcsObjects

    return GcsObjects(spec["bucket"], sandbox=True, endpoint=lambda: spec["endpoint"])


@dataclass
class Remote:
    """One fresh bucket/container on an emulator, and raw access to it through the official SDK."""

    spec: dict
    keys: Callable[[], list[str]]  # every object name, sorted
    raw_get: Callable[[str], bytes]
    raw_put: Callable[[str, bytes], None]

    def store(self, directory: Path, stack: str = "shop", prefix: str = "team") -> RemoteStateStore:
        return RemoteStateStore(objects_from_spec(self.spec), prefix, stack, directory)

    def body(self, key: str) -> dict:
        return json.loads(self.raw_get(key))


RACER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from lepton_cli.errors import LeptonError
    from lepton_cli.state.remote import RemoteStateStore
    from tests.state.remote_contract import objects_from_spec

    spec, name, go, finish = json.loads(sys.argv[1]), *sys.argv[2:5]
    store = RemoteStateStore(objects_from_spec(spec), "team", "shop", ".")
    store.objects.get("warm-up")  # the SDK imported and connected before the race starts
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


def _python(script: str, *args: str, cwd: Path, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, text=True, **options)


KILLED = textwrap.dedent("""
    import json, sys
    from lepton_cli.state.remote import RemoteStateStore
    from lepton_cli.state.model import PrimitiveRecord
    from tests.state.remote_contract import objects_from_spec

    store = RemoteStateStore(objects_from_spec(json.loads(sys.argv[1])), "team", "shop", ".")
    state = store.read()
    for i in range(10_000):
        state.primitives[f"r{i}/aws.s3_bucket"] = PrimitiveRecord(
            type="aws.s3_bucket", cloud="aws", region="us-east-1", id=f"b{i}" * 40, resource=f"r{i}",
            kind="bucket", properties={"blob": "x" * 400})
        store.write(state)
        if i == 0:
            print("WRITING", flush=True)
""")


def refused_everywhere(store: RemoteStateStore) -> list[StateError]:
    """Read, lock and write: each refused with a StateError."""
    errors = []
    for action in (store.read, lambda: store.acquire("apply"), lambda: store.write(new_state("shop"))):
        with pytest.raises(StateError) as refused:
            action()
        errors.append(refused.value)
    return errors


class RemoteContract:
    """The tests every remote backend passes: a backend's module subclasses this (`class
    TestContract(RemoteContract)`) and defines the `remote` fixture."""

    def test_objects_live_under_the_prefix_and_the_previous_version_is_kept(self, remote, tmp_path):
        st = remote.store(tmp_path)
        assert st.read() is None
        state = new_state("shop")
        with st.locked("apply"):
            assert "team/shop.lock" in remote.keys()
            st.write(state)
            state.outputs["url"] = "http://one"
            st.write(state)
        assert remote.keys() == ["team/shop.state.json", "team/shop.state.json.backup"]  # lock released
        assert remote.body("team/shop.state.json")["serial"] == 2
        assert remote.body("team/shop.state.json.backup")["serial"] == 1
        again = remote.store(tmp_path).read()
        assert (again.lineage, again.serial, again.outputs) == (state.lineage, 2, {"url": "http://one"})

    def test_a_second_writer_is_refused_naming_the_holder_and_its_age(self, remote, tmp_path):
        first, second = remote.store(tmp_path), remote.store(tmp_path)
        with first.locked("apply") as lock:
            with pytest.raises(LockHeldError) as refused:
                second.acquire("destroy")
            text = str(refused.value.diagnostics[0])
            assert f"pid {os.getpid()}" in text and "`lepton apply`" in text and lock.id in text
            assert "less than a minute ago" in text and "another machine" in text
        with second.locked("destroy"):  # released: now free
            pass

    def test_a_lock_is_released_only_by_its_owner(self, remote, tmp_path):
        first, second = remote.store(tmp_path), remote.store(tmp_path)
        lock = first.acquire("apply")
        with pytest.raises(StateError, match="does not match"):
            second.force_unlock("not-the-id")
        second.force_unlock(lock.id)  # broken: the second run takes its own
        mine = second.acquire("apply")
        first.release(lock)  # the first run ends: it must not delete the second run's lock
        assert remote.body("team/shop.lock")["id"] == mine.id
        second.release(mine)
        with pytest.raises(StateError, match="is not locked"):
            second.force_unlock(mine.id)

    def test_a_writer_whose_lock_was_broken_cannot_overwrite_a_newer_state(self, remote, tmp_path):
        slow, other = remote.store(tmp_path), remote.store(tmp_path)
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
        assert remote.body("team/shop.state.json")["outputs"] == {"by": "other"}  # newer state intact
        assert remote.body("team/shop.state.json.backup")["serial"] == 1  # the backup is not the rejected one
        state.outputs["by"] = "slow, later"  # the run's later journal writes are refused too
        with pytest.raises(StateError, match="another run wrote it"):
            slow.write(state)
        assert json.loads(saved.read_text())["outputs"] == {"by": "slow, later"}
        assert remote.body("team/shop.state.json")["outputs"] == {"by": "other"}

    def test_lineage_and_serial_are_checked_as_for_local_state(self, remote, tmp_path):
        remote.store(tmp_path).write(new_state("shop"))
        with pytest.raises(StateError, match="another history"):
            remote.store(tmp_path).write(new_state("shop"))
        current = remote.store(tmp_path)
        old = current.read()
        old.serial -= 1
        with pytest.raises(StateError, match="written by someone else meanwhile"):
            current.write(old)

    def test_a_corrupt_state_object_is_one_clear_error_naming_the_backup(self, remote, tmp_path):
        remote.raw_put("team/shop.state.json", b"{not json")
        with pytest.raises(StateError, match="is corrupt") as refused:
            remote.store(tmp_path).read()
        assert "team/shop.state.json.backup" in str(refused.value.diagnostics[0])

    def test_two_processes_racing_for_the_lock(self, remote, tmp_path):
        seed = remote.store(tmp_path)
        seed.write(new_state("shop"))
        go, finish = tmp_path / "go", tmp_path / "finish"
        racers = {name: _python(RACER, json.dumps(remote.spec), name, str(go), str(finish), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                  for name in ("a", "b")}
        go.touch()
        while all(proc.poll() is None for proc in racers.values()):  # the loser ends; the winner waits
            time.sleep(0.05)
        [loser] = [name for name, proc in racers.items() if proc.poll() is not None]
        winner = "b" if loser == "a" else "a"
        out, err = racers[loser].communicate()
        assert racers[loser].returncode == 1, err
        assert "stack shop is locked by another lepton run" in out
        assert f"pid {racers[winner].pid}" in out and "`lepton apply`" in out
        finish.touch()
        out, err = racers[winner].communicate(timeout=60)
        assert racers[winner].returncode == 0 and "WON" in out, err
        state = remote.store(tmp_path).read()
        assert state.outputs == {"winner": winner} and state.serial == 2 and state.lineage == seed.read().lineage

    def test_sigkill_during_remote_writes_leaves_a_readable_state(self, remote, tmp_path):
        seed = remote.store(tmp_path)
        seed.write(new_state("shop"))
        proc = _python(KILLED, json.dumps(remote.spec), cwd=tmp_path, stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == "WRITING"
        while remote.store(tmp_path).read().serial < 20:  # well into a stream of ever larger writes
            assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        state = remote.store(tmp_path).read()  # parses: the old or the new document, never torn
        assert state.lineage == seed.read().lineage and state.serial >= 20
        assert len(state.primitives) == state.serial - 1
        remote.store(tmp_path).write(state)  # and the next writer carries on from it

    def test_state_moves_local_to_remote_and_back(self, remote, tmp_path):
        local = LocalStateStore(tmp_path / "local", "shop")
        state = new_state("shop")
        state.outputs["url"] = "http://shop"
        local.write(state)
        target = remote.store(tmp_path)
        assert move_state(local, target, "state push").serial == 2
        back = remote.store(tmp_path).read()
        assert (back.lineage, back.outputs) == (state.lineage, {"url": "http://shop"})
        with target.locked("apply"):  # the remote copy moves on (an apply from CI), then comes back
            back.outputs["url"] = "http://shop/v2"
            remote.store(tmp_path).write(back)
        with pytest.raises(StateError, match="it is newer than"):  # pushing the stale local copy: refused
            move_state(local, remote.store(tmp_path), "state push")
        move_state(remote.store(tmp_path), local, "state pull")
        pulled = LocalStateStore(tmp_path / "local", "shop").read()
        assert (pulled.lineage, pulled.outputs) == (state.lineage, {"url": "http://shop/v2"})

    def test_moving_state_onto_another_history_is_refused(self, remote, tmp_path):
        remote.store(tmp_path).write(new_state("shop"))
        before = remote.body("team/shop.state.json")
        local = LocalStateStore(tmp_path / "local", "shop")
        local.write(new_state("shop"))
        with pytest.raises(StateError, match="another history"):
            move_state(local, remote.store(tmp_path), "state push")
        assert remote.body("team/shop.state.json") == before
        with pytest.raises(StateError, match="another history"):
            move_state(remote.store(tmp_path), local, "state pull")
