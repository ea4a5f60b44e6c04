"""load_balancer and cdn on AWS, against moto: create, update in place, re-attach, delete."""

from __future__ import annotations

STACK = """\
resources:
  web:
    kind: compute
    instance_type: t3.micro
    count: 1
    ports: [8080, 9000]
  api:
    kind: compute
    instance_type: t3.micro
    count: 1
    ports: [8080, 9000]
  lb:
    kind: load_balancer
    target: {target}
    listeners: [{{port: 80, protocol: {protocol}, target_port: 8080}}]
    health_check: {{path: {path}}}
  assets:
    kind: bucket
  cdn:
    kind: cdn
    origin: {origin}
    default_ttl: {ttl}
    https_only: {https}
"""


def stack(target="web", protocol="http", path="/healthz", origin="assets", ttl=3600, https="true"):
    return STACK.format(target=target, protocol=protocol, path=path, origin=origin, ttl=ttl, https=https)


def balancer(aws):
    return aws.client("elbv2").describe_load_balancers(Names=[f"{aws.stack}-lb"])["LoadBalancers"][0]


def target_group(aws, port=8080):
    return aws.client("elbv2").describe_target_groups(Names=[f"{aws.stack}-lb-{port}"])["TargetGroups"][0]


def attached(aws, group: str) -> list[str]:
    return aws.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{aws.stack}-{group}"])["AutoScalingGroups"][0]["TargetGroupARNs"]


def test_health_check_path_changes_in_place_and_target_change_reattaches(aws):
    aws.converge(stack())
    arn = target_group(aws)["TargetGroupArn"]
    assert attached(aws, "web") == [arn] and attached(aws, "api") == []

    plan = aws.plan(stack(path="/ready"))
    (change,) = plan.actionable
    assert (change.address, change.action.value) == ("lb/aws.lb_target_group/8080", "update")
    assert aws.apply(plan).ok
    tg = target_group(aws)
    assert tg["TargetGroupArn"] == arn and tg["HealthCheckPath"] == "/ready"

    plan = aws.plan(stack(target="api", path="/ready"))
    changes = {c.address: c.action.value for c in plan.actionable}
    assert changes["lb/aws.autoscaling_attachment/8080"] == "replace"
    assert aws.apply(plan).ok
    assert attached(aws, "web") == [] and attached(aws, "api") == [arn]
    assert not aws.plan(stack(target="api", path="/ready")).has_changes
    aws.destroy(stack(target="api", path="/ready"))


def test_tcp_listeners_make_a_network_load_balancer(aws):
    body = stack(protocol="tcp")
    aws.converge(body)
    assert balancer(aws)["Type"] == "network"
    tg = target_group(aws)
    assert tg["Protocol"] == "TCP" and tg["HealthCheckProtocol"] == "TCP"
    aws.destroy(body)


def test_cdn_updates_go_through_etags_and_a_load_balancer_can_be_the_origin(aws):
    aws.converge(stack())
    cloudfront = aws.client("cloudfront")
    distribution_id = aws.store.read().primitives["cdn/aws.cloudfront_distribution"].id

    plan = aws.plan(stack(ttl=60, https="false"))
    (change,) = plan.actionable
    assert change.action.value == "update" and set(change.diff) == {"default_ttl", "https_only"}
    assert aws.apply(plan).ok
    found = cloudfront.get_distribution_config(Id=distribution_id)
    behaviour = found["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["DefaultTTL"] == 60 and behaviour["ViewerProtocolPolicy"] == "allow-all"

    plan = aws.plan(stack(origin="lb"))
    assert aws.apply(plan).ok
    config = cloudfront.get_distribution_config(Id=distribution_id)["DistributionConfig"]
    assert config["Origins"]["Items"][0]["DomainName"] == balancer(aws)["DNSName"]
    assert "cdn/aws.s3_bucket_policy" not in aws.store.read().primitives
    assert not aws.plan(stack(origin="lb")).has_changes
    aws.destroy(stack(origin="lb"))
    assert distribution_id not in [d["Id"] for d in cloudfront.list_distributions()["DistributionList"].get("Items", [])]
