"""YAML with positions: the rendered plan as plain data plus where every key and value is.

PyYAML's node API gives each node a start mark; we build the data ourselves so that duplicate
keys are errors (plain `safe_load` keeps the last one silently) and so that every key path
(`resources.web.count`) maps to a line and column for diagnostics.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from lepton_cli.errors import Diagnostic, Location, PlanFileError

Positions = dict[str, Location]
# Aliases let a small file expand into a huge document ("billion laughs"); no plan needs this many.
MAX_NODES = 100_000
# Checked on the composed document, before anything is built or validated, so a loop that
# generates a huge plan is refused at once.
MAX_RESOURCES = 1_000
# Integers a plan may hold: what JSON and the clouds' APIs can carry (64-bit signed).
MAX_INT = 2**63 - 1

CORE = "tag:yaml.org,2002:"
# YAML 1.2's JSON-compatible core schema: `yes`/`no`/`on`, dates and sexagesimal numbers are
# plain strings here (as in YAML 1.2), and no tag builds anything but these types.
CORE_RESOLVERS: list[tuple[str, str, Any]] = [  # (tag, pattern, first characters)
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
]
SCALAR_TAGS = frozenset(CORE + t for t in ("str", "int", "float", "bool", "null"))
ALLOWED_TAGS = SCALAR_TAGS | {CORE + "map", CORE + "seq"}


class CoreLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Composes YAML with the core schema's resolvers only (libyaml's parser when available:
    a generated plan of megabytes composes in milliseconds). Construction is `_Builder`'s."""

    yaml_implicit_resolvers: dict = {}


for _tag, _pattern, _first in CORE_RESOLVERS:
    CoreLoader.add_implicit_resolver(CORE + _tag, re.compile(_pattern), list(_first))


def _tag_name(tag: str | None) -> str:
    return "!!" + tag[len(CORE):] if tag and tag.startswith(CORE) else str(tag)


def core_scalar(tag: str, value: str) -> Any:
    """The value of a core-schema scalar; ValueError (said in words) for anything else."""
    kind = tag[len(CORE):] if tag.startswith(CORE) else ""
    if kind == "str":
        return value
    if kind == "null":
        if value not in ("", "~", "null", "Null", "NULL"):
            raise ValueError(f"!!null cannot hold {value!r}")
        return None
    if kind == "bool":
        if value.lower() not in ("true", "false"):
            raise ValueError(f"!!bool takes true or false, not {value!r}")
        return value.lower() == "true"
    if kind == "int":
        text = value.replace("_", "") if re.fullmatch(r"[-+]?[0-9][0-9_]*", value) else value
        digits = text.lstrip("+-")
        if len(digits) > 25:
            raise ValueError(f"number out of range: {value[:30]}{'...' if len(value) > 30 else ''}")
        try:
            number = int(digits[2:], 8 if digits[:2] == "0o" else 16) if digits[:2] in ("0o", "0x") else int(digits)
        except ValueError:
            raise ValueError(f"!!int takes a whole number, not {value!r}") from None
        number = -number if text.startswith("-") else number
        if abs(number) > MAX_INT:
            raise ValueError(f"number out of range: {value} (at most {MAX_INT} either way)")
        return number
    if kind == "float":
        if re.fullmatch(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", value):
            raise ValueError(f"number out of range: {value} (infinity and NaN are not allowed)")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"!!float takes a number, not {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"number out of range: {value}")
        return number
    raise ValueError(f"unsupported YAML tag {_tag_name(tag)}")


def load_core(text: str, filename: str = "<text>") -> Any:
    """Plain data from YAML text with the core schema (variable files, `--var` values):
    `yaml.YAMLError` for bad syntax, `PlanFileError` for a value outside the schema."""
    node = yaml.compose(text, Loader=CoreLoader)
    if node is None:
        return None
    builder = _Builder(filename)
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise PlanFileError(Diagnostic(summary="the document is nested too deeply",
                                       location=Location(filename, 1, 1))) from None
    if builder.errors:
        raise PlanFileError(*builder.errors)
    return data


def join_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """`("resources", "web", "listeners", 0, "port")` -> `resources.web.listeners.0.port`."""
    return ".".join(str(p) for p in parts)


class _Builder:
    def __init__(self, filename: str):
        self.filename = filename
        self.positions: Positions = {}
        self.errors: list[Diagnostic] = []
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
        if node.tag not in ALLOWED_TAGS or (node.tag in SCALAR_TAGS) != isinstance(node, yaml.ScalarNode):
            self.errors.append(Diagnostic(
                summary=f"unsupported YAML tag {_tag_name(node.tag)}", location=self.location(node),
                path=join_path(path),
                hint="a plan holds only strings, numbers, true/false, null, lists and mappings "
                     "(tags !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)"))
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.errors.append(Diagnostic(summary="a key must be a plain value, not a list or mapping",
                                                  location=self.location(key_node), path=join_path(path)))
                    continue
                key = self._scalar(key_node, path)
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
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: tuple[Any, ...]) -> Any:
        if node.tag not in SCALAR_TAGS:
            self.errors.append(Diagnostic(summary=f"unsupported YAML tag {_tag_name(node.tag)}",
                                          location=self.location(node), path=join_path(path)))
            return None
        try:
            return core_scalar(node.tag, node.value)
        except ValueError as exc:
            self.errors.append(Diagnostic(summary=f"invalid value: {exc}", location=self.location(node),
                                          path=join_path(path)))
            return None


def parse_yaml(text: str, filename: str) -> tuple[Any, Positions]:
    """The document as plain data and the positions of its key paths."""
    try:
        nodes = list(yaml.compose_all(text, Loader=CoreLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        location = Location(filename, mark.line + 1, mark.column + 1) if mark else _position(text, exc, filename)
        problem = (getattr(exc, "problem", None) or str(exc)).splitlines()[0]
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
    _check_resource_count(nodes[0], builder)
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


def _check_resource_count(root: yaml.Node, builder: _Builder) -> None:
    """Refuse a plan with too many resources before building or validating any of them."""
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "resources" and isinstance(value, yaml.MappingNode) \
                and len(value.value) > MAX_RESOURCES:
            raise PlanFileError(Diagnostic(
                summary=f"the plan has {len(value.value):,} resources; the limit is {MAX_RESOURCES:,}",
                location=builder.location(key), path="resources",
                hint="split it into several stacks, or use `count` for identical machines"))


def _position(text: str, exc: Exception, filename: str) -> Location:
    """Where a reader error (a character YAML refuses) is: it has an offset, not a mark."""
    offset = getattr(exc, "position", None)
    if not isinstance(offset, int) or offset < 0:
        return Location(filename, 1, 1)
    before = text[:offset]
    return Location(filename, before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1)
