"""Progress of an apply or destroy: a live bar on a terminal, plain lines elsewhere.

The executor calls the display from worker threads with `Event`s; rich's console serialises
printing, and the counters here are guarded by a lock.
"""

from __future__ import annotations

import threading
import time

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from lepton_cli.engine.model import Action
from lepton_cli.ui.console import Output

# (phase, action) -> past-tense word; "start" uses the -ing form.
DOING = {Action.CREATE: "creating", Action.UPDATE: "updating", Action.REPLACE: "replacing",
         Action.DELETE: "deleting"}
DONE = {Action.CREATE: "created", Action.UPDATE: "updated", Action.REPLACE: "replaced",
        Action.DELETE: "deleted"}
STYLE = {Action.CREATE: "create", Action.UPDATE: "update", Action.REPLACE: "replace",
         Action.DELETE: "delete"}


class ApplyProgress:
    """Callable sink for executor events; use as a context manager around the apply."""

    def __init__(self, output: Output, total: int):
        self.output = output
        self.total = total
        self._lock = threading.Lock()
        self._started: dict[tuple[str, str], float] = {}
        self._progress: Progress | None = None
        self._task = None

    def __enter__(self) -> "ApplyProgress":
        if self.output.live:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), console=self.output.err, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("Applying", total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def print(self, line: str) -> None:
        self.output.err.print(line)

    def __call__(self, event) -> None:
        action = event.action if isinstance(event.action, Action) else Action(event.action)
        key = (event.address, action.value)
        address = f"[address]{escape(event.address)}[/]"
        with self._lock:
            if event.phase == "start":
                self._started[key] = time.monotonic()
                if self._progress is None:
                    self.print(f"{address}: {DOING.get(action, action.value)}…")
                return
            elapsed = time.monotonic() - self._started.pop(key, time.monotonic())
            if self._progress is not None and self._task is not None and event.phase != "start":
                self._progress.advance(self._task)
        if event.phase == "done":
            self.print(f"{address}: [{STYLE.get(action, 'noop')}]{DONE.get(action, 'done')}[/] "
                       f"[muted]({elapsed:.1f}s)[/]")
        elif event.phase == "failed":
            self.print(f"{address}: [error]failed[/] — {escape(event.message)}")
        elif event.phase == "skipped":
            self.print(f"{address}: [warning]skipped[/] [muted]({escape(event.message or 'a dependency failed')})[/]")
