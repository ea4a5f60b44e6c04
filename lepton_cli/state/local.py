"""The local state backend: `<dir>/<stack>.state.json`, written atomically with mode 0600.

A write goes to a temporary file created 0600 (it never exists with wider permissions), is
fsynced, the previous version is kept as `.backup`, and the temporary file is renamed into
place; the directory is fsynced so the rename survives a crash. A kill at any moment leaves
either the old or the new document, never a torn one.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from lepton_cli.errors import Diagnostic, StateError
from lepton_cli.state import lock as locking
from lepton_cli.state.model import FORMAT_VERSION, LockInfo, State, StateStore


STATE_SUFFIX = ".state.json"


def stacks_in(directory: Path) -> list[str]:
    """The stacks that have state in `directory` (none if it does not exist)."""
    try:
        return sorted(p.name[:-len(STATE_SUFFIX)] for p in Path(directory).iterdir()
                      if p.name.endswith(STATE_SUFFIX) and not p.name.startswith("."))
    except OSError:
        return []


def parse_state(text: str | bytes, where: str, corrupt_hint: str) -> State:
    """A state document read from `where`, or one clear error saying what is wrong with it."""
    try:
        data = json.loads(text)
        if data.get("format_version") != FORMAT_VERSION:
            raise StateError(Diagnostic(
                summary=f"state {where} has format version {data.get('format_version')!r}; "
                        f"this lepton reads version {FORMAT_VERSION}",
                hint="use the lepton version that wrote it"))
        return State.from_dict(data)
    except StateError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise StateError(Diagnostic(summary=f"state {where} is corrupt (not a lepton state document)",
                                    hint=corrupt_hint)) from None


def check_history(current: State, state: State, where: object, separate: str) -> None:
    """Refuse to write `state` over `current` of another lineage (`separate` says how to keep
    the two apart) or over a newer serial someone else wrote."""
    if current.lineage != state.lineage:
        raise StateError(Diagnostic(
            summary=f"refusing to overwrite state {where}: it belongs to another history "
                    f"(lineage {current.lineage}, not {state.lineage})",
            hint=separate))
    if current.serial > state.serial:
        raise StateError(Diagnostic(
            summary=f"refusing to overwrite state {where}: it was written by someone else meanwhile "
                    f"(serial {current.serial}, this run has {state.serial})",
            hint="run `lepton plan` again to see the current state"))


class LocalStateStore(StateStore):
    def __init__(self, directory: Path, stack: str):
        self.directory = Path(directory)
        self.stack = stack
        self.path = self.directory / f"{stack}{STATE_SUFFIX}"
        self.backup_path = self.directory / f"{stack}{STATE_SUFFIX}.backup"
        self.lock_path = self.directory / f"{stack}.lock"
        self.notices: list[str] = []

    # -- reading ---------------------------------------------------------------------------------
    def read(self) -> State | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read state {self.path}: {exc.strerror}") from None
        hint = (f"the previous version is in {self.backup_path}: inspect it, and if it is right, "
                f"copy it over {self.path.name}") if self.backup_path.exists() else ""
        return parse_state(text, f"file {self.path}", hint)

    # -- writing ---------------------------------------------------------------------------------
    def write(self, state: State) -> None:
        current = self.read()
        if current is not None:
            check_history(current, state, self.path,
                          "two different stacks share this state file name; use --state-dir to separate them")
        state.serial += 1
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(state.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
        if self.path.exists():
            self._write_file(self.backup_path, self.path.read_text())
        self._write_file(self.path, text)

    def _write_file(self, target: Path, text: str) -> None:
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # -- locking ---------------------------------------------------------------------------------
    def acquire(self, command: str) -> LockInfo:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return locking.acquire(self.lock_path, self.stack, command, self.notices)

    def release(self, lock: LockInfo) -> None:
        locking.release(self.lock_path, lock)

    def force_unlock(self, lock_id: str) -> None:
        locking.force_unlock(self.lock_path, self.stack, lock_id)
