"""Fuzzing the loader: whatever the plan text, `load_plan_text` returns a plan or raises a
`LeptonError` whose every diagnostic has a location; never another exception, never a hang.

Generated texts mix a valid plan with hostile YAML (tags outside the core schema, numbers out
of range, aliases, flow collections) and hostile Jinja (huge repetitions, ranges, powers,
format widths, filters with huge sizes, loops growing strings).

Two hypothesis profiles:
- `fuzz-ci` (the default): 200 derandomized examples, no deadline; the render budget in the
  loader (spec/budget.py) is what bounds each example, and pytest-timeout bounds the test.
- `fuzz-large`, by hand: `HYPOTHESIS_PROFILE=fuzz-large pytest tests/spec/test_fuzz.py -p no:cacheprovider`
  runs 20,000 random examples with a 15-second deadline per example (a hang fails it).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lepton_cli.errors import LeptonError
from lepton_cli.spec.loader import load_plan_text

settings.register_profile("fuzz-ci", max_examples=200, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("fuzz-large", max_examples=20_000, deadline=timedelta(seconds=15),
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "fuzz-ci")
                               if os.environ.get("HYPOTHESIS_PROFILE", "").startswith("fuzz-") else "fuzz-ci")

BASE = """\
stack: fuzz
defaults: {cloud: aws, region: us-east-1}
resources:
  web:
    kind: compute
    size: {cpus: 2}
    count: {{ var.n | default(2) }}
    ports: [8080]
  lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80, target_port: 8080}]
  assets:
    kind: bucket
outputs:
  url: ${lb.dns_name}
"""

NUMBERS = ["0", "-1", "2", "10001", "100000", "1000000000", "99999999999999999999999", "1e309", "-1e309",
           "1e308", ".inf", "-.inf", ".nan", "0x7f", "0o17", "1_000", "3.5"]
TAGS = ["!!bool", "!!int", "!!float", "!!null", "!!str", "!!timestamp", "!!binary", "!!set", "!!omap",
        "!!python/object:os.system", "!foo", "!", "!!map", "!!seq"]
SCALARS = ["maybe", "yes", "true", "null", "~", "99999-01-01", "2024-01-01", "us-east-9", "ubuntu-99.04",
           "'${lb.dns_name}'", "'${nope.id}'", "A100:1", "[]", "{}", "&a x", "*a", "[*a, *a]", '"\\u0000"', "'"]
JINJA = [
    "{{ var.n | default(N) }}", "{{ 'a' * N }}", "{{ ['a'] * N }}", "{{ N ** N }}", "{{ 9 ** 9 ** 9 }}",
    "{{ 'x' | center(N) }}", "{{ 'x' | indent(N) }}", "{{ '%0Nd' % 1 }}", "{{ '%0Nd' | format(1) }}",
    "{{ '{:>N}'.format(1) }}", "{{ 'a'.ljust(N) }}", "{{ range(N) | list | length }}", "{{ lipsum(N) }}",
    "{% for i in range(N) %}x{% endfor %}", "{% for i in range(N) %}{% for j in range(N) %}{% endfor %}{% endfor %}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set ns = namespace(s=7) %}{% for i in range(40) %}{% set ns.s = ns.s * ns.s %}{% endfor %}",
    "{{ 'N' | float }}", "{{ 'N' | int }}", "{{ N / 0 }}", "{{ (N|string) * N }}", "{{ var.missing }}",
    "{{ ''.__class__ }}", "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "{{", "{% for %}", "{# x",
]
KEYS = ["stack", "resources", "kind", "size", "cpus", "memory_gb", "gpus", "region", "zones", "image", "count",
        "listeners", "target", "origin", "outputs", "defaults", "variables", "x", "<<", "? [a]"]


@st.composite
def hostile_values(draw) -> str:
    kind = draw(st.sampled_from(["number", "tag", "scalar", "jinja", "text"]))
    if kind == "number":
        return draw(st.sampled_from(NUMBERS))
    if kind == "tag":
        return f"{draw(st.sampled_from(TAGS))} {draw(st.sampled_from(SCALARS + NUMBERS))}"
    if kind == "scalar":
        return draw(st.sampled_from(SCALARS))
    if kind == "jinja":
        return draw(st.sampled_from(JINJA)).replace("N", draw(st.sampled_from(NUMBERS[:9])))
    return draw(st.text(alphabet=":{}[]-#&*!|>'\"%@`$ \tax19.\n", max_size=12))


@st.composite
def plan_texts(draw) -> str:
    lines = BASE.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines)))
        indent = " " * draw(st.sampled_from([0, 2, 4, 6]))
        line = f"{indent}{draw(st.sampled_from(KEYS))}: {draw(hostile_values())}\n"
        if draw(st.booleans()):
            lines.insert(at, line)
        else:
            lines[min(at, len(lines) - 1)] = line
    return "".join(lines)


def load_or_located_error(text: str) -> None:
    try:
        load_plan_text(text)
    except LeptonError as error:
        assert error.diagnostics
        for d in error.diagnostics:
            assert d.summary and d.location is not None, (text, d)


@pytest.mark.timeout(900)
@settings(PROFILE)
@given(plan_texts())
def test_generated_plans_load_or_fail_with_located_diagnostics(text):
    load_or_located_error(text)


@pytest.mark.timeout(900)
@settings(PROFILE)
@given(st.lists(st.sampled_from(JINJA), min_size=1, max_size=3), st.sampled_from(NUMBERS[:9]))
def test_hostile_templates_end_in_a_diagnostic(snippets, number):
    text = "stack: s\nresources: {}\noutputs:\n" + "".join(
        f"  o{i}: \"{s.replace('N', number)}\"\n" for i, s in enumerate(snippets))
    load_or_located_error(text)
