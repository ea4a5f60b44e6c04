"""Shared machinery of the AWS primitive types: the driver's stack, tags, and batched listing
of EC2-style objects filtered by the stack's tag."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from lepton_cli.drivers.aws.errors import translate  # noqa: F401 (the AWS types' one import)
from lepton_cli.drivers.aws.tags import owned_address, stack_filter, tag_dict, tag_list
from lepton_cli.drivers.base import Observed, PrimitiveType
from lepton_cli.errors import Diagnostic, OwnershipError

if TYPE_CHECKING:
    from lepton_cli.drivers.aws.discovery import AwsDiscovery
    from lepton_cli.drivers.aws.driver import AwsDriver


class AwsType(PrimitiveType):
    driver: "AwsDriver"

    @property
    def stack(self) -> str:
        return self.driver.config.stack

    def client(self, service: str, region: str):
        return self.driver.client(service, region)

    def tags(self, address: str, name: str | None = None) -> list[dict[str, str]]:
        tags = tag_list(self.stack, address)
        if name:
            tags.append({"Key": "Name", "Value": name})
        return tags

    def owned(self, tags) -> str | None:
        return owned_address(tags, self.stack)

    def discovery(self, region: str) -> "AwsDiscovery":
        """The driver's discovery of `region`, made once per refresh: what `list` starts from.
        Never used by create/update/delete, which must see the cloud as it is now."""
        return self.driver.discovery(region)

    def adoptable(self, found: Observed, address: str, properties: dict[str, Any]) -> bool:
        """Whether an object found carrying `address` is this create's own earlier attempt (to
        adopt) rather than the predecessor of a replacement, which differs in a property that
        forces replacement and must be left for its own delete."""
        return found.address == address and all(
            found.properties.get(key) == properties.get(key) for key in self.replace_on if key in found.properties)

    def paginate(self, service: str, region: str, operation: str, key: str, page_size: int | None = None,
                 **kwargs) -> Iterator[dict[str, Any]]:
        """Every item of a paginated describe call, with the SDK's paginator. `page_size` asks
        for the API's largest page (fewer calls; and some emulators truncate a default-sized
        page without a continuation token)."""
        client = self.client(service, region)
        config = {"PageSize": page_size} if page_size else {}
        with translate(f"listing {key} in {region}"):
            for page in client.get_paginator(operation).paginate(PaginationConfig=config, **kwargs):
                yield from page.get(key, [])

    def ec2_owned(self, region: str, operation: str, key: str,
                  page_size: int | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(address, item) for every EC2 object of the stack: one filtered, paginated call."""
        for item in self.paginate("ec2", region, operation, key, page_size=page_size, Filters=stack_filter(self.stack)):
            address = self.owned(item.get("Tags"))
            if address:
                yield address, item

    def refuse_foreign(self, kind: str, name: str, address: str, tags=None) -> OwnershipError:
        """The error for an object that has the name lepton wants but is not this stack's."""
        holder = tag_dict(tags).get("lepton-stack")
        detail = f"it belongs to lepton stack {holder!r}" if holder else "it does not carry this stack's lepton tags"
        return OwnershipError(Diagnostic(
            summary=f"a {kind} named {name!r} already exists and is not owned by stack {self.stack}",
            detail=detail + "; lepton never adopts, changes or deletes what it does not own",
            address=address,
            hint="rename or remove that object yourself, or choose another stack or resource name",
        ))


def name_tag(item: dict[str, Any]) -> str | None:
    return tag_dict(item.get("Tags")).get("Name")

