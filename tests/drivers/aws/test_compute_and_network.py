"""compute, network and firewall on AWS, against moto."""

from __future__ import annotations

import base64

import pytest

from lepton_cli.errors import LeptonError

GROUP = """\
resources:
  web:
    kind: compute
    size: {{cpus: 2, memory_gb: 4}}
    image: {image}
    count: {count}
    zones: 2
    ports: [8080]
    allow_from: {allow}
    spot: {spot}
    user_data: "echo {message}"
"""


def group(image="ubuntu-22.04", count=2, allow="['10.0.0.0/8']", spot="false", message="hi"):
    return GROUP.format(image=image, count=count, allow=allow, spot=spot, message=message)


def test_a_compute_group_spreads_over_zones_and_opens_only_what_the_plan_says(aws):
    aws.converge(group())
    asg = aws.client("autoscaling")
    (g,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{aws.stack}-web"])["AutoScalingGroups"]
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (2, 2, 2)
    subnets = aws.client("ec2").describe_subnets(SubnetIds=g["VPCZoneIdentifier"].split(","))["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    tags = {t["Key"]: t["Value"] for t in g["Tags"]}
    assert tags == {"lepton-stack": aws.stack, "lepton-name": "web/aws.autoscaling_group", "Name": f"{aws.stack}-web"}
    ec2 = aws.client("ec2")
    (sg,) = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{aws.stack}-web"]}])["SecurityGroups"]
    assert [(p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in sg["IpPermissions"]] == [(8080, ["10.0.0.0/8"])]
    template = ec2.describe_launch_template_versions(LaunchTemplateName=f"{aws.stack}-web", Versions=["$Default"])
    data = template["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["InstanceType"] == "t3.medium"  # cheapest x86_64 type with 2 vCPUs and 4 GiB
    assert base64.b64decode(data["UserData"]).decode() == "echo hi"
    image = ec2.describe_images(ImageIds=[data["ImageId"]])["Images"][0]
    assert image["OwnerId"] == "099720109477" and "jammy-22.04-amd64" in image["Name"]
    aws.destroy(group())


def test_count_is_in_place_and_image_rolls_a_new_template_version(aws):
    aws.converge(group())
    plan = aws.plan(group(count=4))
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("web/aws.autoscaling_group", "update")
    assert "changes desired capacity" in change.notes
    assert {k: (d.before, d.after) for k, d in change.diff.items()} == {
        "min_size": (2, 4), "max_size": (2, 4), "desired_capacity": (2, 4)}
    aws.apply(plan)
    (g,) = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{aws.stack}-web"])["AutoScalingGroups"]
    assert g["DesiredCapacity"] == 4

    plan = aws.plan(group(count=4, image="debian-12", message="bye"))
    (change,) = plan.actionable
    assert change.address == "web/aws.launch_template" and change.action.value == "update"
    assert change.notes == ["rolls a new launch template version"]
    assert set(change.diff) == {"image_id", "user_data"}
    assert aws.apply(plan).ok
    templates = aws.client("ec2").describe_launch_templates(LaunchTemplateNames=[f"{aws.stack}-web"])["LaunchTemplates"]
    assert templates[0]["DefaultVersionNumber"] == 2 and templates[0]["LatestVersionNumber"] == 2
    assert not aws.plan(group(count=4, image="debian-12", message="bye")).has_changes
    aws.destroy(group())


def test_firewall_rules_change_in_place(aws):
    aws.converge(group())
    plan = aws.plan(group(allow="['10.0.0.0/8', '192.168.0.0/16']"))
    (change,) = plan.actionable
    assert change.address == "web/aws.security_group" and change.action.value == "update"
    assert aws.apply(plan).ok
    assert not aws.plan(group(allow="['10.0.0.0/8', '192.168.0.0/16']")).has_changes
    aws.destroy(group())


def test_autoscale_adds_a_cpu_target_tracking_policy(aws):
    body = ("resources:\n  workers:\n    kind: compute\n    instance_type: {aws: m6i.large}\n"
            "    autoscale: {min: 1, max: 5, target_cpu: 55}\n")
    aws.converge(body)
    (policy,) = aws.client("autoscaling").describe_policies(AutoScalingGroupName=f"{aws.stack}-workers")["ScalingPolicies"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingConfiguration"]["TargetValue"] == 55.0
    (g,) = aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{aws.stack}-workers"])["AutoScalingGroups"]
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (1, 5, 1)
    aws.destroy(body)


def test_spot_and_gpu_groups(aws):
    body = "resources:\n  train:\n    kind: compute\n    size: {gpus: 'A100:1'}\n    image: ubuntu-22.04-cuda\n    spot: true\n    count: 1\n"
    aws.converge(body)
    data = aws.client("ec2").describe_launch_template_versions(
        LaunchTemplateName=f"{aws.stack}-train", Versions=["$Default"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert data["InstanceType"] == "p4d.24xlarge"
    assert data["InstanceMarketOptions"]["MarketType"] == "spot"
    aws.destroy(body)


def test_an_unknown_image_alias_is_a_clear_error(aws):
    with pytest.raises(LeptonError, match="did you mean 'ubuntu-22.04'"):
        aws.plan(group(image="ubuntu-22.4"))


def test_an_autoscaling_group_lepton_does_not_own_is_never_touched(aws):
    ec2, asg = aws.client("ec2"), aws.client("autoscaling")
    template = ec2.create_launch_template(LaunchTemplateName=f"someone-{aws.stack}",
                                          LaunchTemplateData={"ImageId": "ami-000000000005a0002"})["LaunchTemplate"]
    asg.create_auto_scaling_group(AutoScalingGroupName=f"{aws.stack}-web", MinSize=1, MaxSize=1,
                                  LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"]},
                                  AvailabilityZones=["us-east-1a"])
    result = aws.apply(aws.plan(group()))
    assert "web/aws.autoscaling_group" in result.failed
    assert "not owned by stack" in result.failed["web/aws.autoscaling_group"]
    (g,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{aws.stack}-web"])["AutoScalingGroups"]
    assert g["MaxSize"] == 1 and g["LaunchTemplate"]["LaunchTemplateId"] == template["LaunchTemplateId"]
    aws.destroy(group())
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{aws.stack}-web"])["AutoScalingGroups"]
