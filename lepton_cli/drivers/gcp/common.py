"""Shared machinery of the Compute Engine primitive types: where an object lives, how it names
its owner (labels, or the description where the API takes no labels), the one filtered and
paginated list per type and location, idempotent inserts, and waiting on operations.

A Compute type declares a few class attributes and implements `observe` (an API item read as
an `Observed`, properties in the shape its `expand` writes them); the base class does the rest:

    class NetworkType(ComputeType):
        type_name = "gcp.network"
        collection, resource_field, ident_field = "Networks", "network_resource", "network"
        scope = GLOBAL
        noun = "network"

Ids are the object's selfLink (`https://www.googleapis.com/compute/v1/projects/P/global/networks/N`):
a delete works from state alone, whatever the plan file's project now says, and the engine sees
which objects use which, since references hold the same URL (`outputs["self_link"]`, = id).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_cli.drivers.base import NameScope, Observed, Primitive, PrimitiveType
from lepton_cli.drivers.gcp.errors import ALREADY_EXISTS, google_error, is_not_found, reasons, translate
from lepton_cli.drivers.ownership import (description_marker, label_markers, owned_address_from_description,
                                          owned_address_from_labels, owner_from_description, owner_from_labels,
                                          stack_label_filter)
from lepton_cli.errors import Diagnostic, LeptonError, OwnershipError

if TYPE_CHECKING:
    from lepton_cli.drivers.gcp.driver import GcpDriver

GLOBAL = "global"  # the pseudo-region of global Compute objects (networks, firewalls, url maps, ...)
API = "https://www.googleapis.com/compute/v1/"  # what selfLinks start with
LABELS, DESCRIPTION = "labels", "description"  # how a type carries its owner
_REQUEST_IDS = uuid.UUID("6c1b7b0e-2f38-4a59-9f57-3f0f4c6b9a11")  # namespace of lepton's requestIds


def path_of(link: str) -> str:
    """`projects/P/...` from a selfLink or a path (what ids and references are compared by)."""
    return link.split("/compute/v1/", 1)[-1].split("/compute/beta/", 1)[-1]


def name_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def parts_of(ident: str) -> dict[str, str]:
    """`projects/P/regions/R/subnetworks/N` -> {"project": P, "region": R, "name": N}."""
    segments = path_of(ident).split("/")
    found = {"project": segments[1], "name": segments[-1]}
    if len(segments) > 3 and segments[2] in ("regions", "zones"):
        found[segments[2][:-1]] = segments[3]
    return found


def request_id() -> str:
    """A fresh idempotency key for one mutating call (a UUID). The SDK's retries resend the
    same request, so a lost answer never makes the call twice. It is never derived from the
    call's content: Google remembers a requestId for an hour and answers a reused one with the
    old operation, doing nothing, which would make a re-create after a destroy, or A -> B -> A,
    silently not happen. A rerun after a crash finds its earlier attempt by name instead
    (`insert` adopts its own 409)."""
    return str(uuid.uuid4())


def description_filter(stack: str) -> str:
    """A list `filter` selecting objects whose description carries the stack's marker."""
    marker = re.escape(description_marker(stack, "")).replace('"', '\\"')
    return f'description eq ".*{marker}.*"'


class ComputeType(PrimitiveType):
    """A Compute Engine object type (global or regional)."""

    driver: "GcpDriver"
    collection: ClassVar[str]  # compute_v1 client prefix: "Networks", "RegionInstanceGroupManagers"
    resource_field: ClassVar[str]  # the insert's flattened body argument: "network_resource"
    ident_field: ClassVar[str]  # the get/delete's name argument: "network"
    scope: ClassVar[str] = "region"  # GLOBAL, or "region"
    ownership: ClassVar[str] = DESCRIPTION  # LABELS where the API takes labels at insert
    noun: ClassVar[str] = "object"  # for messages: "network", "instance template"
    name_key = "name"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "scope" in cls.__dict__:
            cls.name_scope = NameScope.GLOBAL if cls.scope == GLOBAL else NameScope.REGION

    # -- where -------------------------------------------------------------------------------------------
    @property
    def stack(self) -> str:
        return self.driver.config.stack

    @property
    def project(self) -> str:
        return self.driver.project

    def client(self):
        return self.driver.compute(self.collection)

    def regions(self, regions: set[str]) -> set[str]:
        if self.scope == GLOBAL:
            return {GLOBAL} if regions else set()
        return regions - {GLOBAL}

    def where(self, region: str, project: str | None = None) -> dict[str, str]:
        """The location arguments of a call: project, and region for a regional type."""
        found = {"project": project or self.project}
        if self.scope != GLOBAL:
            found["region"] = region
        return found

    def where_of(self, current: Observed) -> dict[str, str]:
        """The location arguments for an existing object, from its id (its own project)."""
        parts = parts_of(current.id)
        return self.where(parts.get("region", current.region), parts["project"])

    # -- ownership --------------------------------------------------------------------------------------
    def marker(self, address: str) -> dict[str, Any]:
        """The body fields that carry the owner: labels, or the description."""
        if self.ownership == LABELS:
            return {"labels": label_markers(self.stack, address)}
        return {"description": description_marker(self.stack, address)}

    def owned(self, item: Any) -> str | None:
        """The address of an API item if it belongs to this stack."""
        if self.ownership == LABELS:
            return owned_address_from_labels(dict(getattr(item, "labels", None) or {}), self.stack)
        return owned_address_from_description(getattr(item, "description", ""), self.stack)

    def owner_words(self, item: Any) -> str:
        owner = owner_from_labels(dict(getattr(item, "labels", None) or {})) if self.ownership == LABELS \
            else owner_from_description(getattr(item, "description", ""))
        return f"it belongs to lepton stack {owner.stack!r}" if owner else "it does not carry lepton's ownership marker"

    def list_filter(self) -> str:
        return stack_label_filter(self.stack) if self.ownership == LABELS else description_filter(self.stack)

    # -- reading ----------------------------------------------------------------------------------------
    def observe(self, address: str, region: str, item: Any) -> Observed:
        """An API item as an Observed: every property the type sets, in its expansion's shape."""
        raise NotImplementedError

    def observed(self, address: str, region: str, item: Any, properties: dict[str, Any],
                 outputs: Mapping[str, Any] | None = None, private: Mapping[str, Any] | None = None) -> Observed:
        """The common part of `observe`: id (the item's path), self_link and name outputs,
        creation time."""
        link = item.self_link
        return Observed(address, self.type_name, region, link, properties,
                        {"id": link, "self_link": link, "name": item.name, **(outputs or {})},
                        dict(private or {}), created=getattr(item, "creation_timestamp", "") or "")

    def items(self, region: str, filter: str | None = None) -> Iterator[Any]:
        """Every item of the collection in `region` matching `filter` (default: the stack's
        marker): one filtered list, paginated by the SDK's pager, retried by the SDK."""
        with translate(f"listing {self.noun}s in {region}"):
            yield from self.client().list(
                request={**self.where(region), "filter": filter or self.list_filter(), "max_results": 500},
                retry=self.driver.retry)

    def list(self, region: str) -> list[Observed]:
        out = []
        for item in self.items(region):
            address = self.owned(item)
            if address:
                out.append(self.observe(address, region, item))
        return out

    def get(self, region: str, name: str, project: str | None = None) -> Any | None:
        """The item named `name`, asked now; None if there is none."""
        try:
            with translate(f"reading the {self.noun} {name}"):
                return self.client().get(request={**self.where(region, project), self.ident_field: name},
                                         retry=self.driver.retry)
        except LeptonError as exc:
            if is_not_found(exc):
                return None
            raise

    # -- changing ---------------------------------------------------------------------------------------
    def call(self, method: str, action: str, address: str, /, *, location: Mapping[str, str],
             **arguments: Any) -> Any:
        """A mutating call (`insert`, `patch`, `resize`, ...), with a requestId so the SDK's
        retries never do it twice, waited on until its operation is DONE."""
        request = {**location, **arguments, "request_id": request_id()}
        with translate(action, address):
            operation = getattr(self.client(), f"{method}_unary")(request=request, retry=self.driver.retry)
            return self.driver.wait(operation)

    def insert(self, primitive: Primitive, body: dict[str, Any], adoptable: Callable[[Any], bool] | None = None) -> Any:
        """Create the object from `body` (its marker added here) and return it as the API now
        reads it. Idempotent: if the name is taken by this create's own earlier attempt (same
        address; `adoptable(item)` also true, by default when the properties forcing
        replacement agree), that object is returned; anyone else's is refused with
        `OwnershipError`, never touched."""
        body = {**body, **self.marker(primitive.address)}
        if self.ownership == LABELS and "labels" in primitive.properties:
            body["labels"] = {**(primitive.properties.get("labels") or {}), **body["labels"]}
        name = body["name"]
        location = self.where(primitive.region)
        try:
            self.call("insert", f"creating the {self.noun} {name}", primitive.address, location=location,
                      **{self.resource_field: body})
        except LeptonError as exc:
            if ALREADY_EXISTS not in reasons(google_error(exc)) and getattr(google_error(exc), "code", None) != 409:
                raise
        item = self.get(primitive.region, name)
        if item is None:
            raise LeptonError(Diagnostic(summary=f"the {self.noun} {name} was created but cannot be read back",
                                         address=primitive.address, hint="run lepton apply again"))
        self.claim(primitive, name, item, adoptable)
        return item

    def claim(self, primitive: Primitive, name: str, item: Any, adoptable: Callable[[Any], bool] | None) -> None:
        """Raise unless `item`, holding the name this create wants, is this create's own."""
        if self.owned(item) != primitive.address:
            raise OwnershipError(Diagnostic(
                summary=f"a {self.noun} named {name!r} already exists and is not owned by stack {self.stack}",
                detail=self.owner_words(item) + "; lepton never adopts, changes or deletes what it does not own",
                address=primitive.address,
                hint="rename or remove that object yourself, or choose another stack or resource name"))
        if adoptable is not None and not adoptable(item):
            raise LeptonError(Diagnostic(
                summary=f"the {self.noun} name {name!r} is still held by the object this one replaces",
                address=primitive.address, hint="run lepton apply again once it is deleted"))

    def remove(self, current: Observed) -> None:
        """Delete the object; already gone is success. Refuses (never deletes) an object whose
        marker is not this stack's: the id in state may be stale."""
        location = self.where_of(current)
        name = name_of(current.id)
        item = self.get(current.region, name, location["project"])
        if item is None:
            return
        if self.owned(item) != current.address:
            raise OwnershipError(Diagnostic(
                summary=f"the {self.noun} {name!r} no longer carries this stack's marker for {current.address}",
                detail=self.owner_words(item), address=current.address,
                hint="lepton never deletes what it does not own: remove it from state with care"))
        try:
            self.call("delete", f"deleting the {self.noun} {name}", current.address, location=location,
                      **{self.ident_field: name})
        except LeptonError as exc:
            if not is_not_found(exc):
                raise

    def delete(self, current: Observed) -> None:
        self.remove(current)

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        item = self.insert(primitive, self.body(primitive, properties))
        return self.observe(primitive.address, primitive.region, item)

    def body(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any]:
        """The insert body for resolved `properties` (without the marker, added by `insert`)."""
        raise NotImplementedError
