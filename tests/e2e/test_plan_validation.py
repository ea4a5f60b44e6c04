"""`plan` runs the same checks as `validate` before reaching a cloud: a region typo is a located
error with a suggestion, not an API failure reported as an internal error (issue 8, item 5)."""

from __future__ import annotations

import re


def test_plan_with_an_unknown_region_is_a_located_error_not_an_internal_one(lepton):
    lepton.write("lepton.yaml", "stack: typo\nresources:\n  assets:\n    kind: bucket\n    region: us-east-9\n")
    result = lepton("plan", "--sandbox", check=1)
    assert re.search(r"lepton\.yaml:5:5: unknown aws region 'us-east-9'", result.stderr), result.stderr
    assert "did you mean 'us-east-" in result.stderr
    assert "Internal error" not in result.stderr and "Traceback" not in result.stderr


def test_plan_with_too_many_zones_names_the_resource(lepton):
    lepton.write("lepton.yaml", "stack: zones\ndefaults: {region: us-west-1}\nresources:\n"
                                "  web: {kind: compute, size: {cpus: 1}, zones: 3}\n")
    result = lepton("plan", "--sandbox", check=1)
    assert re.search(r"lepton\.yaml:4:\d+: region us-west-1 has 2 availability zones; 'web' asks for 3",
                     result.stderr), result.stderr
