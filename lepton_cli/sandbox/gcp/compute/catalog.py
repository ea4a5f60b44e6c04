"""The read-only world the emulator ships: regions and zones, machine types, public images.
Plain tables, so the driver's catalog and the emulator agree on the names they use."""

from __future__ import annotations

REGIONS: dict[str, tuple[str, ...]] = {
    "us-central1": ("a", "b", "c", "f"),
    "us-east1": ("b", "c", "d"),
    "us-east4": ("a", "b", "c"),
    "us-west1": ("a", "b", "c"),
    "europe-west1": ("b", "c", "d"),
    "europe-west4": ("a", "b", "c"),
    "asia-east1": ("a", "b", "c"),
    "asia-northeast1": ("a", "b", "c"),
}

ZONES: dict[str, str] = {f"{region}-{suffix}": region for region, suffixes in REGIONS.items() for suffix in suffixes}

# The first octets of regional external addresses, one block per region (global ones use 34.x).
REGION_IP_PREFIX: dict[str, str] = {
    "us-central1": "35.188", "us-east1": "35.196", "us-east4": "35.199", "us-west1": "35.197",
    "europe-west1": "35.187", "europe-west4": "35.204", "asia-east1": "35.194", "asia-northeast1": "35.200",
}


def _family(prefix: str, sizes: dict[int, float]) -> dict[str, tuple[int, int]]:
    """``{name: (vCPUs, memory MB)}`` for one family, from vCPU counts and GB per vCPU."""
    return {f"{prefix}-{cpus}": (cpus, int(cpus * gb_per_cpu * 1024)) for cpus, gb_per_cpu in sizes.items()}


def _general(series: str, counts: tuple[int, ...]) -> dict[str, tuple[int, int]]:
    types: dict[str, tuple[int, int]] = {}
    for shape, gb in (("standard", 4), ("highmem", 8), ("highcpu", 1)):
        types.update(_family(f"{series}-{shape}", {cpus: gb for cpus in counts}))
    return types


# name -> (vCPUs, memory MB, accelerator type or None, accelerator count)
MACHINE_TYPES: dict[str, tuple[int, int, str | None, int]] = {}
for _series, _counts in (("e2", (2, 4, 8, 16, 32)), ("n2", (2, 4, 8, 16, 32, 64)),
                         ("n2d", (2, 4, 8, 16, 32, 64)), ("c3", (4, 8, 22, 44, 88))):
    for _name, (_cpus, _mem) in _general(_series, _counts).items():
        MACHINE_TYPES[_name] = (_cpus, _mem, None, 0)
MACHINE_TYPES.update({
    "e2-micro": (2, 1024, None, 0), "e2-small": (2, 2048, None, 0), "e2-medium": (2, 4096, None, 0),
})
for _cpus in (1, 2, 4, 8, 16, 32, 64, 96):
    MACHINE_TYPES[f"n1-standard-{_cpus}"] = (_cpus, int(_cpus * 3.75 * 1024), None, 0)
for _gpus, _cpus, _gb in ((1, 12, 85), (2, 24, 170), (4, 48, 340), (8, 96, 680)):
    MACHINE_TYPES[f"a2-highgpu-{_gpus}g"] = (_cpus, _gb * 1024, "nvidia-tesla-a100", _gpus)
MACHINE_TYPES["a2-ultragpu-1g"] = (12, 170 * 1024, "nvidia-a100-80gb", 1)
for _cpus, _gb, _gpus in ((4, 16, 1), (8, 32, 1), (12, 48, 1), (16, 64, 1), (24, 96, 2), (32, 128, 1), (48, 192, 4)):
    MACHINE_TYPES[f"g2-standard-{_cpus}"] = (_cpus, _gb * 1024, "nvidia-l4", _gpus)

# Accelerators attachable to N1 machines (guestAccelerators in an instance template).
ACCELERATOR_TYPES = ("nvidia-tesla-t4", "nvidia-tesla-a100", "nvidia-a100-80gb", "nvidia-l4")

# Public images: project -> [(name, family, creation date, deprecated?)], oldest first.
IMAGES: dict[str, list[tuple[str, str, str, bool]]] = {
    "ubuntu-os-cloud": [
        ("ubuntu-2204-jammy-v20240501", "ubuntu-2204-lts", "2024-05-01", True),
        ("ubuntu-2204-jammy-v20240614", "ubuntu-2204-lts", "2024-06-14", False),
        ("ubuntu-2404-noble-amd64-v20240523", "ubuntu-2404-lts-amd64", "2024-05-23", True),
        ("ubuntu-2404-noble-amd64-v20240701", "ubuntu-2404-lts-amd64", "2024-07-01", False),
    ],
    "debian-cloud": [
        ("debian-12-bookworm-v20240515", "debian-12", "2024-05-15", True),
        ("debian-12-bookworm-v20240611", "debian-12", "2024-06-11", False),
    ],
}
