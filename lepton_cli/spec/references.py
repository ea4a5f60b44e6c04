"""References between resources: `target`, `origin` and `${name.attr}`, checked and turned
into the resource dependency graph (cycles are errors that name the cycle)."""

from __future__ import annotations

import graphlib
from collections.abc import Iterator
from typing import Any

from lepton_cli.errors import Diagnostic, Location
from lepton_cli.spec.models import INTERPOLATION, KIND_ATTRIBUTES, Stack
from lepton_cli.spec.parse import Positions, join_path
from lepton_cli.spec.suggest import did_you_mean

# kind -> (field that names another resource, kinds it may name)
REFERENCE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "load_balancer": ("target", ("compute",)),
    "cdn": ("origin", ("bucket", "load_balancer")),
}


def _strings(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def check_references(stack: Stack, positions: Positions, filename: str) -> tuple[dict[str, set[str]], list[Diagnostic]]:
    """The graph (resource -> resources it depends on) and every reference problem."""
    graph: dict[str, set[str]] = {name: set() for name in stack.resources}
    problems: list[Diagnostic] = []
    names = list(stack.resources)

    def at(path: tuple[Any, ...]) -> Location:
        for end in range(len(path), -1, -1):
            if join_path(path[:end]) in positions:
                return positions[join_path(path[:end])]
        return Location(filename, 1, 1)

    def interpolations(owner: str | None, path: tuple[Any, ...], text: str) -> None:
        for match in INTERPOLATION.finditer(text):
            name, attr = match.groups()
            if name not in stack.resources:
                problems.append(Diagnostic(summary=f"${{{name}.{attr}}} refers to an unknown resource {name!r}",
                                           location=at(path), path=join_path(path), hint=did_you_mean(name, names)))
                continue
            kind = stack.resources[name].kind
            if attr not in KIND_ATTRIBUTES[kind]:
                problems.append(Diagnostic(
                    summary=f"a {kind} has no attribute {attr!r}", location=at(path), path=join_path(path),
                    hint=did_you_mean(attr, KIND_ATTRIBUTES[kind]) or f"it has: {', '.join(KIND_ATTRIBUTES[kind])}"))
                continue
            if owner == name:
                problems.append(Diagnostic(summary=f"{name!r} refers to its own attribute ${{{name}.{attr}}}",
                                           location=at(path), path=join_path(path),
                                           hint="a resource cannot depend on itself"))
                continue
            if owner is not None:
                graph[owner].add(name)

    for name, resource in stack.resources.items():
        base = ("resources", name)
        field = REFERENCE_FIELDS.get(resource.kind)
        if field is not None:
            key, allowed = field
            other = getattr(resource, key)
            path = (*base, key)
            if other not in stack.resources:
                problems.append(Diagnostic(summary=f"{key} {other!r} is not a resource of this stack",
                                           location=at(path), path=join_path(path),
                                           hint=did_you_mean(other, names)))
            elif other == name:
                problems.append(Diagnostic(summary=f"{name!r} cannot be its own {key}",
                                           location=at(path), path=join_path(path)))
            elif stack.resources[other].kind not in allowed:
                problems.append(Diagnostic(
                    summary=f"{key} {other!r} is a {stack.resources[other].kind}; expected a {' or a '.join(allowed)}",
                    location=at(path), path=join_path(path)))
            else:
                graph[name].add(other)
                if resource.kind == "load_balancer":
                    here = (stack.cloud_of(name), stack.region_of(name))
                    there = (stack.cloud_of(other), stack.region_of(other))
                    if here != there:
                        problems.append(Diagnostic(
                            summary=(f"load balancer {name!r} is in {' '.join(here)} but its target {other!r} "
                                     f"is in {' '.join(there)}"),
                            location=at(path), path=join_path(path),
                            hint="a load balancer targets a compute resource in the same cloud and region"))
        for path, text in _strings(resource.model_dump(exclude_defaults=True), base):
            interpolations(name, path, text)
    for key, text in stack.outputs.items():
        path = ("outputs", key)
        interpolations(None, path, text)
        if not INTERPOLATION.search(text) and "${" in text:
            problems.append(Diagnostic(summary="malformed reference; expected ${name.attr}",
                                       location=at(path), path=join_path(path)))

    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        problems.append(Diagnostic(
            summary=f"resources depend on each other in a cycle: {' -> '.join(reversed(cycle))}",
            location=at(("resources", cycle[0])), path=join_path(("resources", cycle[0])),
            hint="break the cycle: one of these references must go"))
    return graph, problems
