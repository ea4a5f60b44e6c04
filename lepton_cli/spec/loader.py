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


from lepton_cli.errors import Diagnostic, Location, PlanFileError
from lepton_cli.spec.models import Stack
from lepton_cli.spec.parse import parse_yaml
from lepton_cli.spec.check import check_stack
from lepton_cli.spec.render import collect_vars, render
from lepton_cli.spec.variables import declared_variables, resolve_variables, sensitive_names
from lepton_cli.engine.sensitive import Secrets


@dataclass(frozen=True)
class LoadedPlan:
    path: Path
    source: str  # the text as written
    rendered: str  # after Jinja2
    stack: Stack
    digest: str  # sha256 of `rendered`
    graph: Mapping[str, frozenset[str]]  # resource -> resources it depends on
    positions: Mapping[str, Location] = field(default_factory=dict)  # key path -> where it is written
    variables: Mapping[str, Any] = field(default_factory=dict)  # the values the template saw
    sensitive: frozenset[str] = frozenset()  # the names of variables declared `sensitive: true`


def load_plan(path: str | Path, *, cli_vars: Sequence[str] = (), var_files: Sequence[str | Path] = (),
              env: Mapping[str, str] | None = None, drivers: bool = False) -> LoadedPlan:
    """`drivers`: also run each cloud's checks (regions, images, instance types), without any API call."""
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
    explicit = set(collect_vars(cli_vars, var_files, {}))  # given with --var/--var-file, not the environment
    return load_plan_text(source, filename=str(path), variables=variables, path=path, explicit=explicit,
                          drivers=drivers)


def load_plan_text(text: str, *, filename: str = "lepton.yaml", variables: Mapping[str, Any] | None = None,
                   path: Path | None = None, explicit: set[str] | None = None, drivers: bool = False) -> LoadedPlan:
    variables = dict(variables or {})
    declared = declared_variables(text, filename)
    if declared is not None:  # a variables block: its declarations decide what the template sees
        variables = resolve_variables(declared[0], variables, set(variables) if explicit is None else explicit,
                                      declared[1], filename)
    sensitive = sensitive_names(declared[0] if declared else None)
    secrets = Secrets.of(variables, sensitive)
    try:
        return _load(text, filename, variables, path, sensitive, drivers)
    except PlanFileError as exc:  # an error quoting a value must not quote a secret
        raise secrets.redact_error(exc) from None


def _load(text: str, filename: str, variables: dict[str, Any], path: Path | None,
          sensitive: frozenset[str], drivers: bool = False) -> LoadedPlan:
    rendered = render(text, variables, filename)
    data, positions = parse_yaml(rendered, filename)
    # Every problem at once: schema, references, cycles and (with `drivers`) the clouds' checks.
    stack, graph, problems = check_stack(data, positions, filename, drivers=drivers)
    if problems or stack is None:
        raise PlanFileError(*problems)
    return LoadedPlan(
        path=path or Path(filename), source=text, rendered=rendered, stack=stack,
        digest=hashlib.sha256(rendered.encode()).hexdigest(),
        graph={k: frozenset(v) for k, v in graph.items()}, positions=positions,
        variables=variables, sensitive=sensitive,
    )
