"""Ownership tags on AWS objects (DESIGN §4): every object lepton creates carries its stack and
its address, and lepton never changes an object that lacks its stack's tag. The markers
themselves are defined in `lepton_cli.drivers.ownership`; this module adapts them to the
`[{"Key": .., "Value": ..}]` shape of the AWS APIs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lepton_cli.drivers import ownership
from lepton_cli.drivers.ownership import TAG_STACK


def tag_list(stack: str, address: str) -> list[dict[str, str]]:
    """Tags in the `[{"Key": .., "Value": ..}]` shape most AWS APIs take."""
    return [{"Key": key, "Value": value} for key, value in ownership.markers(stack, address).items()]


def tag_dict(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """`[{"Key": k, "Value": v}]` (any capitalisation of the keys) -> `{k: v}`."""
    out: dict[str, str] = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("key"))
        out[key] = tag.get("Value", tag.get("value", ""))
    return out


def owned_address(tags: Iterable[Mapping[str, str]] | None, stack: str) -> str | None:
    """The lepton address of an object if it belongs to `stack`, else None."""
    return ownership.owned_address(tag_dict(tags), stack)


def stack_filter(stack: str) -> list[dict]:
    """The EC2-style `Filters` that select a stack's objects in one describe call."""
    return [{"Name": f"tag:{TAG_STACK}", "Values": [stack]}]
