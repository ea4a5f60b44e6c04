"""The plan language: what a user who mistypes a plan file sees, and what a valid one means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lepton_cli.errors import PlanFileError
from lepton_cli.spec.loader import load_plan, load_plan_text
from lepton_cli.spec.render import collect_vars, parse_var_assignment
from lepton_cli.spec.schema import plan_json_schema

DESIGN_EXAMPLE = """\
stack: shop                      # required
defaults:
  cloud: aws
  region: us-east-1
resources:
  assets:
    kind: bucket
    versioning: true
    public: false
    encryption: true
    force_destroy: false
    lifecycle:
      - {prefix: "tmp/", expire_days: 7}
  web:
    kind: compute
    size: {cpus: 2, memory_gb: 4}
    image: ubuntu-22.04
    count: {{ var.web_count | default(2) }}
    zones: 2
    ports: [8080]
    allow_from: ["10.0.0.0/8"]
    disk_gb: 30
    spot: false
    user_data: |
      #!/bin/bash
      echo hello
  web-lb:
    kind: load_balancer
    target: web
    listeners:
      - {port: 80, protocol: http, target_port: 8080}
    health_check: {path: /healthz, port: 8080}
  assets-cdn:
    kind: cdn
    origin: assets
    default_ttl: 3600
    https_only: true
outputs:
  url: ${web-lb.dns_name}
  cdn: ${assets-cdn.domain}
  bucket: ${assets.name}
"""


def error_of(text: str, **variables) -> PlanFileError:
    with pytest.raises(PlanFileError) as caught:
        load_plan_text(text, variables=variables)
    return caught.value


def only(error: PlanFileError):
    assert len(error.diagnostics) == 1, error
    return error.diagnostics[0]


def test_the_design_example_loads_with_its_meaning():
    loaded = load_plan_text(DESIGN_EXAMPLE)
    stack = loaded.stack
    assert stack.stack == "shop"
    assert stack.resources["web"].count == 2  # the template's default
    assert stack.resources["web"].user_data == "#!/bin/bash\necho hello\n"
    assert stack.region_of("web") == "us-east-1"
    assert dict(loaded.graph) == {"assets": frozenset(), "web": frozenset(), "web-lb": {"web"},
                                  "assets-cdn": {"assets"}}
    assert stack.outputs["url"] == "${web-lb.dns_name}"


def test_a_variable_from_the_command_line_is_a_yaml_scalar():
    assert parse_var_assignment("web_count=3") == ("web_count", 3)
    assert parse_var_assignment("spot=true") == ("spot", True)
    assert parse_var_assignment("name=a,b") == ("name", "a,b")
    assert load_plan_text(DESIGN_EXAMPLE, variables={"web_count": 5}).stack.resources["web"].count == 5


def test_variables_precedence_env_then_files_then_flags(tmp_path):
    var_file = tmp_path / "vars.yaml"
    var_file.write_text("a: from-file\nb: from-file\n")
    merged = collect_vars(["a=from-flag"], [var_file], {"LEPTON_VAR_a": "env", "LEPTON_VAR_c": "7", "OTHER": "x"})
    assert merged == {"a": "from-flag", "b": "from-file", "c": 7}


def test_a_malformed_var_flag_is_a_clear_error():
    with pytest.raises(PlanFileError, match="NAME=VALUE"):
        parse_var_assignment("no-equals-sign")


def test_a_missing_variable_names_it_and_its_line():
    d = only(error_of("stack: s\nresources:\n  w:\n    kind: compute\n    size: {cpus: 1}\n    count: {{ var.n }}\n"))
    assert "'n'" in d.summary and d.location.line == 6
    assert "--var n=" in d.hint


def test_a_misspelt_key_says_where_and_what_was_meant():
    d = only(error_of("stack: shop\nresources:\n  web:\n    kind: compute\n    size: {cpus: 2}\n    cuont: 3\n"))
    assert (d.location.line, d.location.column) == (6, 5)
    assert d.path == "resources.web.cuont"
    assert "count" in d.hint


def test_a_misspelt_nested_key_suggests_from_the_nested_model():
    d = only(error_of("stack: s\nresources:\n  w:\n    kind: compute\n    size: {cpus: 2, memroy_gb: 4}\n"))
    assert d.path == "resources.w.size.memroy_gb" and "memory_gb" in d.hint


def test_a_misspelt_kind_and_cloud_get_suggestions():
    d = only(error_of("stack: s\nresources:\n  b:\n    kind: bukket\n"))
    assert "bukket" in d.summary and "bucket" in d.hint and d.path == "resources.b.kind"
    d = only(error_of("stack: s\ndefaults: {cloud: azur}\nresources: {}\n"))
    assert d.path == "defaults.cloud" and "azure" in d.hint


def test_wrong_types_say_what_was_expected():
    d = only(error_of("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, count: many}\n"))
    assert d.path == "resources.w.count" and "whole number" in d.summary and d.location.line == 3


def test_every_problem_is_reported_at_once():
    error = error_of("stack: s\nresources:\n  a: {kind: bucket, versoning: true}\n  b: {kind: cdn, origin: a, ttl: 3}\n")
    assert {d.path for d in error.diagnostics} == {"resources.a.versoning", "resources.b.ttl"}


@pytest.mark.parametrize("plan,expected", [
    ("stack: s\nresources:\n  l: {kind: load_balancer, target: wbe, listeners: [{port: 80}]}\n  web: {kind: compute, size: {cpus: 1}}\n",
     "did you mean 'web'?"),
    ("stack: s\nresources:\n  c: {kind: cdn, origin: nope}\n", "is not a resource"),
    ("stack: s\nresources:\n  b: {kind: bucket}\n  l: {kind: load_balancer, target: b, listeners: [{port: 80}]}\n",
     "expected a compute"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}}\n  c: {kind: cdn, origin: w}\n", "expected a bucket or a load_balancer"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, cloud: gcp}\n  l: {kind: load_balancer, target: w, listeners: [{port: 80}]}\n",
     "same cloud and region"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, region: us-west-2}\n  l: {kind: load_balancer, target: w, listeners: [{port: 80}]}\n",
     "same cloud and region"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, user_data: 'x ${bukket.name}'}\n  bucket: {kind: bucket}\n",
     "did you mean 'bucket'?"),
    ("stack: s\nresources:\n  b: {kind: bucket}\noutputs: {u: '${b.dns_name}'}\n", "has no attribute 'dns_name'"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, user_data: '${w.name}'}\n", "cannot depend on itself"),
])
def test_reference_errors(plan, expected):
    error = error_of(plan)
    assert any(expected in d.summary + " " + d.hint for d in error.diagnostics), error


def test_a_cycle_is_named():
    d = only(error_of("stack: s\nresources:\n  l: {kind: load_balancer, target: w, listeners: [{port: 80}]}\n"
                      "  w: {kind: compute, size: {cpus: 1}, user_data: '${l.dns_name}'}\n"))
    assert "cycle" in d.summary and "l -> w -> l" in d.summary


def test_duplicate_keys_are_errors_not_silently_the_last_one():
    d = only(error_of("stack: s\nresources:\n  a: {kind: bucket}\n  a: {kind: bucket, public: true}\n"))
    assert "duplicate key 'a'" in d.summary and d.location.line == 4 and "line 3" in d.hint


def test_yaml_syntax_error_has_its_position():
    d = only(error_of("stack: s\nresources:\n  a: {kind: bucket\n"))
    assert "YAML" in d.summary and d.location.line >= 3


def test_the_template_sandbox_blocks_escapes():
    d = only(error_of("stack: s\nresources: {}\noutputs: {x: \"{{ ''.__class__.__mro__ }}\"}\n"))
    assert "sandbox" in d.summary


@pytest.mark.parametrize("plan,expected", [
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, count: 2, autoscale: {min: 1, max: 3}}\n", "not both"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}}\n  l: {kind: load_balancer, target: w, listeners: [{port: 443, protocol: https}]}\n",
     "needs a certificate"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {cpus: 1}, allow_from: [everyone]}\n", "not a CIDR"),
    ("stack: s\nresources:\n  w: {kind: compute}\n", "needs size or instance_type"),
    ("stack: Shop\nresources: {}\n", "stack"),
    ("stack: s\nresources:\n  w: {kind: compute, size: {gpus: A100}}\n", "gpus"),
])
def test_value_rules(plan, expected):
    error = error_of(plan)
    assert any(expected in d.summary + d.path for d in error.diagnostics), error


def test_file_problems(tmp_path):
    with pytest.raises(PlanFileError, match="no plan file"):
        load_plan(tmp_path / "missing.yaml")
    with pytest.raises(PlanFileError, match="directory"):
        load_plan(tmp_path)
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(PlanFileError, match="empty"):
        load_plan(tmp_path / "empty.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(PlanFileError, match="mapping"):
        load_plan(tmp_path / "list.yaml")


def test_the_json_schema_describes_the_plan():
    schema = plan_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) == {"stack"}
    assert {"stack", "defaults", "resources", "outputs"} <= set(schema["properties"])
    text = json.dumps(schema)
    for kind in ("compute", "bucket", "load_balancer", "cdn"):
        assert f'"{kind}"' in text


def test_the_examples_are_valid():
    root = Path(__file__).resolve().parents[2]
    for example in [*root.glob("examples/*.yaml"), *root.glob("templates/*.yaml")]:
        load_plan(example)


# -- nothing but PlanFileError, whatever the input -------------------------------------------------
def _mangle(text: str, data: st.DataObject) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        operation = data.draw(st.sampled_from(["delete", "duplicate", "insert", "swap", "truncate"]))
        if not lines:
            break
        i = data.draw(st.integers(0, len(lines) - 1))
        if operation == "delete":
            del lines[i]
        elif operation == "duplicate":
            lines.insert(i, lines[i])
        elif operation == "insert":
            position = data.draw(st.integers(0, len(lines[i])))
            junk = data.draw(st.text(alphabet=":{}[]-#&*!|>'\"%@`$ \t\nax19.", max_size=6))
            lines[i] = lines[i][:position] + junk + lines[i][position:]
        elif operation == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
    return "".join(lines)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mangled_plans_only_ever_raise_plan_file_errors(data):
    text = _mangle(DESIGN_EXAMPLE, data)
    try:
        load_plan_text(text)
    except PlanFileError as error:
        assert error.diagnostics and all(d.summary for d in error.diagnostics)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_only_ever_raises_plan_file_errors(text):
    try:
        load_plan_text(text)
    except PlanFileError:
        pass


def test_an_alias_bomb_is_refused_not_expanded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 9)]
    with pytest.raises(PlanFileError, match="expands to more than"):
        load_plan_text("\n".join(lines) + "\nstack: s\n")
