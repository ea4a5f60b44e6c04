"""examples/web-stack.yaml on AWS, end to end through the CLI, checked with boto3 directly."""

from __future__ import annotations

import json

from tests.e2e.conftest import tagged_with_stack


def test_web_stack_applies_noops_updates_listener_in_place_and_destroys(lepton, sandbox_aws):
    plan_file = lepton.copy_example("web-stack.yaml").name
    stack = "web-stack"

    applied = lepton("apply", "-f", plan_file, "--sandbox", "--yes", "--json").json()
    assert applied["ok"] is True
    outputs = applied["outputs"]
    assert outputs["url"].startswith("http://") and outputs["url"].endswith(".elb.amazonaws.com")
    assert outputs["cdn"].endswith(".cloudfront.net")

    elb = sandbox_aws("elbv2")
    (lb,) = elb.describe_load_balancers(Names=["web-stack-web-lb"])["LoadBalancers"]
    assert lb["Type"] == "application" and lb["DNSName"] in outputs["url"]
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80
    target_group_arn = listener["DefaultActions"][0]["TargetGroupArn"]
    (target_group,) = elb.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"]
    assert target_group["Port"] == 8080 and target_group["HealthCheckPath"] == "/healthz"
    (group,) = sandbox_aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["web-stack-web"])["AutoScalingGroups"]
    assert group["TargetGroupARNs"] == [target_group_arn]

    # The web group admits its port only from the load balancer's security group.
    ec2 = sandbox_aws("ec2")
    web_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web-stack-web"]}])["SecurityGroups"][0]
    (permission,) = web_sg["IpPermissions"]
    assert permission["FromPort"] == 8080 and permission["IpRanges"] == []
    assert [p["GroupId"] for p in permission["UserIdGroupPairs"]] == lb["SecurityGroups"]

    # The CDN's origin is the bucket, which stays private and admits only this distribution.
    bucket = outputs["bucket"]
    cloudfront = sandbox_aws("cloudfront")
    (summary,) = [d for d in cloudfront.list_distributions()["DistributionList"]["Items"]
                  if d["DomainName"] == outputs["cdn"]]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    assert config["Origins"]["Items"][0]["DomainName"] == f"{bucket}.s3.us-east-1.amazonaws.com"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["DefaultTTL"] == 3600
    s3 = sandbox_aws("s3")
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["AWS:SourceArn"] == summary["ARN"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    assert "No changes" in lepton("plan", "-f", plan_file, "--sandbox", "--detailed-exitcode").stdout

    # A listener's port changes in place: the same listener, a new port.
    moved = lepton("plan", "-f", plan_file, "--sandbox", "--var", "lb_port=8081", "--json",
                   "--detailed-exitcode", check=2).json()
    actions = {c["address"]: c["action"] for c in moved["changes"]}
    assert actions["web-lb/aws.lb_listener/0"] == "update"
    assert "replace" not in actions.values() and "delete" not in actions.values()
    lepton("apply", "-f", plan_file, "--sandbox", "--var", "lb_port=8081", "--yes")
    (after,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert after["ListenerArn"] == listener["ListenerArn"] and after["Port"] == 8081

    shown = lepton("output", "--json", "-f", plan_file, "--sandbox").json()
    assert shown == outputs
    assert lepton("output", "cdn", "-f", plan_file, "--sandbox").stdout.strip() == outputs["cdn"]

    lepton("destroy", "-f", plan_file, "--sandbox", "--var", "lb_port=8081", "--yes")
    assert tagged_with_stack(sandbox_aws, stack) == []
    assert not [d for d in cloudfront.list_distributions()["DistributionList"].get("Items", [])
                if d["DomainName"] == outputs["cdn"]]


def test_a_bucket_lepton_does_not_own_is_never_adopted_changed_or_deleted(lepton, sandbox_aws):
    """A name collision with someone else's bucket stops apply with an error naming it."""
    plan = "stack: owned\nresources:\n  data:\n    kind: bucket\n    versioning: true\n"
    lepton.write("lepton.yaml", plan)
    planned = lepton("plan", "--sandbox", "--json").json()
    (change,) = planned["changes"]
    name = change["diff"]["name"]["after"]
    s3 = sandbox_aws("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="theirs.txt", Body=b"not lepton's")

    failed = lepton("apply", "--sandbox", "--yes", check=1)
    assert name in failed.stderr and "not owned by stack owned" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert s3.get_bucket_versioning(Bucket=name).get("Status") is None  # untouched
    assert s3.get_object(Bucket=name, Key="theirs.txt")["Body"].read() == b"not lepton's"
    assert lepton("state", "list", "--sandbox").stdout.strip() == ""

    lepton("destroy", "--sandbox", "--yes")
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
