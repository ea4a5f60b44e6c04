"""Remote state: one stack's state and lock as objects in a bucket, kept safe by conditional writes.

Any object store that can create an object only if it is absent and replace (or delete) one only
if it is still the version read (S3 ETags, GCS generations, Azure Blob ETags) can hold state; a
backend is an `ObjectStore` of a few methods, `RemoteStateStore` does the rest:

- the lock is an object created only if absent, holding the holder; released only if still ours;
- every state write is conditional on the version this run last read or wrote, so a run whose
  lock was broken under it cannot overwrite a newer state: its state is saved locally instead;
- the previous version is kept as a `.backup` object beside the state.
"""

from __future__ import annotations

import abc
import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from lepton_cli.errors import Diagnostic, StateError
from lepton_cli.state import lock as locking
from lepton_cli.state.local import STATE_SUFFIX, check_history, parse_state
from lepton_cli.state.model import LockInfo, State, StateStore


class ConditionFailed(Exception):
    """The object is not the version the write was conditional on (S3's 412 / 409)."""


@dataclass(frozen=True)
class Blob:
    data: bytes
    version: str  # the token a conditional write names (ETag, generation)


class ObjectStore(abc.ABC):
    """The few operations of a bucket remote state needs. Errors that are the user's to fix
    (no such bucket, access denied, wrong region, no credentials) are raised as StateError."""

    @abc.abstractmethod
    def get(self, key: str) -> Blob | None:
        """The object and its version, or None if there is none."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, if_version: str | None = None, if_absent: bool = False) -> str:
        """Write the object (conditionally) and return its new version; ConditionFailed if the
        condition does not hold."""

    @abc.abstractmethod
    def delete(self, key: str, *, if_version: str | None = None) -> None:
        """Delete the object (only if it is still `if_version`); ConditionFailed otherwise,
        nothing if it is already gone."""

    @abc.abstractmethod
    def url(self, key: str) -> str:
        """How to name the object to the user, e.g. s3://bucket/key."""

    def settings(self) -> dict:
        """What a saved change set records to reach this store again (never credentials)."""
        return {}

    @property
    def versioned(self) -> bool:
        """Whether the store keeps the previous version itself (then no `.backup` is written)."""
        return False


def missing_sdk(backend: str, extra: str, exc: ImportError) -> StateError:
    """A backend's SDK is not installed: say which extra brings it."""
    return StateError(Diagnostic(summary=f"the {backend} state backend needs packages that are not installed "
                                         f"({exc.name})",
                                 hint=f"pip install 'lepton-cli[{extra}]'"))


def _age(since: str, now: dt.datetime | None = None) -> str:
    """How long ago `since` (ISO 8601) was, in words."""
    try:
        start = dt.datetime.fromisoformat(since)
    except (TypeError, ValueError):
        return "unknown age"
    minutes = int(((now or dt.datetime.now(dt.timezone.utc)) - start).total_seconds() // 60)
    if minutes < 1:
        return "less than a minute ago"
    if minutes < 120:
        return f"{minutes} minute{'s' * (minutes != 1)} ago"
    hours = minutes // 60
    return f"{hours} hours ago" if hours < 48 else f"{hours // 24} days ago"


class RemoteStateStore(StateStore):
    """State `<prefix>/<stack>.state.json`, its lock `<prefix>/<stack>.lock` and backup
    `<prefix>/<stack>.state.json.backup` in an object store. `directory` is the local
    directory beside the plan file: the stack's key and any rejected state are kept there."""

    remote = True

    def __init__(self, objects: ObjectStore, prefix: str | None, stack: str, directory: Path):
        self.objects = objects
        self.prefix = prefix
        self.stack = stack
        self.directory = Path(directory)
        base = f"{prefix.strip('/')}/" if prefix and prefix.strip("/") else ""
        self.key = f"{base}{stack}{STATE_SUFFIX}"
        self.backup_key = f"{self.key}.backup"
        self.lock_key = f"{base}{stack}.lock"
        self.notices: list[str] = []
        # The version of the state object this store last read or wrote, and its bytes: a write
        # is conditional on it. `None` = never read; `""` = read, and there was no state.
        self._version: str | None = None
        self._data: bytes | None = None
        self._lock_version: str | None = None
        self._fenced = False  # a write was rejected: this run's later writes go to the rejected file

    @property
    def path(self) -> str:
        return self.objects.url(self.key)

    def settings(self) -> dict:
        """What a saved change set records to reach this state again (never credentials)."""
        return {**self.objects.settings(), "prefix": self.prefix}

    # -- reading ---------------------------------------------------------------------------------
    def _parse(self, blob: Blob, key: str) -> State:
        return parse_state(blob.data, self.objects.url(key), (
            f"the previous version is {self.objects.url(self.backup_key)} (or an earlier version of "
            f"the object, if the bucket keeps versions): inspect it, and if it is right, copy it over "
            f"{self.objects.url(key)}"))

    def read(self) -> State | None:
        """The current state; later writes are conditional on the version read."""
        blob = self.objects.get(self.key)
        self._version, self._data = (blob.version, blob.data) if blob else ("", None)
        return self._parse(blob, self.key) if blob else None

    # -- writing ---------------------------------------------------------------------------------
    def write(self, state: State) -> None:
        if self._fenced:  # rejected once: every later journal write of this run is refused too
            raise self._rejected(state, _document(state, state.serial + 1))
        if self._version is None:  # never read: what this write replaces is what is there now
            self.read()
        previous_version, previous = self._version, self._data
        if previous is not None:
            current = self._parse(Blob(previous, previous_version or ""), self.key)
            check_history(current, state, self.path,
                          "two different stacks share this state object; give the backend another prefix")
        text = _document(state, state.serial + 1)
        state.serial += 1
        data = text.encode()
        try:
            version = self.objects.put(self.key, data, if_version=previous_version or None,
                                       if_absent=not previous_version)
        except ConditionFailed:
            blob = self.objects.get(self.key)
            if blob is None or blob.data != data:  # (not our own write, retried after its answer was lost)
                state.serial -= 1
                self._fenced = True
                raise self._rejected(state, text) from None
            version = blob.version
        self._version, self._data = version, data
        if previous is not None and not self.objects.versioned:  # after the write: a rejected writer
            self.objects.put(self.backup_key, previous)  # never overwrites the backup

    def _rejected(self, state: State, text: str) -> StateError:
        """Someone else wrote the state since this run read it (its lock was broken under it):
        keep what this run knows in a local file, and say what happened."""
        saved = self.directory / f"{self.stack}{STATE_SUFFIX}.rejected-{state.serial + 1}"  # the latest wins
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        newer = ""
        blob = self.objects.get(self.key)
        if blob is not None:
            try:
                other = self._parse(blob, self.key)
                newer = f" (it now has serial {other.serial}; this run read serial {state.serial})"
            except StateError:
                pass
        return StateError(Diagnostic(
            summary=f"refusing to overwrite state {self.path}: another run wrote it since this one read it{newer}",
            detail=(f"this run's lock on stack {self.stack} was probably broken (`lepton state unlock`) while it "
                    f"ran; its state, with what it changed so far, is saved in {saved}"),
            hint=("run `lepton plan` to see what the current state is missing (objects this run created carry the "
                  "stack's tags and are adopted by the next apply); keep the saved file until the stack is settled")))

    # -- locking ---------------------------------------------------------------------------------
    def acquire(self, command: str) -> LockInfo:
        info = locking.new_lock_info(command)
        data = json.dumps(asdict(info)).encode()
        for _ in range(3):
            try:
                self._lock_version = self.objects.put(self.lock_key, data, if_absent=True)
                return info
            except ConditionFailed:
                pass
            holder = self._holder()
            if holder is not None and holder[0].id == info.id:  # ours: a retried create whose answer was lost
                self._lock_version = holder[1]
                return info
            if holder is not None:
                raise locking.held_error(holder[0], self.stack, age=_age(holder[0].since))
        raise StateError(f"could not take the lock {self.objects.url(self.lock_key)}: it keeps changing hands; "
                         f"try again")

    def _holder(self) -> tuple[LockInfo, str] | None:
        blob = self.objects.get(self.lock_key)
        if blob is None:
            return None
        try:
            return LockInfo(**json.loads(blob.data)), blob.version
        except (ValueError, TypeError):
            return LockInfo(id="unknown", user="unknown", host="unknown", pid=0, command="unknown",
                            since="unknown"), blob.version

    def release(self, lock: LockInfo) -> None:
        """Delete the lock only if it is still the one we created (someone may have broken it
        and taken a new one)."""
        try:
            self.objects.delete(self.lock_key, if_version=self._lock_version)
        except ConditionFailed:
            pass

    def lock_named(self, lock_id: str) -> tuple[LockInfo, str, str]:
        """The lock `lock_id` (its holder, version and age), or why it cannot be broken: checked
        before `state unlock` asks for confirmation."""
        holder = self._holder()
        if holder is None:
            raise StateError(f"stack {self.stack} is not locked")
        info, version = holder
        if info.id != lock_id:
            raise locking.not_this_lock(self.stack, lock_id, info)
        return info, version, _age(info.since)

    def force_unlock(self, lock_id: str) -> None:
        _, version, _ = self.lock_named(lock_id)
        try:
            self.objects.delete(self.lock_key, if_version=version)
        except ConditionFailed:  # (lock_named read it; the delete names that version)
            raise StateError(f"the lock on stack {self.stack} changed hands while it was being broken; "
                             f"run `lepton state unlock` again with the id it names now") from None


def _document(state: State, serial: int) -> str:
    """The state's JSON text, as written with `serial`."""
    return json.dumps({**state.to_dict(), "serial": serial}, indent=2, sort_keys=True, default=str) + "\n"
