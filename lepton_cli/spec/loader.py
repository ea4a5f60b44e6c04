"""Loading a plan file: render -> parse with positions -> validate -> check references.

`load_plan` is the one entry point the CLI and the API use. Whatever the input, it returns a
`LoadedPlan` or raises `PlanFileError` carrying every problem it found, each with a location.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lepton_cli.errors import Diagnostic, Location, PlanFileError
from lepton_cli.spec.models import Stack
from lepton_cli.spec.parse import parse_yaml
from lepton_cli.spec.references import check_references
from lepton_cli.spec.render import collect_vars, render
from lepton_cli.spec.validate import diagnostics_for


@dataclass(frozen=True)
class LoadedPlan:
    path: Path
    source: str  # the text as written
    rendered: str  # after Jinja2
    stack: Stack
    digest: str  # sha256 of `rendered`
    graph: Mapping[str, frozenset[str]]  # resource -> resources it depends on
    positions: Mapping[str, Location] = field(default_factory=dict)  # key path -> where it is written


def load_plan(path: str | Path, *, cli_vars: Sequence[str] = (), var_files: Sequence[str | Path] = (),
              env: Mapping[str, str] | None = None) -> LoadedPlan:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFileError(Diagnostic(
            summary=f"no plan file at {path}",
            hint="pass one with -f FILE (commands read ./lepton.yaml by default)")) from None
    except IsADirectoryError:
        raise PlanFileError(Diagnostic(summary=f"{path} is a directory, not a plan file")) from None
    except UnicodeDecodeError:
        raise PlanFileError(Diagnostic(summary=f"{path} is not UTF-8 text")) from None
    except OSError as exc:
        raise PlanFileError(Diagnostic(summary=f"cannot read {path}: {exc.strerror}")) from None
    variables = collect_vars(cli_vars, var_files, env)
    return load_plan_text(source, filename=str(path), variables=variables, path=path)


def load_plan_text(text: str, *, filename: str = "lepton.yaml", variables: Mapping[str, Any] | None = None,
                   path: Path | None = None) -> LoadedPlan:
    rendered = render(text, variables or {}, filename)
    data, positions = parse_yaml(rendered, filename)
    try:
        stack = Stack.model_validate(data)
    except ValidationError as exc:
        raise PlanFileError(*diagnostics_for(exc, data, positions, filename)) from None
    except (ValueError, TypeError, RecursionError) as exc:  # a validator choking on odd input
        raise PlanFileError(Diagnostic(summary=f"invalid plan: {exc}", location=Location(filename, 1, 1))) from None
    graph, problems = check_references(stack, positions, filename)
    if problems:
        raise PlanFileError(*problems)
    return LoadedPlan(
        path=path or Path(filename), source=text, rendered=rendered, stack=stack,
        digest=hashlib.sha256(rendered.encode()).hexdigest(),
        graph={k: frozenset(v) for k, v in graph.items()}, positions=positions,
    )
