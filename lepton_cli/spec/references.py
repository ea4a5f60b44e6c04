"""References between resources: `target`, `origin` and `${name.attr}`, checked and turned
into the resource dependency graph (cycles are errors that name the cycle)."""

from __future__ import annotations

import graphlib
from collections.abc import Iterator, Mapping
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


def check_references(stack: Stack, positions: Positions, filename: str,
                     raw_resources: Mapping[Any, Any] | None = None) -> tuple[dict[str, set[str]], list[Diagnostic]]:
    """The graph (resource -> resources it depends on) and every reference problem.

    `raw_resources` is the `resources` mapping as parsed, when some of it failed the schema and
    `stack` holds only the rest: those resources' references are checked from their raw
    data, and references to them are known (their kind too, when it is a valid one)."""
    broken = {n: r for n, r in (raw_resources or {}).items() if n not in stack.resources}
    kinds: dict[Any, str] = {n: r.kind for n, r in stack.resources.items()}
    kinds |= {n: r["kind"] for n, r in broken.items() if isinstance(r, dict) and r.get("kind") in KIND_ATTRIBUTES}
    graph: dict[Any, set[Any]] = {name: set() for name in [*stack.resources, *broken]}
    problems: list[Diagnostic] = []
    names = [str(n) for n in graph]

    def at(path: tuple[Any, ...]) -> Location:
        for end in range(len(path), -1, -1):
            if join_path(path[:end]) in positions:
                return positions[join_path(path[:end])]
        return Location(filename, 1, 1)

    def interpolations(owner: Any, path: tuple[Any, ...], text: str) -> None:
        for match in INTERPOLATION.finditer(text):
            name, attr = match.groups()
            if name not in graph:
                problems.append(Diagnostic(summary=f"${{{name}.{attr}}} refers to an unknown resource {name!r}",
                                           location=at(path), path=join_path(path), hint=did_you_mean(name, names)))
                continue
            kind = kinds.get(name)
            if kind is not None and attr not in KIND_ATTRIBUTES[kind]:
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

    def reference(name: Any, kind: str | None, other: Any) -> None:
        """Check `target`/`origin` of resource `name` and add the edge."""
        field = REFERENCE_FIELDS.get(kind or "")
        if field is None or not isinstance(other, str):
            return
        key, allowed = field
        path = ("resources", name, key)
        if other not in graph:
            problems.append(Diagnostic(summary=f"{key} {other!r} is not a resource of this stack",
                                       location=at(path), path=join_path(path), hint=did_you_mean(other, names)))
        elif other == name:
            problems.append(Diagnostic(summary=f"{name!r} cannot be its own {key}", location=at(path),
                                       path=join_path(path)))
        elif kinds.get(other) is not None and kinds[other] not in allowed:
            problems.append(Diagnostic(
                summary=f"{key} {other!r} is a {kinds[other]}; expected a {' or a '.join(allowed)}",
                location=at(path), path=join_path(path)))
        else:
            graph[name].add(other)
            if kind == "load_balancer" and name in stack.resources and other in stack.resources:
                here = (stack.cloud_of(name), stack.region_of(name))
                there = (stack.cloud_of(other), stack.region_of(other))
                if here != there:
                    problems.append(Diagnostic(
                        summary=(f"load balancer {name!r} is in {' '.join(here)} but its target {other!r} "
                                 f"is in {' '.join(there)}"),
                        location=at(path), path=join_path(path),
                        hint="a load balancer targets a compute resource in the same cloud and region"))

    for name, resource in stack.resources.items():
        field = REFERENCE_FIELDS.get(resource.kind)
        reference(name, resource.kind, getattr(resource, field[0]) if field else None)
        for path, text in _strings(resource.model_dump(exclude_defaults=True), ("resources", name)):
            interpolations(name, path, text)
    for name, raw in broken.items():
        if not isinstance(raw, dict):
            continue
        field = REFERENCE_FIELDS.get(kinds.get(name, ""))
        reference(name, kinds.get(name), raw.get(field[0]) if field else None)
        for path, text in _strings(raw, ("resources", name)):
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
            summary=f"resources depend on each other in a cycle: {' -> '.join(str(n) for n in reversed(cycle))}",
            location=at(("resources", cycle[0])), path=join_path(("resources", cycle[0])),
            hint="break the cycle: one of these references must go"))
    return graph, problems
