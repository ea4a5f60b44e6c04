"""The stack lock of the local backend: a file created atomically, naming its holder.

A second writer is refused with the holder's user, host, pid, command and start time. A lock
whose holder ran on this host and is gone is stale and taken over, one process at a time, so
that of processes racing to take over the same stale lock exactly one wins.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import socket
import time
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


def held_error(holder: LockInfo, stack: str, age: str | None = None) -> LockHeldError:
    """The refusal a second writer sees. `age` (how long ago the lock was taken) is given for a
    remote lock, whose holder may run on another host where its process cannot be checked."""
    since = f"{holder.since} ({age})" if age else holder.since
    gone = ("if that run is certainly gone (lepton cannot check a process on another machine)" if age
            else "if that process is certainly gone")
    return LockHeldError(Diagnostic(
        summary=f"stack {stack} is locked by another lepton run",
        detail=(f"held by {holder.user}@{holder.host}, pid {holder.pid}, running `lepton {holder.command}` "
                f"since {since} (lock id {holder.id})"),
        hint=f"wait for it to finish; {gone}, run `lepton state unlock {holder.id}`",
    ))


def is_stale(holder: LockInfo) -> bool:
    """Held by a process of this host that no longer runs."""
    return holder.host == socket.gethostname() and holder.pid > 0 and not pid_running(holder.pid)


def acquire(path: Path, stack: str, command: str, notices: list[str]) -> LockInfo:
    info = new_lock_info(command)
    for _ in range(50):
        if _create(path, info):
            return info
        holder = read_lock(path)
        if holder is None:
            continue  # released meanwhile: try again
        if not is_stale(holder):
            raise held_error(holder, stack)
        if _take_over(path, holder, info):
            notices.append(f"took over a stale lock on stack {stack} held by pid {holder.pid} on {holder.host} "
                           f"(`lepton {holder.command}` since {holder.since}); that process no longer runs")
            return info
        time.sleep(0.05)  # another process is taking it over: look again
    raise StateError(f"could not take the lock {path}: it keeps changing hands; try again")


def _take_over(path: Path, stale: LockInfo, info: LockInfo) -> bool:
    """Replace the stale lock `stale` with ours, one process at a time: takeovers are serialised
    by a marker file created exclusively, and the lock is removed only if it is still `stale`.
    (Moving a lock aside and back instead would leave a moment with no lock, in which a third
    racer could take it too.) False when another process holds the marker."""
    marker = path.with_name(f"{path.name}.takeover")
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _clear_abandoned_marker(marker)
        return False
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        current = read_lock(path)
        if current is None or current.id != stale.id:
            return False  # released or replaced meanwhile: the caller looks again
        path.unlink()
        return _create(path, info)
    finally:
        marker.unlink(missing_ok=True)


def _clear_abandoned_marker(marker: Path) -> None:
    """A takeover marker left by a process killed mid-takeover would block every later one."""
    try:
        pid = int(marker.read_text() or "0")
    except (FileNotFoundError, ValueError):
        return
    if pid > 0 and not pid_running(pid):
        marker.unlink(missing_ok=True)


def release(path: Path, lock: LockInfo) -> None:
    holder = read_lock(path)
    if holder is not None and holder.id == lock.id:
        path.unlink(missing_ok=True)


def force_unlock(path: Path, stack: str, lock_id: str) -> None:
    holder = read_lock(path)
    if holder is None:
        raise StateError(f"stack {stack} is not locked")
    if holder.id != lock_id:
        raise not_this_lock(stack, lock_id, holder)
    path.unlink(missing_ok=True)


def not_this_lock(stack: str, lock_id: str, holder: LockInfo) -> StateError:
    """`state unlock ID` named a lock other than the one held."""
    return StateError(Diagnostic(
        summary=f"lock id {lock_id} does not match the lock on stack {stack}",
        detail=f"the lock is {holder.id}, held by {holder.user}@{holder.host} pid {holder.pid} "
               f"(`lepton {holder.command}` since {holder.since})",
        hint=f"to break that lock: `lepton state unlock {holder.id}`"))
