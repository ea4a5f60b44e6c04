"""The foundation's end-to-end story, driven through the CLI as a user would."""

from __future__ import annotations

from tests.e2e.conftest import tagged_with_stack


def test_apply_noop_scale_in_place_and_destroy_leaves_nothing(lepton, sandbox_aws):
    plan_file = lepton.copy_example("quickstart.yaml").name
    stack = "quickstart"

    applied = lepton("apply", "-f", plan_file, "--sandbox", "--yes")
    assert "Apply complete" in applied.stdout
    assert "bucket = quickstart-assets-" in applied.stdout

    groups = sandbox_aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["quickstart-web"])["AutoScalingGroups"]
    assert groups and groups[0]["DesiredCapacity"] == 2
    assert len(groups[0]["VPCZoneIdentifier"].split(",")) == 2  # zones: 2

    # A second plan against what exists changes nothing.
    again = lepton("plan", "-f", plan_file, "--sandbox", "--detailed-exitcode")
    assert "No changes" in again.stdout

    # Scaling the group is an in-place update of desired capacity, nothing else.
    scaled = lepton("plan", "-f", plan_file, "--sandbox", "--var", "web_count=3",
                    "--detailed-exitcode", "--json", check=2).json()
    assert scaled["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}
    (change,) = scaled["changes"]
    assert change["address"] == "web/aws.autoscaling_group"
    assert change["action"] == "update"
    assert any(d == {"before": 2, "after": 3} for d in change["diff"].values())

    lepton("apply", "-f", plan_file, "--sandbox", "--var", "web_count=3", "--yes")
    groups = sandbox_aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["quickstart-web"])["AutoScalingGroups"]
    assert groups[0]["DesiredCapacity"] == 3

    out = lepton("output", "bucket", "-f", plan_file, "--sandbox")
    assert out.stdout.strip().startswith("quickstart-assets-")

    lepton("destroy", "-f", plan_file, "--sandbox", "--var", "web_count=3", "--yes")
    assert tagged_with_stack(sandbox_aws, stack) == []
    assert lepton("state", "list", "-f", plan_file, "--sandbox").stdout.strip() == ""
