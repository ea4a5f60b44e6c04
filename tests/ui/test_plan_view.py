"""The plan as people read it: built Plans rendered, asserting on the changed field's line.

The human lines are rich markup; `plain` renders them as a pipe would see them."""

from __future__ import annotations

import io

from rich.console import Console

from lepton_cli.drivers.base import SENSITIVE, UNKNOWN
from lepton_cli.engine.diff import ABSENT, field_changes
from lepton_cli.engine.model import Action, Change, FieldDiff, Plan
from lepton_cli.ui.console import THEME
from lepton_cli.ui.plan_view import plan_document, render_markdown, render_plan

HEALTH = {"port": "8080", "protocol": "HTTP", "path": "/healthz", "interval_seconds": 10,
          "healthy_threshold": 2, "unhealthy_threshold": 3, "timeout_seconds": 5, "matcher": "200-399"}
RULE_80 = {"protocol": "tcp", "port": 80, "cidr": "0.0.0.0/0"}
RULE_443 = {"protocol": "tcp", "port": 443, "cidr": "0.0.0.0/0"}
SCRIPT = "#!/bin/sh\nset -e\napt-get install -y nginx\nsystemctl start nginx\n"


def change(address: str, action: Action = Action.UPDATE, summary: tuple[str, ...] = (), **diff) -> Change:
    return Change(address=address, type="aws.x", resource=address.split("/")[0], kind="compute", cloud="aws",
                  region="us-east-1", action=action, diff={k: FieldDiff(*v) for k, v in diff.items()},
                  summary=list(summary))


def plan(*changes: Change) -> Plan:
    return Plan(stack="shop", changes=list(changes), outputs={}, lineage=None, serial=0, plan_digest="")


def plain(lines: list[str]) -> list[str]:
    console = Console(file=io.StringIO(), theme=THEME, no_color=True, force_terminal=False, soft_wrap=True)
    for line in lines:
        console.print(line)
    return console.file.getvalue().splitlines()


def test_a_nested_field_shows_its_own_line_in_full():
    moved = change("lb/aws.lb_target_group", health_check=(HEALTH, {**HEALTH, "path": "/ready"}))
    lines = plain(render_plan(plan(moved)))
    assert '      health_check.path: "/healthz" → "/ready"' in lines
    assert not any("unhealthy" in line or "…" in line for line in lines)  # only the changed leaf


def test_an_added_rule_is_a_plus_line_and_a_removed_one_a_minus_line():
    lines = plain(render_plan(plan(change("web/aws.security_group", ingress=([RULE_80], [RULE_80, RULE_443]),
                                          egress=([RULE_80], [])))))
    assert '        + {protocol: "tcp", port: 443, cidr: "0.0.0.0/0"}' in lines
    assert '        - {protocol: "tcp", port: 80, cidr: "0.0.0.0/0"}' in lines
    assert not any("port: 80" in line and "+" in line for line in lines)  # the kept rule is not re-added


def test_a_reordered_list_shows_nothing():
    lines = plain(render_plan(plan(change("web/aws.security_group", ingress=([RULE_80, RULE_443], [RULE_443, RULE_80]),
                                          description=("a", "b")))))
    assert not any("ingress" in line or "port" in line for line in lines)
    assert '      description: "a" → "b"' in lines
    assert field_changes("ingress", [RULE_80, RULE_443], [RULE_443, RULE_80]) == []


def test_a_line_added_to_user_data_is_one_plus_line():
    after = SCRIPT.replace("nginx\nsystemctl", "nginx\necho ready > /tmp/ready\nsystemctl")
    lines = plain(render_plan(plan(change("web/aws.launch_template", user_data=(SCRIPT, after)))))
    assert "        + echo ready > /tmp/ready" in lines
    assert [line for line in lines if line.startswith("        + ") or line.startswith("        - ")] == [
        "        + echo ready > /tmp/ready"]
    assert "          apt-get install -y nginx" in lines  # context, unmarked


def test_long_values_are_never_cut():
    long_before, long_after = "x" * 300 + "a", "x" * 300 + "b"
    lines = plain(render_plan(plan(change("web/aws.x", name=(long_before, long_after)))))
    assert f'      name: "{long_before}" → "{long_after}"' in lines


def test_a_create_shows_nested_values_field_by_field_and_unknowns_as_such():
    lines = plain(render_plan(plan(change("web/aws.launch_template", Action.CREATE,
                                          root_volume=(None, {"type": "gp3", "encrypted": True}),
                                          security_group_ids=(None, [UNKNOWN]),
                                          user_data=(None, "#!/bin/sh\necho hi\n")))))
    assert '      root_volume.type: "gp3"' in lines and "      root_volume.encrypted: true" in lines
    assert "      security_group_ids: [(known after apply)]" in lines
    assert "        + echo hi" in lines


def test_sensitive_values_are_never_shown_or_diffed_into():
    p = plan(change("web/aws.launch_template", user_data=(SENSITIVE, SENSITIVE),
                    env=({"A": SENSITIVE}, {"A": SENSITIVE, "B": "1"}), password=("old", SENSITIVE)))
    lines = plain(render_plan(p))
    assert "      user_data: (sensitive) → (sensitive)" in lines
    assert '      password: "old" → (sensitive)' in lines
    assert '        + env.B: "1"' in lines and not any("env.A" in line for line in lines)
    markdown = render_markdown(p).splitlines()
    assert "- user_data: (sensitive)" in markdown and "+ password: (sensitive)" in markdown
    doc = plan_document(p)["changes"][0]
    assert doc["diff"]["user_data"] == {"before": "(sensitive)", "after": "(sensitive)"}
    assert {"path": "password", "kind": "value", "before": "old", "after": "(sensitive)"} in doc["field_changes"]


def test_the_json_plan_keeps_whole_values_and_adds_field_changes():
    doc = plan_document(plan(change("lb/aws.lb_target_group", health_check=(HEALTH, {**HEALTH, "path": "/ready"})),
                             change("web/aws.security_group", ingress=([RULE_80], [RULE_80, RULE_443]))))
    by_address = {c["address"]: c for c in doc["changes"]}
    group = by_address["lb/aws.lb_target_group"]
    assert group["diff"]["health_check"]["after"] == {**HEALTH, "path": "/ready"}  # whole, as before
    assert group["field_changes"] == [{"path": "health_check.path", "kind": "value",
                                       "before": "/healthz", "after": "/ready"}]
    assert by_address["web/aws.security_group"]["field_changes"] == [
        {"path": "ingress", "kind": "elements", "removed": [], "added": [RULE_443]}]


def test_a_new_map_key_is_a_plus_line_and_a_dropped_one_a_minus_line():
    lines = plain(render_plan(plan(change("web/aws.x", tags=({"a": "1", "gone": "x"}, {"a": "1", "new": "y"})))))
    assert '        + tags.new: "y"' in lines and '        - tags.gone: "x"' in lines
    assert field_changes("t", ABSENT, {}) == []


def test_the_driver_summary_is_shown_under_its_resource():
    summary = ("instance type: g5.xlarge (4 vCPUs, 16 GiB memory, 1 × A10G GPU, x86_64) at $1.006/h",
               "note: no aws instance type has exactly 1 A100 GPU; the nearest, p4d.24xlarge, has 8")
    unchanged = change("web/aws.launch_template", Action.NOOP, summary=summary)
    lines = plain(render_plan(plan(unchanged, change("web/aws.autoscaling_group", desired_capacity=(1, 2)))))
    assert lines[0].startswith("web (compute")
    assert lines[1:3] == [f"    {line}" for line in summary]
    assert "      desired_capacity: 1 → 2" in lines


def test_markdown_has_a_count_table_and_a_collapsed_diff_per_resource():
    p = plan(change("lb/aws.lb_target_group", health_check=(HEALTH, {**HEALTH, "path": "/ready"})),
             change("web/aws.security_group", ingress=([RULE_80], [RULE_80, RULE_443])),
             change("assets/aws.s3_bucket", Action.CREATE, name=(None, "shop-assets")))
    text = render_markdown(p)
    lines = text.splitlines()
    assert "| create | update | replace | delete |" in lines and "| 1 | 2 | 0 | 0 |" in lines
    assert text.count("<details>") == 3 and text.count("</details>") == 3
    assert "<details><summary><code>lb</code> (compute, aws us-east-1): 1 to update</summary>" in lines
    assert '- health_check.path: "/healthz"' in lines and '+ health_check.path: "/ready"' in lines
    assert '+     {protocol: "tcp", port: 443, cidr: "0.0.0.0/0"}' in lines
    assert '+ name: "shop-assets"' in lines
    assert text.count("```diff") == 3


def test_markdown_fences_outlast_backticks_in_values():
    text = render_markdown(plan(change("web/aws.x", user_data=("a\n```\nb\n", "a\n```\nc\n"))))
    assert "````diff" in text


def test_a_shell_line_continuation_prints_one_backslash_and_markup_in_values_stays_text():
    before, after = "apt-get install \\\n  nginx\n", "apt-get install \\\n  nginx [extra]\n"
    lines = plain(render_plan(plan(change("web/aws.launch_template", user_data=(before, after)),
                                   change("web/aws.x", name=("[bold]a", "[/]b")))))
    assert "          apt-get install \\" in lines
    assert "        +   nginx [extra]" in lines
    assert '      name: "[bold]a" → "[/]b"' in lines
