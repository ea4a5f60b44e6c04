"""The `$filter` ARM's list calls accept here: `tagName eq 'k' [and tagValue eq 'v']` and
`resourceType eq 'T'` (not combined with a tag filter, as ARM refuses too). Anything else is
refused with 400, never silently ignored."""

from __future__ import annotations

import re
from typing import Callable

from lepton_cli.sandbox.azure.errors import ArmError

_CLAUSE = re.compile(r"\s*(tagName|tagValue|resourceType|name)\s+eq\s+'((?:[^']|'')*)'\s*", re.I)


def parse(text: str | None, allowed: tuple[str, ...]) -> Callable[[dict], bool]:
    """A predicate over records for `$filter` (None/empty: everything)."""
    if not text:
        return lambda record: True
    clauses: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        match = _CLAUSE.fullmatch(part)
        if not match or match.group(1).lower() in clauses:
            raise _bad(text)
        clauses[match.group(1).lower()] = match.group(2).replace("''", "'")
    keys = set(clauses)
    if not keys <= {k.lower() for k in allowed} or ("tagvalue" in keys and "tagname" not in keys) \
            or ("tagname" in keys and len(keys - {"tagname", "tagvalue"}) > 0):
        raise _bad(text)

    def match(record: dict) -> bool:
        if "resourcetype" in clauses and record["type"].lower() != clauses["resourcetype"].lower():
            return False
        if "name" in clauses and record["name"].lower() != clauses["name"].lower():
            return False
        if "tagname" in clauses:
            tags = {k.lower(): v for k, v in (record.get("tags") or {}).items()}
            if clauses["tagname"].lower() not in tags:
                return False
            if "tagvalue" in clauses and tags[clauses["tagname"].lower()] != clauses["tagvalue"]:
                return False
        return True

    return match


def _bad(text: str) -> ArmError:
    return ArmError(400, "InvalidFilterInQueryString",
                    f"Invalid $filter '{text}' specified in the query string. The emulator supports "
                    "\"tagName eq '<name>' [and tagValue eq '<value>']\", \"resourceType eq '<type>'\" and "
                    "\"name eq '<name>'\".")
