"""Errors a user sees: `Diagnostic`s with a location and a remedy.

Every layer raises `LeptonError` (or a subclass) carrying one or more diagnostics; the CLI
renders them and exits 1. SDK exceptions are translated into these at the driver boundary,
once, so nothing above a driver ever sees a botocore or azure exception.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a plan file something is: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: what is wrong, where, and what to do about it."""

    summary: str
    detail: str = ""
    location: Location | None = None
    path: str = ""  # key path in the plan, e.g. "resources.web.count"
    address: str = ""  # primitive or resource address, when it is about one
    hint: str = ""  # the remedy: "did you mean ...", or the command that fixes it

    def render(self) -> str:
        """One readable block of text (the CLI adds colour)."""
        head = f"{self.location}: " if self.location else ""
        where = f" ({self.path})" if self.path else ""
        lines = [f"{head}{self.summary}{where}"]
        if self.address:
            lines[0] = f"{lines[0]} [{self.address}]"
        if self.detail:
            lines.append(f"  {self.detail}")
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)


class LeptonError(Exception):
    """An error meant for the user; `diagnostics` says everything they need."""

    def __init__(self, *diagnostics: Diagnostic | str):
        self.diagnostics: list[Diagnostic] = [
            d if isinstance(d, Diagnostic) else Diagnostic(summary=d) for d in diagnostics
        ]
        super().__init__("\n".join(d.render() for d in self.diagnostics))


class PlanFileError(LeptonError):
    """The plan file cannot be rendered, parsed or validated."""


class StateError(LeptonError):
    """State cannot be read, written or locked."""


class LockHeldError(StateError):
    """Another process holds the stack's lock."""


class StaleChangeSetError(LeptonError):
    """A saved change set no longer matches the state or the plan file."""


class CloudError(LeptonError):
    """A cloud API refused an operation (translated from the SDK at the driver boundary)."""


class OwnershipError(CloudError):
    """An object with the name lepton wants exists but does not carry this stack's marker."""


class AbandonedError(LeptonError):
    """The user pressed Ctrl-C twice: stop waiting for operations still running in the cloud."""
