"""The read-only collections, computed from the catalog tables: regions, zones, machine
types (zonal) and public images (global, in their owning projects)."""

from __future__ import annotations

import zlib

from lepton_cli.sandbox.gcp import errors
from lepton_cli.sandbox.gcp.compute import catalog, refs
from lepton_cli.sandbox.gcp.compute.backend import paginate

READ_ONLY = {"machineTypes", "images"}
_CREATED = "1969-12-31T16:00:00.000-08:00"


def _id(*parts: str) -> str:
    return str(zlib.crc32("/".join(parts).encode()) * 100003 + 1000)


def region(project: str, name: str) -> dict:
    return {
        "kind": "compute#region", "id": _id("region", name), "creationTimestamp": _CREATED,
        "name": name, "description": name, "status": "UP",
        "zones": [f"{refs.BASE}/projects/{project}/zones/{name}-{s}" for s in catalog.REGIONS[name]],
        "quotas": [{"metric": "CPUS", "limit": 2400.0, "usage": 0.0}],
        "selfLink": f"{refs.BASE}/projects/{project}/regions/{name}", "supportsPzs": False,
    }


def zone(project: str, name: str) -> dict:
    return {
        "kind": "compute#zone", "id": _id("zone", name), "creationTimestamp": _CREATED,
        "name": name, "description": name, "status": "UP",
        "region": f"{refs.BASE}/projects/{project}/regions/{catalog.ZONES[name]}",
        "selfLink": f"{refs.BASE}/projects/{project}/zones/{name}",
        "availableCpuPlatforms": ["Intel Cascade Lake", "AMD Milan", "Intel Sapphire Rapids"],
        "supportsPzs": False,
    }


def machine_type(project: str, zone_name: str, name: str) -> dict:
    cpus, memory, accelerator, count = catalog.MACHINE_TYPES[name]
    out = {
        "kind": "compute#machineType", "id": _id("machineType", name), "creationTimestamp": _CREATED,
        "name": name, "description": f"{cpus} vCPUs, {memory / 1024:g} GB RAM",
        "guestCpus": cpus, "memoryMb": memory, "imageSpaceGb": 0, "maximumPersistentDisks": 128,
        "maximumPersistentDisksSizeGb": "263168", "zone": zone_name,
        "isSharedCpu": name in ("e2-micro", "e2-small", "e2-medium"),
        "selfLink": f"{refs.BASE}/projects/{project}/zones/{zone_name}/machineTypes/{name}",
        "architecture": "X86_64",
    }
    if accelerator:
        out["accelerators"] = [{"guestAcceleratorType": accelerator, "guestAcceleratorCount": count}]
    return out


def image(project: str, name: str, family: str, created: str, deprecated: bool) -> dict:
    link = f"{refs.BASE}/projects/{project}/global/images/{name}"
    out = {
        "kind": "compute#image", "id": _id("image", project, name),
        "creationTimestamp": f"{created}T00:00:00.000-07:00",
        "name": name, "description": f"{family}, built on {created}", "family": family,
        "sourceType": "RAW", "status": "READY", "diskSizeGb": "10", "archiveSizeBytes": "1000000000",
        "licenses": [f"{refs.BASE}/projects/{project}/global/licenses/{family}"],
        "selfLink": link, "architecture": "X86_64", "labelFingerprint": "42WmSpB8rSM=",
        "guestOsFeatures": [{"type": "VIRTIO_SCSI_MULTIQUEUE"}, {"type": "UEFI_COMPATIBLE"}, {"type": "GVNIC"}],
    }
    if deprecated:
        newer = next(n for n, f, _c, d in catalog.IMAGES[project] if f == family and not d)
        out["deprecated"] = {"state": "DEPRECATED",
                             "replacement": f"{refs.BASE}/projects/{project}/global/images/{newer}"}
    return out


def images(project: str) -> list[dict]:
    return [image(project, *row) for row in catalog.IMAGES.get(project, [])]


def find_image(project: str, name: str) -> dict | None:
    return next((i for i in images(project) if i["name"] == name), None)


def image_from_family(project: str, family: str) -> dict | None:
    """The newest image of a family that is not deprecated, as images.getFromFamily answers."""
    live = [i for i in images(project) if i["family"] == family and "deprecated" not in i]
    return max(live, key=lambda i: i["creationTimestamp"]) if live else None


def listing(kind: str, self_link: str, items: list[dict], query: dict) -> dict:
    _, page = paginate(items, query, key=lambda r: r["name"])
    return {"kind": kind, "id": self_link.removeprefix(refs.BASE + "/"), "selfLink": self_link, **page}


def regions_or_zones(project: str, rest: list[str], query: dict, method: str) -> dict:
    if method != "GET":
        raise errors.bad_method(method, "/".join(rest))
    collection, name = rest[0], (rest[1] if len(rest) > 1 else None)
    table, build = (catalog.REGIONS, region) if collection == "regions" else (catalog.ZONES, zone)
    if name is None:
        items = [build(project, n) for n in table]
        return listing(f"compute#{collection[:-1]}List", f"{refs.BASE}/projects/{project}/{collection}", items, query)
    if name not in table:
        raise errors.not_found(f"projects/{project}/{collection}/{name}")
    return build(project, name)


def read(project: str, loc: str, tail: list[str], query: dict, method: str) -> dict:
    if method != "GET":
        raise errors.bad_method(method, "/".join(tail))
    coll = tail[0]
    if coll == "machineTypes" and loc.startswith("zones/"):
        zone_name = loc.split("/")[1]
        if len(tail) == 1:
            items = [machine_type(project, zone_name, n) for n in catalog.MACHINE_TYPES]
            return listing("compute#machineTypeList", f"{refs.loc_url(project, loc)}/machineTypes", items, query)
        if tail[1] not in catalog.MACHINE_TYPES:
            raise errors.not_found(f"projects/{project}/{loc}/machineTypes/{tail[1]}")
        return machine_type(project, zone_name, tail[1])
    if coll == "images" and loc == "global":
        if len(tail) == 1:
            link = f"{refs.BASE}/projects/{project}/global/images"
            return listing("compute#imageList", link, images(project), query)
        if len(tail) == 3 and tail[1] == "family":
            found = image_from_family(project, tail[2])
            if found is None:
                raise errors.not_found(f"projects/{project}/global/images/family/{tail[2]}")
            return found
        if len(tail) == 2:
            found = find_image(project, tail[1])
            if found is None:
                raise errors.not_found(f"projects/{project}/global/images/{tail[1]}")
            return found
    raise errors.not_found(f"projects/{project}/{loc}/{'/'.join(tail)}")
