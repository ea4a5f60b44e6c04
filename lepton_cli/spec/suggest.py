"""'Did you mean ...?' for misspelt keys, kinds, clouds, references and addresses."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """The hint text, or "" when nothing is close."""
    match = closest(word, candidates)
    return f"did you mean {match!r}?" if match else ""
