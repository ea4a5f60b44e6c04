"""Changes that must never break what is running, driven through the CLI as a user drives it
(subprocess `lepton ... --sandbox`), and checked with boto3 against the sandbox directly:

- a target-group swap (listener and group move 8080 -> 9090) switches traffic before the old
  target group goes, in one apply;
- moving a compute group (and its load balancer) to another region, and a bucket to another
  region;
- an autoscaler's desired capacity is never fought over;
- `destroy --target` takes what depends on the target, never what the target depends on;
- a saved destroy is refused when the bucket got an object after planning.

Each test has a stack of its own, so they share the session's sandbox without interfering.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import tagged_with_stack


def progress_lines(stderr: str) -> list[str]:
    """The plain (non-terminal) progress: one line when an operation starts (`ADDR: creating…`)
    and one when it is done (`ADDR: created (0.1s)`), in the order they happened."""
    return [line.strip() for line in stderr.splitlines() if re.match(r"^\S+: \w+", line.strip())]


def position(lines: list[str], address: str, word: str) -> int:
    """Index of the progress line saying `word` (e.g. "deleting", "updated") about `address`."""
    matches = [i for i, line in enumerate(lines) if line.startswith(f"{address}: {word}")]
    assert len(matches) == 1, f"expected one '{address}: {word}' line in:\n" + "\n".join(lines)
    return matches[0]


def changes_by_address(document: dict) -> dict[str, dict]:
    return {c["address"]: c for c in document["changes"] if c["deposed"] is None}


# -- 1. a target-group swap switches traffic first ---------------------------------------------------
SWAP = """\
stack: tg-swap
resources:
  web:
    kind: compute
    size: {cpus: 2, memory_gb: 4}
    image: ubuntu-22.04
    count: 2
    zones: 2
    ports: [{{ var.port | default(8080) }}]
  web-lb:
    kind: load_balancer
    target: web
    listeners:
      - {port: 80, protocol: http, target_port: {{ var.port | default(8080) }}}
    health_check: {path: /healthz, port: {{ var.port | default(8080) }}}
  assets:
    kind: bucket
outputs:
  url: http://${web-lb.dns_name}
"""


def test_moving_the_backend_port_switches_the_listener_before_the_old_target_group_goes(lepton, sandbox_aws):
    lepton.write("lepton.yaml", SWAP)
    lepton("apply", "--sandbox", "--yes")
    elb = sandbox_aws("elbv2")
    (lb,) = elb.describe_load_balancers(Names=["tg-swap-web-lb"])["LoadBalancers"]
    (old_group,) = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert old_group["Port"] == 8080

    planned = changes_by_address(lepton("plan", "--sandbox", "--var", "port=9090", "--json").json())
    assert planned["web-lb/aws.lb_target_group/9090"]["action"] == "create"
    assert planned["web-lb/aws.lb_target_group/8080"]["action"] == "delete"
    assert planned["web-lb/aws.lb_listener/0"]["action"] == "update"

    applied = lepton("apply", "--sandbox", "--var", "port=9090", "--yes")  # one run, exit 0
    assert "Apply complete: 2 created, 2 updated, 0 replaced, 2 deleted." in applied.stdout
    lines = progress_lines(applied.stderr)
    new_group = position(lines, "web-lb/aws.lb_target_group/9090", "created")
    attached = position(lines, "web-lb/aws.autoscaling_attachment/9090", "created")
    switched = position(lines, "web-lb/aws.lb_listener/0", "updated")
    detach_starts = position(lines, "web-lb/aws.autoscaling_attachment/8080", "deleting")
    detached = position(lines, "web-lb/aws.autoscaling_attachment/8080", "deleted")
    old_delete_starts = position(lines, "web-lb/aws.lb_target_group/8080", "deleting")
    trace = "\n".join(lines)
    assert new_group < attached < detach_starts, trace
    # The listener forwards to the new target group before the old one leaves the group: no
    # moment where the listener sends traffic to a target group without instances.
    assert switched < detach_starts, trace
    assert detached < old_delete_starts and switched < old_delete_starts, trace

    lepton("plan", "--sandbox", "--var", "port=9090", "--detailed-exitcode")

    # (moto does not link a target group to its load balancer on modify_listener, so the target
    # groups are found by name and through the listener, not by load balancer.)
    ours = [g for g in elb.describe_target_groups()["TargetGroups"] if g["TargetGroupName"].startswith("tg-swap-")]
    assert len(ours) == 1, ours  # exactly one: the old one is gone
    (group,) = ours
    assert group["Port"] == 9090 and group["HealthCheckPort"] == "9090" and group["HealthCheckPath"] == "/healthz"
    (asg,) = sandbox_aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=["tg-swap-web"])["AutoScalingGroups"]
    assert asg["TargetGroupARNs"] == [group["TargetGroupArn"]]
    (listener,) = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert listener["Port"] == 80
    (action,) = listener["DefaultActions"]
    assert action["Type"] == "forward" and action["TargetGroupArn"] == group["TargetGroupArn"]
    # The group admits the new port, from the load balancer only; the old port is closed.
    web_sg = sandbox_aws("ec2").describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["tg-swap-web"]}])["SecurityGroups"][0]
    (permission,) = web_sg["IpPermissions"]
    assert (permission["FromPort"], permission["ToPort"]) == (9090, 9090) and permission["IpRanges"] == []
    assert [p["GroupId"] for p in permission["UserIdGroupPairs"]] == lb["SecurityGroups"]


# -- 2. a compute group (and its load balancer) moves to another region ------------------------------
MOVE = """\
stack: region-move
defaults: {cloud: aws, region: eu-west-1}
resources:
  api:
    kind: compute
    size: {cpus: 2, memory_gb: 4}
    image: ubuntu-22.04
    count: 2
    zones: 2
    ports: [8080]
    region: {{ var.region | default('eu-west-1') }}
  api-lb:
    kind: load_balancer
    target: api
    region: {{ var.region | default('eu-west-1') }}
    listeners: [{port: 80, protocol: http, target_port: 8080}]
outputs:
  url: http://${api-lb.dns_name}
"""


def test_moving_a_compute_group_and_its_load_balancer_to_another_region(lepton, sandbox_aws):
    stack = "region-move"
    lepton.write("lepton.yaml", MOVE)
    lepton("apply", "--sandbox", "--yes")
    assert "region-move-api" in [g["AutoScalingGroupName"] for g in sandbox_aws(
        "autoscaling", "eu-west-1").describe_auto_scaling_groups()["AutoScalingGroups"]]

    moving = ("--sandbox", "--var", "region=eu-central-1")
    planned = lepton("plan", *moving, "--json", "--detailed-exitcode", check=2).json()
    changes = changes_by_address(planned)
    for address in ("api/aws.autoscaling_group", "api/aws.launch_template", "api/aws.security_group",
                    "api-lb/aws.lb", "api-lb/aws.lb_target_group/8080", "api-lb/aws.lb_listener/0"):
        change = changes[address]
        assert change["action"] == "replace", change
        assert change["diff"]["region"] == {"before": "eu-west-1", "after": "eu-central-1"}, change
        assert "region" in change["replace_fields"]
    assert changes["network-eu-west-1/aws.vpc"]["action"] == "delete"
    assert changes["network-eu-central-1/aws.vpc"]["action"] == "create"

    applied = lepton("apply", *moving, "--yes")  # one run, exit 0
    counts = planned["summary"]
    assert (f"Apply complete: {counts['create']} created, {counts['update']} updated, "
            f"{counts['replace']} replaced, {counts['delete']} deleted.") in applied.stdout
    # Create before destroy: the group and its load balancer run in the new region before the
    # old ones go.
    lines = progress_lines(applied.stderr)
    for address in ("api/aws.autoscaling_group", "api-lb/aws.lb"):
        assert position(lines, address, "created") < position(lines, address, "deleting"), "\n".join(lines)

    # Nothing of the stack is left in the old region: group, templates, VPC, subnets, SGs...
    assert tagged_with_stack(sandbox_aws, stack, "eu-west-1") == []
    old_ec2 = sandbox_aws("ec2", "eu-west-1")
    assert not [t for t in old_ec2.describe_launch_templates()["LaunchTemplates"]
                if t["LaunchTemplateName"].startswith(f"{stack}-")]
    assert not [g for g in sandbox_aws("autoscaling", "eu-west-1").describe_auto_scaling_groups()["AutoScalingGroups"]
                if g["AutoScalingGroupName"].startswith(f"{stack}-")]
    assert not [lb for lb in sandbox_aws("elbv2", "eu-west-1").describe_load_balancers()["LoadBalancers"]
                if lb["LoadBalancerName"].startswith(f"{stack}-")]

    # ...and the group runs in the new one, behind its load balancer there.
    (group,) = sandbox_aws("autoscaling", "eu-central-1").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{stack}-api"])["AutoScalingGroups"]
    assert group["DesiredCapacity"] == 2 and len(group["Instances"]) == 2
    assert {i["AvailabilityZone"] for i in group["Instances"]} <= {"eu-central-1a", "eu-central-1b"}
    new_ec2 = sandbox_aws("ec2", "eu-central-1")
    (template,) = new_ec2.describe_launch_templates(
        LaunchTemplateIds=[group["LaunchTemplate"]["LaunchTemplateId"]])["LaunchTemplates"]
    assert template["LaunchTemplateName"] == f"{stack}-api"
    subnets = new_ec2.describe_subnets(SubnetIds=group["VPCZoneIdentifier"].split(","))["Subnets"]
    assert {s["AvailabilityZone"] for s in subnets} == {"eu-central-1a", "eu-central-1b"}
    elb = sandbox_aws("elbv2", "eu-central-1")
    (lb,) = elb.describe_load_balancers(Names=[f"{stack}-api-lb"])["LoadBalancers"]
    (target_group,) = elb.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert group["TargetGroupARNs"] == [target_group["TargetGroupArn"]]
    outputs = lepton("output", "--json", "--sandbox").json()
    assert outputs["url"] == f"http://{lb['DNSName']}" and ".eu-central-1." in outputs["url"]

    lepton("plan", *moving, "--detailed-exitcode")


# -- 3. a bucket moves to another region --------------------------------------------------------------
BUCKET = """\
stack: bucket-move
resources:
  data:
    kind: bucket
    versioning: true
    region: {{ var.region | default('us-east-1') }}
outputs:
  bucket: ${data.name}
"""


def test_moving_a_bucket_replaces_it_destroy_first_and_says_why(lepton, sandbox_aws):
    lepton.write("lepton.yaml", BUCKET)
    name = lepton("apply", "--sandbox", "--yes", "--json").json()["outputs"]["bucket"]
    s3 = sandbox_aws("s3")
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") in (None, "us-east-1")

    moving = ("--sandbox", "--var", "region=eu-west-1")
    planned = lepton("plan", *moving, "--json", "--detailed-exitcode", check=2).json()
    (change,) = planned["changes"]
    assert change["address"] == "data/aws.s3_bucket" and change["action"] == "replace"
    assert change["diff"]["region"] == {"before": "us-east-1", "after": "eu-west-1"}
    # A bucket keeps its globally unique name: old and new cannot coexist, so it goes first.
    assert change["order"] == "destroy_before_create", change
    assert change["order_reason"] and name in change["order_reason"], change
    human = lepton("plan", *moving).stdout
    assert "-/+ data/aws.s3_bucket" in human and "destroyed first because" in human

    applied = lepton("apply", *moving, "--yes")
    assert "Apply complete: 0 created, 0 updated, 1 replaced, 0 deleted." in applied.stdout
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    assert sandbox_aws("s3", "eu-west-1").get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert lepton("state", "list", "--sandbox").stdout.split() == ["data/aws.s3_bucket"]
    record = lepton("state", "show", "data/aws.s3_bucket", "--sandbox", "--json").json()
    assert record["region"] == "eu-west-1" and record["id"] == name
    lepton("plan", *moving, "--detailed-exitcode")


# -- 4. the autoscaler owns the desired capacity -----------------------------------------------------
AUTOSCALED = """\
stack: autoscaled
resources:
  workers:
    kind: compute
    size: {cpus: 2, memory_gb: 4}
    image: ubuntu-22.04
    autoscale: {min: 2, max: {{ var.max | default(6) }}, target_cpu: 60}
"""


def test_an_autoscalers_desired_capacity_is_never_planned_or_reset(lepton, sandbox_aws):
    lepton.write("lepton.yaml", AUTOSCALED)
    lepton("apply", "--sandbox", "--yes")
    asg = sandbox_aws("autoscaling")

    def group():
        (found,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=["autoscaled-workers"])["AutoScalingGroups"]
        return found

    assert (group()["MinSize"], group()["MaxSize"], group()["DesiredCapacity"]) == (2, 6, 2)
    asg.set_desired_capacity(AutoScalingGroupName="autoscaled-workers", DesiredCapacity=5)  # the autoscaler scales out

    assert "No changes" in lepton("plan", "--sandbox", "--detailed-exitcode").stdout

    planned = lepton("plan", "--sandbox", "--var", "max=8", "--json", "--detailed-exitcode", check=2).json()
    (change,) = planned["changes"]
    assert change["address"] == "workers/aws.autoscaling_group" and change["action"] == "update"
    assert change["diff"] == {"max_size": {"before": 6, "after": 8}}
    lepton("apply", "--sandbox", "--var", "max=8", "--yes")
    after = group()
    assert (after["MinSize"], after["MaxSize"]) == (2, 8)
    assert after["DesiredCapacity"] == 5, "raising max must not scale the autoscaler's group back in"
    lepton("plan", "--sandbox", "--var", "max=8", "--detailed-exitcode")


# -- 5. destroy --target takes the dependents, never the dependencies --------------------------------
def test_destroy_target_removes_the_group_and_what_targets_it_and_keeps_the_rest(lepton, sandbox_aws):
    example = (lepton.copy_example("web-stack.yaml")).read_text()
    stack = "web-target"  # the example under its own stack name: other tests use `web-stack`
    lepton.write("web-stack.yaml", example.replace("stack: web-stack\n", f"stack: {stack}\n"))
    outputs = lepton("apply", "-f", "web-stack.yaml", "--sandbox", "--yes", "--json").json()["outputs"]
    before = set(lepton("state", "list", "-f", "web-stack.yaml", "--sandbox").stdout.split())

    destroyed = lepton("destroy", "-f", "web-stack.yaml", "--sandbox", "--yes", "--target", "web", "--json").json()
    assert destroyed["ok"] is True
    gone = {c["address"] for c in destroyed["changes"]}
    assert {c["action"] for c in destroyed["changes"]} == {"delete"}
    assert {a.split("/", 1)[0] for a in gone} == {"web", "web-lb"}

    remaining = set(lepton("state", "list", "-f", "web-stack.yaml", "--sandbox").stdout.split())
    assert remaining == before - gone
    assert {a.split("/", 1)[0] for a in remaining} == {"assets", "assets-cdn", "network-us-east-1"}

    assert not sandbox_aws("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{stack}-web"])["AutoScalingGroups"]
    assert not [lb for lb in sandbox_aws("elbv2").describe_load_balancers()["LoadBalancers"]
                if lb["LoadBalancerName"].startswith(f"{stack}-")]
    assert not [t for t in sandbox_aws("ec2").describe_launch_templates()["LaunchTemplates"]
                if t["LaunchTemplateName"].startswith(f"{stack}-")]
    # The bucket, the CDN in front of it and the network stay.
    s3 = sandbox_aws("s3")
    assert s3.head_bucket(Bucket=outputs["bucket"])["ResponseMetadata"]["HTTPStatusCode"] == 200
    (distribution,) = [d for d in sandbox_aws("cloudfront").list_distributions()["DistributionList"].get("Items", [])
                       if d["DomainName"] == outputs["cdn"]]
    assert distribution["Enabled"]
    assert sandbox_aws("ec2").describe_vpcs(Filters=[{"Name": "tag:lepton-stack", "Values": [stack]}])["Vpcs"]


# -- 6. a saved destroy never purges what was written after planning ---------------------------------
def test_a_stale_saved_destroy_refuses_a_bucket_written_to_after_planning(lepton, sandbox_aws):
    lepton.write("lepton.yaml", "stack: stale-purge\nresources:\n  data:\n    kind: bucket\n"
                                "outputs:\n  bucket: ${data.name}\n")
    name = lepton("apply", "--sandbox", "--yes", "--json").json()["outputs"]["bucket"]
    saved = lepton("plan", "--destroy", "--sandbox", "-o", "changes.json")  # the bucket is empty now
    assert "lepton apply changes.json" in saved.stdout

    s3 = sandbox_aws("s3")
    s3.put_object(Bucket=name, Key="late.txt", Body=b"written after planning")

    refused = lepton("apply", "changes.json", check=1)
    assert "Traceback" not in refused.stderr
    assert name in refused.stderr and "force_destroy is false" in refused.stderr
    assert "still holds 1 object" in refused.stderr
    assert s3.get_object(Bucket=name, Key="late.txt")["Body"].read() == b"written after planning"
    assert lepton("state", "list", "--sandbox").stdout.split() == ["data/aws.s3_bucket"]
