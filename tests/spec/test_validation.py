"""`lepton validate` finds every problem in one run, each with file:line:col, and no input makes
the loader crash or hang (issue 8, items 5 and 11). Driven through the installed console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LEPTON = shutil.which("lepton", path=str(Path(sys.executable).parent)) or shutil.which("lepton")
LOCATED = re.compile(r"^Error: (?P<file>[^:\s]+):(?P<line>\d+):(?P<col>\d+): ", re.M)

FIVE_MISTAKES = """\
stack: shop
resources:
  web:
    kind: compute
    count: 2
    ports: [8080]
  api:
    kind: compute
    size: {cpus: 2}
    image: ubuntu-99.04
    ports: [8080, 9000]
    user_data: "echo ${assest.url}"
  lb:
    kind: load_balancer
    target: api
    listeners:
      - {port: 80, protocol: http, target_port: 8080}
      - {port: 9000, protocol: tcp}
  assets:
    kind: bucket
    region: us-east-9
"""


def run(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "plan.yaml").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEPTON_"))}
    env.update(NO_COLOR="1", COLUMNS="200")
    assert LEPTON, "the lepton console script is not installed"
    return subprocess.run([LEPTON, "validate", "-f", "plan.yaml", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def located_errors(stderr: str) -> dict[int, str]:
    """line -> the error block starting there (each `Error:` line and its hint lines)."""
    blocks = re.split(r"(?m)^(?=Error: )", stderr)
    out = {}
    for block in blocks:
        match = LOCATED.match(block)
        if match:
            assert match["file"] == "plan.yaml"
            out[int(match["line"])] = block
    return out


def test_five_different_mistakes_are_all_reported_in_one_run_with_locations(tmp_path):
    result = run(tmp_path, FIVE_MISTAKES)
    assert result.returncode == 1, result.stderr
    errors = located_errors(result.stderr)
    assert "Internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "needs size or instance_type" in errors[3]  # missing size: `web`
    assert "unknown resource 'assest'" in errors[12] and "did you mean 'assets'?" in errors[12]
    assert "unknown image 'ubuntu-99.04'" in errors[10] and "did you mean 'ubuntu-" in errors[10]
    assert "all tcp" in errors[16] and "resources.lb.listeners" in errors[16]
    assert "unknown aws region 'us-east-9'" in errors[21] and "did you mean 'us-east-" in errors[21]
    assert len(errors) == 5, result.stderr


def test_validate_json_lists_every_problem_with_its_location(tmp_path):
    result = run(tmp_path, FIVE_MISTAKES, "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    found = {(d["path"], d["location"]["line"], d["location"]["column"]) for d in document["diagnostics"]}
    assert found == {
        ("resources.web", 3, 3),
        ("resources.api.user_data", 12, 5),
        ("resources.api.image", 10, 5),
        ("resources.lb.listeners", 16, 5),
        ("resources.assets.region", 21, 5),
    }


def test_a_reference_to_a_resource_that_fails_the_schema_is_not_unknown(tmp_path):
    plan = ("stack: s\nresources:\n  web: {kind: compute, ports: [80]}\n"
            "  lb: {kind: load_balancer, target: web, listeners: [{port: 80}]}\n"
            "  b: {kind: bucket, versoning: true}\noutputs: {u: '${lb.dns_name}'}\n")
    result = run(tmp_path, plan)
    errors = located_errors(result.stderr)
    assert set(errors) == {3, 5}, result.stderr  # web's size, b's typo; nothing about lb's target


def test_a_cycle_is_reported_alongside_schema_errors(tmp_path):
    plan = ("stack: s\nresources:\n  l: {kind: load_balancer, target: w, listeners: [{port: 80}]}\n"
            "  w: {kind: compute, ports: [80], user_data: '${l.dns_name}'}\n")
    result = run(tmp_path, plan)
    assert "needs size or instance_type" in result.stderr and "cycle: l -> w -> l" in result.stderr


def test_a_region_without_enough_zones_names_the_resource_and_its_line(tmp_path):
    plan = "stack: s\ndefaults: {region: us-west-1}\nresources:\n  web:\n    kind: compute\n    size: {cpus: 1}\n    zones: 3\n"
    result = run(tmp_path, plan)
    errors = located_errors(result.stderr)
    assert list(errors) == [7], result.stderr
    assert "us-west-1 has 2 availability zones; 'web' asks for 3" in errors[7]


def test_name_rules_are_said_in_words_not_regular_expressions(tmp_path):
    result = run(tmp_path, "stack: Shop_1\nresources:\n  Web: {kind: bucket}\n")
    assert "lowercase letters, digits and '-', starting with a letter, at most 30 characters" in result.stderr
    assert "at most 40 characters" in result.stderr
    assert "[a-z" not in result.stderr


def test_a_valid_plan_is_still_valid(tmp_path):
    plan = ("stack: s\ndefaults: {region: eu-west-1}\nresources:\n  web: {kind: compute, size: {cpus: 1}, ports: [80]}\n"
            "  lb: {kind: load_balancer, target: web, listeners: [{port: 80}]}\n")
    result = run(tmp_path, plan)
    assert result.returncode == 0, result.stderr
    assert "is valid" in result.stdout


BASE = "stack: s\nresources: {}\n"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text,line,expected", [
    (BASE + "x: !!bool maybe\n", 3, "!!bool takes true or false"),
    (BASE + "x: !!timestamp 99999-01-01\n", 3, "unsupported YAML tag !!timestamp"),
    (BASE + "outputs: {a: '{{ var.n | default(-1e309) }}'}\n", 3, "number out of range"),
    (BASE + "outputs: {a: '{{ \"a\" * 1000000000 }}'}\n", 3, "the limit is 4,000,000"),
    (BASE + "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n", 3,
     "range() of 100,000 items; the limit is 10,000"),
    ("stack: s\nresources:\n{% for i in range(10) %}{% for j in range(10000) %}  b{{ i }}-{{ j }}: {kind: bucket}\n"
     "{% endfor %}{% endfor %}", 2, "the plan has 100,000 resources; the limit is 1,000"),
], ids=["bool-maybe", "timestamp", "inf-default", "huge-string", "nested-ranges", "100k-resources"])
def test_inputs_that_crashed_or_hung_the_loader_end_in_one_located_diagnostic(tmp_path, text, line, expected):
    result = run(tmp_path, text)
    assert result.returncode == 1, result.stderr
    errors = located_errors(result.stderr)
    assert list(errors) == [line], result.stderr
    assert expected in errors[line]
    assert "Internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.timeout(120)
def test_a_render_that_runs_too_long_is_stopped_with_the_time_limit_named(tmp_path):
    text = BASE + "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}\n"
    result = run(tmp_path, text)
    assert result.returncode == 1
    assert "rendering takes longer than 5 seconds, the limit" in located_errors(result.stderr)[3]


# -- in process: each limit is named, each YAML rule said ----------------------------------------
@pytest.mark.parametrize("template,expected", [
    ("{{ 'x' | center(1000000000) }}", "center filter was given a size larger than 4,000,000"),
    ("{{ 'x'.ljust(1000000000) }}", "format width or precision is larger than 4,000,000"),
    ("{{ '{:>999999999}'.format(1) }}", "format width or precision is larger than 4,000,000"),
    ("{{ '%0999999999d' % 1 }}", "format width or precision is larger than 4,000,000"),
    ("{{ 9 ** 99999 }}", "out of range (more than 4096 bits)"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "joining with ~ would make a string longer than 4,000,000 characters"),
    ("{% set l = [] %}{% for i in range(10000) %}{{ l.extend(range(10000)) or '' }}{% endfor %}",
     "a list or mapping grew to"),
    ("{% for i in range(10000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}",
     "the rendered plan is longer than 4,000,000 characters"),
    ("{{ 1e308 * 10 }}", "out of range (inf)"),
    ("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
])
def test_each_render_limit_is_named(template, expected):
    from lepton_cli.errors import PlanFileError
    from lepton_cli.spec.loader import load_plan_text

    with pytest.raises(PlanFileError) as caught:
        load_plan_text(BASE + template + "\n")
    (d,) = caught.value.diagnostics
    assert expected in d.summary and d.location is not None


@pytest.mark.parametrize("value,expected", [
    ("!!binary aGk=", "unsupported YAML tag !!binary"), ("!custom x", "unsupported YAML tag !custom"),
    ("!!set {a}", "unsupported YAML tag !!set"), (".nan", "number out of range"), ("1e999", "number out of range"),
    ("99999999999999999999", "number out of range"), ("!!int abc", "!!int takes a whole number"),
])
def test_yaml_outside_the_core_schema_is_refused_by_name(value, expected):
    from lepton_cli.errors import PlanFileError
    from lepton_cli.spec.loader import load_plan_text

    with pytest.raises(PlanFileError) as caught:
        load_plan_text(f"stack: s\nresources: {{}}\noutputs:\n  a: {value}\n")
    (d,) = caught.value.diagnostics
    assert expected in d.summary and (d.location.line, d.path) == (4, "outputs.a")


def test_core_schema_reads_yes_and_dates_as_strings():
    from lepton_cli.spec.parse import load_core

    assert load_core("a: yes\nb: 2024-01-01\nc: 0x10\nd: true\ne: ~\nf: 1.5\n") == {
        "a": "yes", "b": "2024-01-01", "c": 16, "d": True, "e": None, "f": 1.5}
