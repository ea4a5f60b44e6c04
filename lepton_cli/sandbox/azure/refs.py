"""Resource-id helpers shared by the providers: parse ids, check that a reference points at an
existing resource of the right type, walk reference lists."""

from __future__ import annotations

import re
from typing import Any, Iterator

from lepton_cli.sandbox.azure import errors
from lepton_cli.sandbox.azure.errors import ArmError

_ID = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+(?:/[^/]+/[^/]+)*", re.I)


def type_of(resource_id: str) -> str:
    """`Microsoft.Network/loadBalancers/backendAddressPools` for an id."""
    parts = resource_id.strip("/").split("/")
    ns = parts[5]
    return "/".join([ns, *parts[6::2]])


def check_shape(ref: Any, where: str) -> str:
    """A reference `{"id": "..."}` with a well-formed ARM id (400 LinkedInvalidPropertyId otherwise)."""
    value = ref.get("id") if isinstance(ref, dict) else None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ArmError(400, "LinkedInvalidPropertyId",
                       f"Property id '{value}' at path '{where}' is invalid. Expect fully qualified resource Id "
                       "that start with '/subscriptions/{subscriptionId}' or "
                       "'/providers/{resourceProviderNamespace}/'.")
    return value


def resolve(backend: Any, ref: Any, where: str, owner_id: str, type_: str, location: str | None = None) -> dict:
    """The record a reference names: well formed, of type `type_`, existing and, when `location`
    is given, in that region (itself or the parent it lives in) - 400 otherwise."""
    value = check_shape(ref, where)
    record = backend.get(value)
    if record is None or type_of(value).lower() != type_.lower():
        raise errors.bad_reference(value, owner_id)
    if location is not None:
        holder = record if "location" in record else backend.get(record.get("_parent") or "") or {}
        if holder.get("location", location) != location:
            raise errors.bad_reference(value, owner_id)
    return record


def ids(items: Any, key: str) -> Iterator[str]:
    """The `id`s in `items[].properties[key]` (one reference or a list of them)."""
    for item in items or []:
        value = (item.get("properties") or {}).get(key)
        for ref in value if isinstance(value, list) else [value] if value else []:
            if isinstance(ref, dict) and isinstance(ref.get("id"), str):
                yield ref["id"]


def sub_id(parent_id: str, collection: str, name: str) -> str:
    return f"{parent_id}/{collection}/{name}"


def find(backend: Any, resource_id: str) -> dict | None:
    """A record, or an inline sub-resource of one (a load balancer's backend pool, an NSG's rule)."""
    record = backend.get(resource_id)
    if record is not None:
        return record
    parent_id, collection, name = resource_id.rsplit("/", 2) if resource_id.count("/") > 8 else ("", "", "")
    parent = backend.get(parent_id) if parent_id else None
    if parent is None:
        return None
    for item in (parent.get("properties") or {}).get(collection) or []:
        if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
            return item
    return None


def resolve_sub(backend: Any, ref: Any, where: str, owner_id: str, type_: str) -> dict:
    """As `resolve`, for ids that may name inline sub-resources."""
    value = check_shape(ref, where)
    found = find(backend, value)
    if found is None or type_of(value).lower() != type_.lower():
        raise errors.bad_reference(value, owner_id)
    return found
