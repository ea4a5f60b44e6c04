"""Every problem of a parsed plan in one run: schema, references, cycles, regions, driver checks.

A stage whose input is partly broken skips only the broken part: a resource that fails the
schema (a compute without `size`) is left out of the driver checks, but its own references are
still checked and references to it are not "unknown". Every diagnostic leaves here with a
location: drivers set only `path` (`resources.web.image`), and `locate` finds it in the plan's
position map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from lepton_cli.errors import Diagnostic, Location
from lepton_cli.spec.models import Stack
from lepton_cli.spec.parse import Positions
from lepton_cli.spec.references import check_references
from lepton_cli.spec.suggest import did_you_mean
from lepton_cli.spec.validate import diagnostics_for

# Top-level keys whose errors make every later stage meaningless (they place every resource).
PLACING_KEYS = frozenset({"defaults"})
PLACEHOLDER_STACK = "invalid-stack-name"


def locate(path: str, positions: Positions, filename: str) -> Location:
    """Where the longest written prefix of `path` is (the file's start if none is)."""
    parts = path.split(".") if path else []
    for end in range(len(parts), -1, -1):
        location = positions.get(".".join(parts[:end]))
        if location is not None:
            return location
    return Location(filename, 1, 1)


def located(diagnostics: Iterable[Diagnostic], positions: Positions, filename: str) -> list[Diagnostic]:
    return [d if d.location is not None else dataclasses.replace(d, location=locate(d.path, positions, filename))
            for d in diagnostics]


def _partial(data: dict[str, Any], exc: ValidationError) -> tuple[Stack | None, set[Any]]:
    """The plan without its broken parts, validated, and the names of the broken resources;
    None when what is broken places every resource (`defaults`)."""
    broken: set[Any] = set()
    top: set[Any] = set()
    outputs: set[Any] = set()
    for error in exc.errors():
        loc = error["loc"]
        if len(loc) >= 2 and loc[0] == "resources":
            broken.add(loc[1])
        elif len(loc) >= 2 and loc[0] == "outputs":
            outputs.add(loc[1])
        elif loc:
            top.add(loc[0])
    if top & PLACING_KEYS or (top & {"resources"} and not isinstance(data.get("resources"), dict)):
        return None, broken
    partial = {k: v for k, v in data.items() if k not in top}
    partial["stack"] = data["stack"] if "stack" not in top else PLACEHOLDER_STACK
    if isinstance(data.get("resources"), dict):
        partial["resources"] = {k: v for k, v in data["resources"].items() if k not in broken}
    if isinstance(data.get("outputs"), dict):
        partial["outputs"] = {k: v for k, v in data["outputs"].items() if k not in outputs}
    try:
        return Stack.model_validate(partial), broken
    except (ValidationError, ValueError, TypeError, RecursionError):
        return None, broken


def check_stack(data: dict[str, Any], positions: Positions, filename: str, *, drivers: bool = False
                ) -> tuple[Stack | None, dict[str, set[str]], list[Diagnostic]]:
    """The validated stack (None if the schema refused it), its dependency graph and every
    problem found; `drivers` adds the clouds' own checks (regions, images, instance types...)."""
    problems: list[Diagnostic] = []
    try:
        stack: Stack | None = Stack.model_validate(data)
        partial = stack
    except ValidationError as exc:
        problems += diagnostics_for(exc, data, positions, filename)
        stack = None
        partial, _ = _partial(data, exc)
    except (ValueError, TypeError, RecursionError) as exc:  # a validator choking on odd input
        return None, {}, [Diagnostic(summary=f"invalid plan: {exc}", location=Location(filename, 1, 1))]
    graph: dict[str, set[str]] = {}
    if partial is not None:
        raw = data.get("resources") if isinstance(data.get("resources"), dict) else None
        graph, references = check_references(partial, positions, filename, raw_resources=raw)
        problems += references
        if drivers:
            problems += located(driver_problems(partial), positions, filename)
    return stack, graph, problems


def driver_problems(stack: Stack) -> list[Diagnostic]:
    """Regions checked against each driver's shipped list, then the driver's own checks."""
    from lepton_cli.drivers.base import DriverConfig
    from lepton_cli.drivers.registry import DRIVERS, make_driver
    from lepton_cli.errors import LeptonError

    problems: list[Diagnostic] = []
    for cloud in stack.clouds():
        if cloud not in DRIVERS:
            continue
        names = [n for n in stack.resources if stack.cloud_of(n) == cloud]
        try:
            driver = make_driver(cloud, DriverConfig(stack=stack.stack))
        except LeptonError as exc:  # e.g. the cloud's SDK is not installed
            problems += exc.diagnostics
            continue
        known = getattr(driver, "regions", None) or {}
        problems += region_problems(stack, names, cloud, known)
        problems += driver.validate(stack, names)
    return problems


def _region_path(stack: Stack, name: str, cloud: str) -> str:
    """Where the resource's region is written: its own `region`, or the defaults it inherits."""
    if stack.resources[name].region:
        return f"resources.{name}.region"
    if cloud == stack.defaults.cloud and stack.defaults.region:
        return "defaults.region"
    return f"defaults.regions.{cloud}"


def region_problems(stack: Stack, names: list[str], cloud: str, known: Any) -> list[Diagnostic]:
    """One diagnostic per place an unknown region is written (a driver with no list: none)."""
    if not known:
        return []
    problems: dict[str, Diagnostic] = {}
    for name in names:
        region = stack.region_of(name)
        if region in known:
            continue
        path = _region_path(stack, name, cloud)
        problems.setdefault(path, Diagnostic(
            summary=f"unknown {cloud} region {region!r}", path=path,
            hint=did_you_mean(region, known) or f"{cloud} regions: {', '.join(sorted(known))}"))
    return list(problems.values())

