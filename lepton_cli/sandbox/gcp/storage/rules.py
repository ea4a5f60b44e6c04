"""What Cloud Storage refuses in a bucket or object resource before anything is stored.

Written from the public documentation: bucket naming requirements, label requirements,
bucket locations, storage classes, lifecycle rule actions and conditions.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from lepton_cli.sandbox.gcp.storage.errors import invalid, required

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
MAX_LABELS = 64

MULTI_REGIONS = {"US", "EU", "ASIA"}
DUAL_REGIONS = {"NAM4", "EUR4", "EUR5", "EUR7", "EUR8", "ASIA1"}
REGIONS = {
    "US-CENTRAL1", "US-EAST1", "US-EAST4", "US-EAST5", "US-SOUTH1", "US-WEST1", "US-WEST2", "US-WEST3",
    "US-WEST4", "NORTHAMERICA-NORTHEAST1", "NORTHAMERICA-NORTHEAST2", "SOUTHAMERICA-EAST1",
    "SOUTHAMERICA-WEST1", "EUROPE-WEST1", "EUROPE-WEST2", "EUROPE-WEST3", "EUROPE-WEST4", "EUROPE-WEST6",
    "EUROPE-WEST8", "EUROPE-WEST9", "EUROPE-WEST10", "EUROPE-WEST12", "EUROPE-NORTH1", "EUROPE-CENTRAL2",
    "EUROPE-SOUTHWEST1", "ASIA-EAST1", "ASIA-EAST2", "ASIA-NORTHEAST1", "ASIA-NORTHEAST2", "ASIA-NORTHEAST3",
    "ASIA-SOUTH1", "ASIA-SOUTH2", "ASIA-SOUTHEAST1", "ASIA-SOUTHEAST2", "AUSTRALIA-SOUTHEAST1",
    "AUSTRALIA-SOUTHEAST2", "ME-WEST1", "ME-CENTRAL1", "AFRICA-SOUTH1",
}
STORAGE_CLASSES = {"STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE", "MULTI_REGIONAL", "REGIONAL",
                   "DURABLE_REDUCED_AVAILABILITY"}
LIFECYCLE_ACTIONS = {"Delete", "SetStorageClass", "AbortIncompleteMultipartUpload"}
# condition -> the JSON type the API accepts for it
LIFECYCLE_CONDITIONS: dict[str, type | tuple[type, ...]] = {
    "age": int, "createdBefore": str, "customTimeBefore": str, "daysSinceCustomTime": int,
    "daysSinceNoncurrentTime": int, "isLive": bool, "matchesPrefix": list, "matchesSuffix": list,
    "matchesStorageClass": list, "noncurrentTimeBefore": str, "numNewerVersions": int,
}
PUBLIC_ACCESS_PREVENTION = {"inherited", "enforced", "unspecified"}


def check_bucket_name(name: Any) -> str:
    if not name or not isinstance(name, str):
        raise required("Required")
    bad = invalid(f"Invalid bucket name: '{name}'")
    limit = 222 if "." in name else 63
    if not 3 <= len(name) <= limit or not _BUCKET_CHARS.fullmatch(name) or name.startswith("goog"):
        raise bad
    if "." in name and any(not 1 <= len(part) <= 63 for part in name.split(".")):
        raise bad
    if ".." in name or "google" in name or _is_ip(name):
        raise bad
    return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def check_object_name(name: str) -> str:
    if not name:
        raise required("Required")
    encoded = name.encode("utf-8", "surrogatepass")
    if len(encoded) > 1024 or "\r" in name or "\n" in name or name in (".", "..") \
            or name.startswith(".well-known/acme-challenge/"):
        raise invalid("The specified object name is not valid.")
    return name


def check_labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, dict):
        raise invalid("Invalid argument.")
    if len(labels) > MAX_LABELS:
        raise invalid(f"Too many labels: at most {MAX_LABELS} are allowed.")
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_KEY.fullmatch(key):
            raise invalid(f"Invalid label key '{key}'.")
        if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
            raise invalid(f"Invalid label value '{value}' for key '{key}'.")
    return labels


def location(value: Any) -> tuple[str, str]:
    """The canonical (uppercase) location and its locationType."""
    if value is None:
        return "US", "multi-region"
    if not isinstance(value, str):
        raise invalid("Invalid argument.")
    upper = value.upper()
    if upper in MULTI_REGIONS:
        return upper, "multi-region"
    if upper in DUAL_REGIONS:
        return upper, "dual-region"
    if upper in REGIONS:
        return upper, "region"
    raise invalid(f"The specified location constraint is not valid: {value}")


def storage_class(value: Any) -> str:
    if value is None:
        return "STANDARD"
    if not isinstance(value, str) or value.upper() not in STORAGE_CLASSES:
        raise invalid(f"The specified storage class is not valid: {value}")
    return value.upper()


def check_lifecycle(lifecycle: Any) -> dict[str, Any]:
    if not isinstance(lifecycle, dict) or not isinstance(lifecycle.get("rule", []), list):
        raise invalid("Invalid argument.")
    for rule in lifecycle.get("rule", []):
        action, condition = (rule or {}).get("action"), (rule or {}).get("condition")
        if not isinstance(action, dict) or not action.get("type"):
            raise required("Lifecycle rule action type is required.")
        if action["type"] not in LIFECYCLE_ACTIONS:
            raise invalid(f"Invalid lifecycle action type: {action['type']}")
        if action["type"] == "SetStorageClass":
            storage_class(action.get("storageClass") or "")
        if not isinstance(condition, dict) or not condition:
            raise invalid("Lifecycle rule requires at least one condition.")
        for key, value in condition.items():
            kind = LIFECYCLE_CONDITIONS.get(key)
            if kind is None or isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
                raise invalid(f"Invalid lifecycle condition: {key}")
            if kind is int and value < 0:
                raise invalid(f"Invalid lifecycle condition {key}: {value} must not be negative.")
    return lifecycle


def check_public_access_prevention(value: Any) -> str:
    if value not in PUBLIC_ACCESS_PREVENTION:
        raise invalid(f"Invalid value for publicAccessPrevention: {value}")
    return "inherited" if value == "unspecified" else value
