"""From a Stack to desired primitives: each cloud's driver expands the resources placed on it.

The ExpandContext lets a driver refer to any resource's abstract attribute (on any cloud) and
turns `${name.attr}` inside string fields into Templates of Refs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lepton_cli.drivers.base import Driver, ExpandContext, Primitive, PrimitiveType, Ref, Template
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import INTERPOLATION, Stack


def driver_for(drivers: Mapping[str, Driver], cloud: str) -> Driver:
    """The driver of `cloud`, or a clear error when none was provided."""
    try:
        return drivers[cloud]
    except KeyError:
        raise LeptonError(Diagnostic(summary=f"no driver for cloud {cloud!r} was provided",
                                     detail=f"drivers given: {', '.join(sorted(drivers)) or 'none'}")) from None


def primitive_type_for(drivers: Mapping[str, Driver], cloud: str, type_name: str) -> PrimitiveType:
    """The PrimitiveType behind `type_name`; a type recorded in state that this lepton's driver
    does not know is a clear error, not a KeyError."""
    try:
        return driver_for(drivers, cloud).primitive_type(type_name)
    except KeyError:
        raise LeptonError(Diagnostic(summary=f"the {cloud} driver has no primitive type {type_name!r}",
                                     hint="the state was written by another lepton version; use that version")) from None


def make_context(stack: Stack, drivers: Mapping[str, Driver]) -> ExpandContext:
    def ref(name: str, attr: str) -> Ref:
        return drivers[stack.cloud_of(name)].attribute_ref(stack, name, attr)

    def interpolate(text: str) -> str | Template:
        parts: list[str | Ref] = []
        position = 0
        for match in INTERPOLATION.finditer(text):
            parts += [text[position:match.start()], ref(*match.groups())]
            position = match.end()
        if not parts:
            return text
        parts.append(text[position:])
        return Template(tuple(p for p in parts if p != ""))

    return ExpandContext(stack=stack.stack, ref=ref, interpolate=interpolate)


def expand_stack(stack: Stack, drivers: Mapping[str, Driver]) -> list[Primitive]:
    ctx = make_context(stack, drivers)
    primitives: list[Primitive] = []
    for cloud in stack.clouds():
        names = [n for n in stack.resources if stack.cloud_of(n) == cloud]
        primitives += drivers[cloud].expand(stack, names, ctx)
    seen: set[str] = set()
    for primitive in primitives:
        if primitive.address in seen:
            raise LeptonError(f"internal error: two primitives share the address {primitive.address}")
        seen.add(primitive.address)
    return primitives


def output_expressions(stack: Stack, drivers: Mapping[str, Driver]) -> dict[str, Any]:
    ctx = make_context(stack, drivers)
    return {name: ctx.interpolate(text) for name, text in stack.outputs.items()}
