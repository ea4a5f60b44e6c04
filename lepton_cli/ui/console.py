"""Where output goes: one rich Console for stdout and one for stderr, configured once.

Colour and live displays only on a terminal and when NO_COLOR is unset (or --no-color not given);
otherwise plain lines, so CI logs and pipes stay readable.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from rich.console import Console
from rich.theme import Theme

THEME = Theme({
    "create": "green", "update": "yellow", "replace": "magenta", "delete": "red",
    "noop": "dim", "error": "bold red", "warning": "yellow", "hint": "cyan", "muted": "dim",
    "address": "bold",
})


@dataclass
class Output:
    out: Console
    err: Console
    color: bool
    debug: bool = False

    @property
    def live(self) -> bool:
        """Whether to draw live progress (a terminal with colour)."""
        return self.color and self.err.is_terminal


_output: Output | None = None


def configure(no_color: bool = False, debug: bool = False) -> Output:
    global _output
    color = not no_color and "NO_COLOR" not in os.environ
    # highlight=False: never recolour user data (addresses, ids) by guessing at its type.
    out = Console(theme=THEME, no_color=not color, highlight=False, soft_wrap=True,
                  force_terminal=None if color else False)
    err = Console(theme=THEME, no_color=not color, highlight=False, soft_wrap=True, stderr=True,
                  force_terminal=None if color else False)
    _output = Output(out=out, err=err, color=color and out.is_terminal, debug=debug)
    return _output


def output() -> Output:
    return _output or configure()


_json_written = False


def write_json(document: object) -> None:
    """The one JSON document a `--json` command prints on stdout."""
    import json

    global _json_written
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()
    _json_written = True


def json_written() -> bool:
    """Whether this run printed its JSON document already (an error then adds no second one)."""
    return _json_written


def diagnostic_json(d) -> dict:
    """A `Diagnostic` as `--json` prints it, in every command's error document."""
    return {
        "summary": d.summary, "detail": d.detail, "path": d.path, "address": d.address,
        "hint": d.hint,
        "location": None if d.location is None else
        {"file": d.location.file, "line": d.location.line, "column": d.location.column},
    }
