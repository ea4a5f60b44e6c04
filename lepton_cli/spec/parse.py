"""YAML with positions: the rendered plan as plain data plus where every key and value is.

PyYAML's node API gives each node a start mark; we build the data ourselves so that duplicate
keys are errors (plain `safe_load` keeps the last one silently) and so that every key path
(`resources.web.count`) maps to a line and column for diagnostics.
"""

from __future__ import annotations

from typing import Any

import yaml

from lepton_cli.errors import Diagnostic, Location, PlanFileError

Positions = dict[str, Location]
# Aliases let a small file expand into a huge document ("billion laughs"); no plan needs this many.
MAX_NODES = 100_000


def join_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """`("resources", "web", "listeners", 0, "port")` -> `resources.web.listeners.0.port`."""
    return ".".join(str(p) for p in parts)


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.positions: Positions = {}
        self.errors: list[Diagnostic] = []
        self._constructor = yaml.SafeLoader("")
        self.nodes = 0

    def location(self, node: yaml.Node) -> Location:
        return Location(self.filename, node.start_mark.line + 1, node.start_mark.column + 1)

    def build(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise PlanFileError(Diagnostic(summary=f"the document expands to more than {MAX_NODES} values",
                                           location=self.location(node),
                                           hint="YAML aliases (*name) may be expanding it: use fewer"))
        self.positions.setdefault(join_path(path), self.location(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.errors.append(Diagnostic(summary="a key must be a plain value, not a list or mapping",
                                                  location=self.location(key_node), path=join_path(path)))
                    continue
                key = self._scalar(key_node)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    key = str(key)
                if key in result:
                    first = self.positions.get(join_path((*path, key)))
                    self.errors.append(Diagnostic(
                        summary=f"duplicate key {key!r}",
                        location=self.location(key_node), path=join_path((*path, key)),
                        hint=f"it is first set at line {first.line}" if first else "",
                    ))
                    continue
                self.positions[join_path((*path, key))] = self.location(key_node)
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.errors.append(Diagnostic(summary=f"invalid value: {getattr(exc, 'problem', exc)}",
                                          location=self.location(node)))
            return None
        except (ValueError, OverflowError) as exc:
            self.errors.append(Diagnostic(summary=f"invalid value: {exc}", location=self.location(node)))
            return None


def parse_yaml(text: str, filename: str) -> tuple[Any, Positions]:
    """The document as plain data and the positions of its key paths."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        location = Location(filename, mark.line + 1, mark.column + 1) if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanFileError(Diagnostic(summary=f"not valid YAML: {problem}", location=location)) from None
    except (ValueError, RecursionError) as exc:  # e.g. characters PyYAML refuses to read
        raise PlanFileError(Diagnostic(summary=f"not valid YAML: {exc}",
                                       location=Location(filename, 1, 1))) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        raise PlanFileError(Diagnostic(summary="the plan file is empty",
                                       location=Location(filename, 1, 1),
                                       hint="it needs at least `stack: NAME` and `resources:`"))
    if len(nodes) > 1:
        raise PlanFileError(Diagnostic(summary="a plan file holds one YAML document, this one has several",
                                       location=Location(filename, nodes[1].start_mark.line + 1, 1)))
    builder = _Builder(filename)
    try:
        data = builder.build(nodes[0], ())
    except RecursionError:
        raise PlanFileError(Diagnostic(summary="the document is nested too deeply",
                                       location=Location(filename, 1, 1))) from None
    if builder.errors:
        raise PlanFileError(*builder.errors)
    if not isinstance(data, dict):
        raise PlanFileError(Diagnostic(summary="the plan file must be a mapping with `stack:` and `resources:`",
                                       location=builder.location(nodes[0])))
    return data, builder.positions
