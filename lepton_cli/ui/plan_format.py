"""The ways `lepton plan --format` can print a plan (kept apart so the CLI imports it cheaply)."""

from __future__ import annotations

import enum


class PlanFormat(str, enum.Enum):
    HUMAN = "human"  # grouped by resource, field by field (the default)
    JSON = "json"  # the `--json` document
    MARKDOWN = "markdown"  # a pull-request comment: counts table, collapsible diffs
