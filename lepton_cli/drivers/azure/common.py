"""Shared machinery of the Azure primitive types: the stack's resource group per region, tags
as ownership markers, one list per type and resource group, and create/delete through ARM's
idempotent PUT and the SDK's long-running-operation pollers.

ARM's PUT is create-or-update: a retried or re-run create converges on the same object, so a
create only has to refuse a same-named object that is not this stack's (`claim`). Child
resources without tags (subnets, blob containers, Front Door routes) are owned through their
owned parent and their deterministic names (`child = True`).

A type declares `type_name`, `client` (a key of `AzureDriver.client`: "network", "compute",
"storage", "cdn", "monitor", "resource"), `noun`, `property_keys`/`replace_on`, and implements
`observe`, `fetch` (GET by name, None when missing), `put` (the create-or-update call,
returning the object) and `remove` (the delete call); the base class does the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from lepton_cli.drivers.azure.errors import is_not_found, translate
from lepton_cli.drivers.base import NameScope, Observed, Primitive, PrimitiveType
from lepton_cli.drivers.names import fit
from lepton_cli.drivers.ownership import markers, owned_address, owner_from_tags
from lepton_cli.errors import Diagnostic, LeptonError, OwnershipError

if TYPE_CHECKING:
    from lepton_cli.drivers.azure.driver import AzureDriver

RESOURCE_GROUP_LIMIT = 90  # ARM: resource group names are at most 90 characters


def resource_group_name(stack: str, region: str) -> str:
    """`lepton-<stack>-<region>`: one resource group per stack and region (DESIGN §6)."""
    return fit(f"lepton-{stack}-{region}", RESOURCE_GROUP_LIMIT)


def parse_id(ident: str) -> dict[str, str]:
    """An ARM id's parts: {"subscription", "resource_group", "name", "parent"?} (the last segment
    is the name; `parent` is the name of the resource it is a child of, if any)."""
    segments = ident.strip("/").split("/")
    lowered = [s.lower() for s in segments]
    found = {"subscription": segments[1] if len(segments) > 1 else "", "name": segments[-1]}
    if "resourcegroups" in lowered:
        found["resource_group"] = segments[lowered.index("resourcegroups") + 1]
    if "providers" in lowered:
        tail = segments[lowered.index("providers") + 2:]  # after the namespace: type/name[/type/name...]
        if len(tail) >= 4:
            found["parent"] = tail[-3]
    return found


class AzureType(PrimitiveType):
    """An Azure object type, in the stack's resource group of its region."""

    driver: "AzureDriver"
    client: ClassVar[str]  # which management client: "network", "compute", "storage", ...
    noun: ClassVar[str] = "object"
    child: ClassVar[bool] = False  # owned through its parent, not through tags of its own
    name_key = "name"
    name_scope = NameScope.REGION  # one name per resource group (= per stack and region)

    @property
    def stack(self) -> str:
        return self.driver.config.stack

    def api(self) -> Any:
        return self.driver.client(self.client)

    def group(self, region: str) -> str:
        return resource_group_name(self.stack, region)

    # -- ownership -------------------------------------------------------------------------------------
    def tags(self, address: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**(extra or {}), **markers(self.stack, address)}

    def owned(self, item: Any) -> str | None:
        return owned_address(getattr(item, "tags", None), self.stack)

    def claim(self, primitive: Primitive, name: str, item: Any) -> None:
        """Raise unless `item`, holding the name this create wants, is this stack's object at
        this address (a child is claimed through its parent, already owned)."""
        if self.child or self.owned(item) == primitive.address:
            return
        owner = owner_from_tags(getattr(item, "tags", None))
        raise OwnershipError(Diagnostic(
            summary=f"a {self.noun} named {name!r} already exists and is not owned by stack {self.stack}",
            detail=(f"it belongs to lepton stack {owner.stack!r}" if owner else "it does not carry this stack's lepton tags")
            + "; lepton never adopts, changes or deletes what it does not own",
            address=primitive.address,
            hint="rename or remove that object yourself, or choose another stack or resource name"))

    # -- what each type implements ---------------------------------------------------------------------
    def observe(self, address: str, region: str, item: Any) -> Observed:
        raise NotImplementedError

    def items(self, region: str) -> Iterable[Any]:
        """Every object of the type in the stack's resource group of `region` (one paged list)."""
        raise NotImplementedError

    def fetch(self, region: str, name: str, properties: Mapping[str, Any]) -> Any | None:
        """The object named `name`, asked now; None if there is none."""
        raise NotImplementedError

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        """The create-or-update call for resolved `properties` (tags included), waited on."""
        raise NotImplementedError

    def remove(self, current: Observed) -> None:
        """The delete call for `current`, waited on."""
        raise NotImplementedError

    def address_of(self, item: Any) -> str | None:
        """The address of a listed item if it is this stack's (a child: by its name)."""
        return self.owned(item)

    # -- the interface ----------------------------------------------------------------------------------
    def list(self, region: str) -> list[Observed]:
        out = []
        try:
            with translate(f"listing {self.noun}s in {self.group(region)}"):
                for item in self.items(region):
                    address = self.address_of(item)
                    if address:
                        out.append(self.observe(address, region, item))
        except LeptonError as exc:
            if is_not_found(exc):  # the stack's resource group is not there: nothing is
                return []
            raise
        return out

    def get(self, region: str, name: str, properties: Mapping[str, Any] | None = None) -> Any | None:
        try:
            with translate(f"reading the {self.noun} {name}"):
                return self.fetch(region, name, properties or {})
        except LeptonError as exc:
            if is_not_found(exc):
                return None
            raise

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        name = properties[self.name_key]
        found = self.get(primitive.region, name, properties)
        if found is not None:
            self.claim(primitive, name, found)
        with translate(f"creating the {self.noun} {name}", primitive.address):
            item = self.put(primitive, properties)
        return self.observe(primitive.address, primitive.region, item)

    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed,
               changed: set[str]) -> Observed:
        """ARM's PUT replaces the object's settings with the desired ones: the same call."""
        with translate(f"updating the {self.noun} {properties[self.name_key]}", primitive.address):
            item = self.put(primitive, properties)
        return self.observe(primitive.address, primitive.region, item)

    def delete(self, current: Observed) -> None:
        name = parse_id(current.id)["name"]
        found = self.get(current.region, name, current.properties)
        if found is None:
            return
        if not self.child and self.owned(found) != current.address:
            raise OwnershipError(Diagnostic(
                summary=f"the {self.noun} {name!r} no longer carries this stack's tags for {current.address}",
                address=current.address, hint="lepton never deletes what it does not own"))
        try:
            with translate(f"deleting the {self.noun} {name}", current.address):
                self.remove(current)
        except LeptonError as exc:
            if not is_not_found(exc):
                raise
