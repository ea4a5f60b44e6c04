"""Links between Compute resources: how the API spells them (full URLs on output; full URLs,
partial ``projects/...`` paths and, for some fields, bare names on input)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lepton_cli.sandbox.gcp.errors import invalid_field

BASE = "https://www.googleapis.com/compute/v1"

_LINK = re.compile(
    r"^(?:https?://[^/]+/compute/(?:v1|beta|alpha)/)?(?:projects/(?P<project>[^/]+)/)?"
    r"(?:(?P<loc>global|regions/[^/]+|zones/[^/]+)/)?(?P<coll>[A-Za-z]+)/(?P<name>[^/]+)$"
)


@dataclass(frozen=True)
class Ref:
    project: str
    loc: str  # "global", "regions/R" or "zones/Z"
    coll: str  # the URL collection segment ("networks", "instanceGroupManagers", ...)
    name: str

    @property
    def path(self) -> str:
        return f"projects/{self.project}/{self.loc}/{self.coll}/{self.name}"

    @property
    def url(self) -> str:
        return f"{BASE}/{self.path}"

    @property
    def scope(self) -> str:
        return scope_of(self.loc)


def scope_of(loc: str) -> str:
    return {"global": "global", "regions": "region", "zones": "zone"}[loc.split("/")[0]]


def loc_url(project: str, loc: str) -> str:
    return f"{BASE}/projects/{project}/{loc}"


def parse(value: object, field: str, project: str, loc: str, default_coll: str | None) -> Ref:
    """Reads a reference as the API accepts it; a bare name (when the field allows one, i.e.
    `default_coll` is given) lives in the referring resource's own location."""
    if not isinstance(value, str) or not value:
        raise invalid_field(field, value, "The URL is malformed.")
    if "/" not in value:
        if default_coll is None:
            raise invalid_field(field, value, "The URL is malformed.")
        return Ref(project, loc, default_coll, value)
    match = _LINK.match(value)
    if not match or (match["loc"] is None and "/" in value.split("/", 1)[0]):
        raise invalid_field(field, value, "The URL is malformed.")
    return Ref(match["project"] or project, match["loc"] or "global", match["coll"], match["name"])
