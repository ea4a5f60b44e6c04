"""Ctrl-C outside an apply's operations: one line and exit 130, whichever typer runs us.

typer 0.29 turns a KeyboardInterrupt into a silent exit 130 and older click into "Aborted!", so
`lepton` raises `Interrupted` instead: a BaseException that neither catches. An apply installs
its own handler while operations run (first Ctrl-C stops gracefully) and restores this one.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Interrupted(BaseException):
    """The user pressed Ctrl-C; the message says what that stopped."""


def _raise(signum, frame) -> None:
    raise Interrupted()


@contextmanager
def installed() -> Iterator[None]:
    """Ctrl-C raises `Interrupted` inside (the previous handler is restored after, for callers
    that run `main()` in-process)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
