"""The stack lock of the local backend: a file created atomically, naming its holder.

A second writer is refused with the holder's user, host, pid, command and start time. A lock
whose holder ran on this host and is gone is stale and taken over — by rename, so that of two
processes racing to take over the same stale lock exactly one wins.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import uuid
from dataclasses import asdict
from pathlib import Path

from lepton_cli.errors import Diagnostic, LockHeldError, StateError
from lepton_cli.state.model import LockInfo


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def new_lock_info(command: str) -> LockInfo:
    return LockInfo(id=str(uuid.uuid4()), user=_user(), host=socket.gethostname(), pid=os.getpid(),
                    command=command, since=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_lock(path: Path) -> LockInfo | None:
    """The lock's holder, or None if there is no lock. An unreadable lock file (a writer died
    between create and write) reads as a holder we cannot name."""
    try:
        data = json.loads(path.read_text())
        return LockInfo(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, OSError):
        return LockInfo(id="unknown", user="unknown", host="unknown", pid=0, command="unknown", since="unknown")


def _create(path: Path, info: LockInfo) -> bool:
    """Create the lock file with its content in one atomic step: the content goes to a private
    temporary file that is then hard-linked to the lock's name (link fails if the name exists),
    so nobody ever reads a lock file that is there but still empty."""
    temp = path.with_name(f".{path.name}.{info.id}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(info), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)


def held_error(holder: LockInfo, stack: str) -> LockHeldError:
    return LockHeldError(Diagnostic(
        summary=f"stack {stack} is locked by another lepton run",
        detail=(f"held by {holder.user}@{holder.host}, pid {holder.pid}, running `lepton {holder.command}` "
                f"since {holder.since} (lock id {holder.id})"),
        hint=(f"wait for it to finish; if that process is certainly gone, run "
              f"`lepton state unlock {holder.id}`"),
    ))


def is_stale(holder: LockInfo) -> bool:
    """Held by a process of this host that no longer runs."""
    return holder.host == socket.gethostname() and holder.pid > 0 and not pid_running(holder.pid)


def acquire(path: Path, stack: str, command: str, notices: list[str]) -> LockInfo:
    info = new_lock_info(command)
    for _ in range(3):
        if _create(path, info):
            return info
        holder = read_lock(path)
        if holder is None:
            continue  # released meanwhile: try again
        if not is_stale(holder):
            raise held_error(holder, stack)
        # Take over: move the stale lock aside under a name only we use. rename() is atomic, so
        # of two racers only one moves the file whose content we checked; the other finds it gone
        # (or a fresh lock) and starts over.
        aside = path.with_name(f"{path.name}.stale-{info.id}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            continue
        moved = read_lock(aside)
        aside.unlink(missing_ok=True)
        if moved is not None and moved.id != holder.id:
            # We moved someone's fresh lock: put it back and report them as the holder.
            if _create(path, moved):
                raise held_error(moved, stack)
        notices.append(f"took over a stale lock on stack {stack} held by pid {holder.pid} on {holder.host} "
                       f"(`lepton {holder.command}` since {holder.since}); that process no longer runs")
    raise StateError(f"could not take the lock {path}: it keeps changing hands; try again")


def release(path: Path, lock: LockInfo) -> None:
    holder = read_lock(path)
    if holder is not None and holder.id == lock.id:
        path.unlink(missing_ok=True)


def force_unlock(path: Path, stack: str, lock_id: str) -> None:
    holder = read_lock(path)
    if holder is None:
        raise StateError(f"stack {stack} is not locked")
    if holder.id != lock_id:
        raise StateError(Diagnostic(
            summary=f"lock id {lock_id} does not match the lock on stack {stack}",
            detail=f"the lock is {holder.id}, held by {holder.user}@{holder.host} pid {holder.pid} "
                   f"(`lepton {holder.command}` since {holder.since})",
            hint=f"to break that lock: `lepton state unlock {holder.id}`"))
    path.unlink(missing_ok=True)
