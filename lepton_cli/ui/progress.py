"""Progress of an apply or destroy: a live display on a terminal, plain lines elsewhere.

The live display is an overall bar ("Applying"/"Destroying", done/total, elapsed) and one line
per operation in flight with its own elapsed time, since one cloud call can take minutes (a
CDN distribution). Plain output prints a line when an operation starts and ends, and a "still
creating" line for any operation that runs longer than `STILL_EVERY` seconds, so a CI log shows
what it is waiting on. Skipped operations are not printed one by one (an interrupted apply can
skip hundreds): they are collected in `skipped` for the final report.

The executor calls the display from its calling thread; the plain-mode ticker runs in a thread
of its own, so the state here is guarded by a lock.
"""

from __future__ import annotations

import threading
import time

from rich.markup import escape
from rich.console import RenderableType
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn,
                           TimeElapsedColumn)
from rich.text import Text

from lepton_cli.engine.model import Action
from lepton_cli.ui.console import Output

DOING = {Action.CREATE: "creating", Action.UPDATE: "updating", Action.REPLACE: "replacing",
         Action.DELETE: "deleting"}
DONE = {Action.CREATE: "created", Action.UPDATE: "updated", Action.REPLACE: "replaced",
        Action.DELETE: "deleted"}
STYLE = {Action.CREATE: "create", Action.UPDATE: "update", Action.REPLACE: "replace",
         Action.DELETE: "delete"}
# The overall bar's heading, by the verb of the command that applies.
HEADING = {"Apply": "Applying", "Destroy": "Destroying"}
STILL_EVERY = 10.0  # seconds between "still creating" lines in plain output


class _OverallOnly(ProgressColumn):
    """A column drawn for the overall task only (an operation's line has no bar or count)."""

    def __init__(self, column: ProgressColumn):
        self.column = column
        super().__init__(table_column=column.get_table_column())

    def render(self, task) -> RenderableType:
        return Text("") if task.fields.get("operation") else self.column.render(task)


class ApplyProgress:
    """Callable sink for executor events; use as a context manager around the apply."""

    def __init__(self, output: Output, total: int, verb: str = "Apply", still_every: float = STILL_EVERY):
        self.output = output
        self.total = total
        self.heading = HEADING.get(verb, verb)
        self.still_every = still_every
        self.skipped: dict[str, str] = {}  # address -> why it did not run, in the order seen
        self._lock = threading.Lock()
        self._started: dict[tuple[str, str], float] = {}
        self._tasks: dict[tuple[str, str], object] = {}
        self._progress: Progress | None = None
        self._task = None
        self._ticker: threading.Thread | None = None
        self._closing = threading.Event()

    def __enter__(self) -> "ApplyProgress":
        if self.output.live:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), _OverallOnly(BarColumn()),
                _OverallOnly(MofNCompleteColumn()), TimeElapsedColumn(), console=self.output.err,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(f"[bold]{self.heading}[/]", total=self.total)
        elif self.total:
            count = f"{self.total} operation{'s' * (self.total != 1)}"
            self.print(f"[bold]{self.heading}[/] [muted]({count})[/]…")
        if self._progress is None and self.still_every > 0:
            self._ticker = threading.Thread(target=self._tick, name="progress-ticker", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        if self._progress is not None:
            self._progress.stop()

    def print(self, line: str) -> None:
        self.output.err.print(line)

    def in_flight(self) -> list[tuple[str, str, float]]:
        """(address, action, seconds running) of every operation running now, longest first."""
        now = time.monotonic()
        with self._lock:
            running = [(address, action, now - since) for (address, action), since in self._started.items()]
        return sorted(running, key=lambda item: -item[2])

    def _tick(self) -> None:
        while not self._closing.wait(self.still_every):
            for address, action, seconds in self.in_flight():
                if seconds >= self.still_every:
                    doing = DOING.get(Action(action), action)
                    self.print(f"[address]{escape(address)}[/]: still {doing}… [muted]({seconds:.0f}s elapsed)[/]")

    def __call__(self, event) -> None:
        action = event.action if isinstance(event.action, Action) else Action(event.action)
        key = (event.address, action.value)
        address = f"[address]{escape(event.address)}[/]"
        if event.phase == "skipped":
            self.skipped.setdefault(event.address, event.message or "a dependency failed")
            return
        with self._lock:
            if event.phase == "start":
                self._started[key] = time.monotonic()
                if self._progress is not None:
                    self._tasks[key] = self._progress.add_task(
                        f"  {DOING.get(action, action.value)} {address}", total=None, operation=True)
                else:
                    self.print(f"{address}: {DOING.get(action, action.value)}…")
                return
            elapsed = time.monotonic() - self._started.pop(key, time.monotonic())
            if self._progress is not None:
                task = self._tasks.pop(key, None)
                if task is not None:
                    self._progress.remove_task(task)
                if self._task is not None:
                    self._progress.advance(self._task)
        if event.phase == "done":
            self.print(f"{address}: [{STYLE.get(action, 'noop')}]{DONE.get(action, 'done')}[/] "
                       f"[muted]({elapsed:.1f}s)[/]")
        elif event.phase == "failed":
            self.print(f"{address}: [error]failed[/] — {escape(event.message)}")
