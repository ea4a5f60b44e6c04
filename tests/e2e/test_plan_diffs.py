"""The plan a person reads, through the CLI against the sandbox (issue 8, items 2, 8, 9):
field-level diffs of nested values, list members and user_data lines; values known at plan
time shown; the instance type the resolver chose with its price; `--format markdown`.

Output is piped (plain): assertions are on whole lines as a user sees them."""

from __future__ import annotations


PLAN = """\
stack: plan-diffs
resources:
  web:
    kind: compute
    size: {cpus: 2, memory_gb: 4}
    image: ubuntu-22.04
    count: 2
    ports: {{ var.ports | default([8080]) }}
    allow_from: [10.0.0.0/8]
    user_data: |
      #!/bin/sh
      echo "bucket ${assets.name}"
      {{ var.extra | default('echo done') }}
  web-lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80, protocol: http, target_port: 8080}]
    health_check: {path: {{ var.path | default('/healthz') }}, port: 8080}
  assets:
    kind: bucket
"""
CHANGED = ("--var", "path=/ready", "--var", "ports=[8080, 443]", "--var", "extra=echo more")


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_a_bucket_name_in_user_data_is_known_at_plan_time(lepton):
    lepton.write("lepton.yaml", PLAN)
    planned = lepton("plan", "--sandbox").stdout
    (line,) = [line for line in lines_of(planned) if "echo \"bucket" in line]
    assert line.startswith('        + echo "bucket plan-diffs-assets-'), planned
    assert "known after apply" not in line
    (bucket,) = [c for c in lepton("plan", "--sandbox", "--json").json()["changes"]
                 if c["address"] == "assets/aws.s3_bucket"]
    assert line.endswith(f'bucket {bucket["diff"]["name"]["after"]}"')


def test_changed_fields_show_as_their_own_lines(lepton):
    lepton.write("lepton.yaml", PLAN)
    lepton("apply", "--sandbox", "--yes")
    result = lepton("plan", "--sandbox", *CHANGED, "--detailed-exitcode", check=2)
    lines = lines_of(result.stdout)
    assert '      health_check.path: "/healthz" → "/ready"' in lines, result.stdout
    added = [line for line in lines if line.startswith("        + ")]
    assert "        + echo more" in added and "        - echo done" in lines
    assert any("port: 443" in line and 'cidr: "10.0.0.0/8"' in line for line in added), result.stdout
    assert not any("port: 8080" in line for line in added)  # the kept rules are not shown as new
    assert not any("…" in line for line in lines)
    assert "Plan: 0 to create, 3 to update, 0 to replace, 0 to delete." in lines

    result_json = lepton("plan", "--sandbox", *CHANGED, "--format", "json").json()
    assert result_json == lepton("plan", "--sandbox", *CHANGED, "--json").json()
    (group,) = [c for c in result_json["changes"] if c["address"].startswith("web-lb/aws.lb_target_group")]
    assert group["field_changes"] == [{"path": "health_check.path", "kind": "value",
                                       "before": "/healthz", "after": "/ready"}]
    assert group["diff"]["health_check"]["after"]["path"] == "/ready"  # whole values, as before

    markdown = lepton("plan", "--sandbox", *CHANGED, "--format", "markdown").stdout
    md = lines_of(markdown)
    assert md[0] == "### lepton plan: stack `plan-diffs`"
    assert "| 0 | 3 | 0 | 0 |" in md
    assert markdown.count("<details>") == 2 and markdown.count("```diff") == 2
    assert '- health_check.path: "/healthz"' in md and '+ health_check.path: "/ready"' in md
    assert "+     echo more" in md and "-     echo done" in md
    assert any(line.startswith("- instance type: t3.medium (2 vCPUs, 4 GiB memory") for line in md)

    lepton("apply", "--sandbox", *CHANGED, "--yes")
    assert "No changes." in lepton("plan", "--sandbox", *CHANGED).stdout
    lepton("destroy", "--sandbox", *CHANGED, "--yes")


def test_the_plan_shows_the_chosen_type_its_price_and_why_it_has_eight_gpus(lepton):
    lepton.write("lepton.yaml", "stack: gpu-plan\nresources:\n  train:\n    kind: compute\n"
                                "    size: {gpus: 'A100:1'}\n    image: ubuntu-22.04-cuda\n    count: 2\n")
    result = lepton("plan", "--sandbox")
    lines = lines_of(result.stdout)
    start = lines.index("train (compute, aws us-east-1)")
    assert lines[start + 1:start + 4] == [
        "    instance type: p4d.24xlarge (96 vCPUs, 1152 GiB memory, 8 × A100 GPU, x86_64) at $32.7726/h",
        "    cost: 2 × p4d.24xlarge = $65.5452/h, $47,848.00/month (730 h, on-demand list price)",
        "    note: no aws instance type has exactly 1 A100 GPU; the nearest, p4d.24xlarge, has 8",
    ], result.stdout
    (template,) = [c for c in lepton("plan", "--sandbox", "--json").json()["changes"]
                   if c["address"] == "train/aws.launch_template"]
    assert template["summary"][2].startswith("note: no aws instance type has exactly 1 A100 GPU")


def test_an_unknown_instance_type_gets_did_you_mean(lepton):
    lepton.write("lepton.yaml", "stack: typo\nresources:\n  web:\n    kind: compute\n"
                                "    instance_type: m7i.larg\n    image: ubuntu-22.04\n")
    result = lepton("plan", "--sandbox", check=1)
    assert "unknown aws instance type 'm7i.larg'" in result.stderr
    assert "did you mean 'm7i.large'?" in result.stderr
    assert "Traceback" not in result.stderr and "Internal error" not in result.stderr


def test_an_unknown_format_is_a_usage_error(lepton):
    lepton.write("lepton.yaml", PLAN)
    result = lepton("plan", "--format", "yaml", check=None)
    assert result.code != 0 and result.stdout == ""
    assert "Invalid value for '--format'" in result.stderr and "'yaml' is not one of" in result.stderr
    assert "Traceback" not in result.stderr
