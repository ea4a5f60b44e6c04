"""Turning pydantic's validation errors into diagnostics a person can act on.

Each error gets the key path as the user wrote it (`resources.web.count`, without pydantic's
union tags), the line and column, what was expected in plain words, and a "did you mean" for
misspelt keys, kinds and clouds.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from lepton_cli.errors import Diagnostic, Location
from lepton_cli.spec.models import CLOUDS, GPU_SPEC, KINDS, RESOURCE_NAME, STACK_NAME, VARIABLE_NAME, Stack
from lepton_cli.spec.parse import Positions, join_path
from lepton_cli.spec.suggest import did_you_mean

KIND_MODELS: dict[str, type[BaseModel]] = {}


def _kind_models() -> dict[str, type[BaseModel]]:
    if not KIND_MODELS:
        from lepton_cli.spec import models

        for cls in (models.Compute, models.Bucket, models.LoadBalancer, models.Cdn):
            KIND_MODELS[typing.get_args(cls.model_fields["kind"].annotation)[0]] = cls
    return KIND_MODELS


def _user_path(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """pydantic's loc without union tags and `[key]` markers, as the user's key path."""
    out: list[Any] = []
    node = data
    i = 0
    while i < len(loc):
        part = loc[i]
        if part == "[key]":
            i += 1
            continue
        if isinstance(node, dict) and part not in node and isinstance(part, str) and out and out[0] == "resources" \
                and len(out) == 2 and part in KINDS:
            i += 1  # the discriminated union's tag
            continue
        out.append(part)
        node = node.get(part) if isinstance(node, dict) else (
            node[part] if isinstance(node, list) and isinstance(part, int) and part < len(node) else None)
        i += 1
    return tuple(out)


def _model_at(path: tuple[Any, ...], data: Any) -> type[BaseModel] | None:
    """The model that validates the mapping at `path` (for the known-keys of a typo)."""
    model: Any = Stack
    node = data
    for part in path:
        if model is None:
            return None
        if model is Stack and part == "resources":
            node = node.get("resources") if isinstance(node, dict) else None
            model = "resources"
            continue
        if model == "resources":
            kind = node.get(part, {}).get("kind") if isinstance(node, dict) and isinstance(node.get(part), dict) else None
            model = _kind_models().get(kind)
            node = node.get(part) if isinstance(node, dict) else None
            continue
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            if isinstance(part, int):
                node = node[part] if isinstance(node, list) and part < len(node) else None
                continue
            return None
        model = _inner_model(field.annotation)
        node = node.get(part) if isinstance(node, dict) else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin in (typing.Union, types.UnionType, list, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _locate(path: tuple[Any, ...], positions: Positions, filename: str) -> Location | None:
    for end in range(len(path), -1, -1):
        location = positions.get(join_path(path[:end]))
        if location is not None:
            return location
    return Location(filename, 1, 1)


def _name_rule(pattern: str) -> str:
    """`^[a-z][a-z0-9-]{0,29}$` in words (the regex stays the rule; this is how it is told)."""
    longest = int(pattern.rsplit(",", 1)[1].split("}")[0]) + 1
    return f"lowercase letters, digits and '-', starting with a letter, at most {longest} characters"


# The plan's patterns in words, for messages (the regexes stay the rules).
RULES: dict[str, str] = {
    STACK_NAME: _name_rule(STACK_NAME),
    RESOURCE_NAME: _name_rule(RESOURCE_NAME),
    GPU_SPEC: "an accelerator as NAME:COUNT with a count of at least 1, such as A100:1",
    VARIABLE_NAME: "letters, digits and '_', not starting with a digit",
}


def _expected(error: dict[str, Any]) -> str:
    kind, ctx, msg = error["type"], error.get("ctx") or {}, error["msg"]
    plain = {
        "int_type": "expected a whole number", "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_type": "expected a number", "float_parsing": "expected a number",
        "bool_type": "expected true or false", "bool_parsing": "expected true or false",
        "string_type": "expected a string", "dict_type": "expected a mapping (key: value)",
        "list_type": "expected a list", "model_type": "expected a mapping (key: value)",
        "model_attributes_type": "expected a mapping (key: value)",
        "greater_than_equal": f"expected a value of at least {ctx.get('ge')}",
        "greater_than": f"expected a value greater than {ctx.get('gt')}",
        "less_than_equal": f"expected a value of at most {ctx.get('le')}",
        "string_pattern_mismatch": f"expected {RULES.get(ctx.get('pattern'), 'a value matching ' + str(ctx.get('pattern')))}",
        "too_short": f"expected at least {ctx.get('min_length')} item(s)",
    }
    if kind in plain:
        return plain[kind]
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else kind


def diagnostics_for(exc: ValidationError, data: Any, positions: Positions, filename: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for error in exc.errors():
        path = _user_path(tuple(error["loc"]), data)
        location = _locate(path, positions, filename)
        kind = error["type"]
        given = error.get("input")
        hint = ""
        if kind == "extra_forbidden":
            model = _model_at(path[:-1], data)
            known = sorted(model.model_fields) if model else []
            summary = f"unknown key {path[-1]!r}"
            hint = did_you_mean(str(path[-1]), known) or (f"expected one of: {', '.join(known)}" if known else "")
        elif kind == "union_tag_invalid":
            summary = f"unknown kind {given if not isinstance(given, dict) else given.get('kind')!r}"
            tag = error.get("ctx", {}).get("tag")
            hint = did_you_mean(str(tag), KINDS) or f"expected one of: {', '.join(KINDS)}"
            path = (*path, "kind")
            location = _locate(path, positions, filename)
        elif kind == "union_tag_not_found":
            summary = "a resource needs a `kind`"
            hint = f"one of: {', '.join(KINDS)}"
        elif kind == "literal_error" and path and path[-1] == "cloud" or (
                kind == "literal_error" and len(path) >= 2 and path[-2] == "regions"):
            summary = f"unknown cloud {given!r}"
            hint = did_you_mean(str(given), CLOUDS) or f"expected one of: {', '.join(CLOUDS)}"
        elif kind == "literal_error":
            summary = f"{given!r} is not allowed: {_expected(error)}"
            expected = error.get("ctx", {}).get("expected", "")
            options = [o.strip().strip("'") for o in str(expected).replace(" or ", ",").split(",") if o.strip()]
            hint = did_you_mean(str(given), options)
        elif kind == "missing":
            summary = f"missing required key {path[-1]!r}"
        else:
            summary = _expected(error)
            if given is not None and not isinstance(given, (dict, list)):
                summary = f"{summary} (got {given!r})"
        out.append(Diagnostic(summary=summary, location=location, path=join_path(path), hint=hint))
    return out
