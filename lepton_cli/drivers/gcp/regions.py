"""Google Cloud regions lepton ships (DESIGN §3 validation without an API call): region ->
its zones' suffixes, as Compute Engine names them (`us-central1-a`)."""

from __future__ import annotations

ZONES: dict[str, tuple[str, ...]] = {
    "us-central1": ("a", "b", "c", "f"),
    "us-east1": ("b", "c", "d"),
    "us-east4": ("a", "b", "c"),
    "us-west1": ("a", "b", "c"),
    "europe-west1": ("b", "c", "d"),
    "europe-west4": ("a", "b", "c"),
    "asia-east1": ("a", "b", "c"),
    "asia-northeast1": ("a", "b", "c"),
}

REGIONS: dict[str, int] = {region: len(zones) for region, zones in ZONES.items()}


def zone_names(region: str, count: int) -> list[str]:
    """The first `count` zones of `region` (`us-central1-a`, `us-central1-b`, ...)."""
    return [f"{region}-{suffix}" for suffix in ZONES[region][:count]]
