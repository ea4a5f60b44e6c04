"""The AWS driver's discovery and declarations: discovery runs once per region however many
types ask, objects are reported in their real region, the declared property and output keys
are exactly what expansion and refresh carry, and a fresh object costs only the calls it needs.
Calls are counted with botocore's `before-call` event."""

from __future__ import annotations

import collections

import pytest

from lepton_cli.drivers.aws.discovery import arn_kind
from lepton_cli.engine.expand import expand_stack
from lepton_cli.engine.refresh import refresh
from lepton_cli.errors import LeptonError
from lepton_cli.spec.loader import load_plan_text

EVERYTHING = """\
resources:
  web:
    kind: compute
    instance_type: t3.micro
    ports: [80]
    autoscale: {min: 0, max: 2, target_cpu: 60}
  lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80}]
  assets:
    kind: bucket
  cdn:
    kind: cdn
    origin: assets
"""


def two_regions() -> str:
    return ("resources:\n"
            "  east:\n    kind: bucket\n"
            "  west:\n    kind: bucket\n    region: eu-west-1\n"
            "  g:\n    kind: compute\n    instance_type: t3.micro\n    count: 0\n    region: eu-west-1\n")


def bucket_in(region: str) -> str:
    return f"resources:\n  data:\n    kind: bucket\n    region: {region}\n"


def test_arn_kinds_are_spelt_as_the_tagging_api_spells_resource_types():
    assert arn_kind("arn:aws:s3:::my-bucket") == "s3:bucket"
    assert arn_kind("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1") == \
        "elasticloadbalancing:loadbalancer"
    assert arn_kind("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1") == "elasticloadbalancing:targetgroup"
    assert arn_kind("arn:aws:cloudfront::1:distribution/E1") == "cloudfront:distribution"
    assert arn_kind("arn:aws:ec2:us-east-1:1:vpc/vpc-1") == "ec2:vpc"


def test_declared_keys_are_exactly_what_expansion_and_refresh_carry(aws):
    drivers = {"aws": aws.driver()}
    desired = expand_stack(load_plan_text(aws.text(EVERYTHING)).stack, drivers)
    for primitive in desired:
        declared = drivers["aws"].primitive_type(primitive.type).property_keys
        assert set(primitive.properties) == declared, primitive.type
    aws.converge(EVERYTHING)
    actual = refresh(drivers, desired, aws.store.read())
    assert {p.address for p in desired} <= set(actual.observed)
    for observed in actual.observed.values():
        declared = drivers["aws"].primitive_type(observed.type).output_keys
        assert set(observed.outputs) == declared, observed.type
    aws.destroy(EVERYTHING)


def test_discovery_runs_once_per_region_and_objects_carry_their_real_region(aws):
    aws.converge(two_regions())
    calls = aws.refresh_calls(two_regions())
    assert calls["GetResources"] == 2  # us-east-1 and eu-west-1
    assert calls["DescribeAutoScalingGroups"] == 1  # only eu-west-1 has groups: asked there only
    assert calls["ListBuckets"] == 2 and "GetBucketLocation" not in calls
    state = aws.store.read()
    assert state.primitives["east/aws.s3_bucket"].region == "us-east-1"
    assert state.primitives["west/aws.s3_bucket"].region == "eu-west-1"
    aws.destroy(two_regions())


def test_a_bucket_moved_to_another_region_is_reported_where_it_really_is(aws):
    aws.converge(bucket_in("us-east-1"))
    drivers = {"aws": aws.driver()}
    moved = expand_stack(load_plan_text(aws.text(bucket_in("eu-west-1"))).stack, drivers)
    actual = refresh(drivers, moved, aws.store.read())  # lists us-east-1 (state) and eu-west-1 (plan)
    assert actual.observed["data/aws.s3_bucket"].region == "us-east-1"
    assert not actual.deposed
    aws.destroy(bucket_in("us-east-1"))


def test_a_fresh_bucket_costs_only_the_calls_a_new_bucket_needs(aws):
    body = "resources:\n  data:\n    kind: bucket\n"
    plan = aws.plan(body)
    aws.counter.reset()
    assert aws.apply(plan).ok
    calls = collections.Counter(aws.counter.calls)
    # Look (us-east-1 answers 200 to a create of a bucket one owns), create, tag, block public
    # access, encrypt; a new bucket has no versioning, lifecycle or policy to undo.
    assert calls == collections.Counter(["HeadBucket", "CreateBucket", "PutBucketTagging", "PutPublicAccessBlock",
                                         "PutBucketEncryption"]), calls
    assert not aws.plan(body).has_changes
    aws.destroy(body)


def test_fresh_network_and_compute_objects_are_created_without_looking_first(aws):
    body = "resources:\n  web:\n    kind: compute\n    instance_type: t3.micro\n    count: 0\n    ports: [80]\n"
    plan = aws.plan(body)
    aws.counter.reset()
    assert aws.apply(plan).ok
    calls = collections.Counter(aws.counter.calls)
    # Names unique in their scope (security groups, subnets, launch templates) are created
    # first: only a conflict costs a look.
    assert "DescribeSecurityGroups" not in calls and "DescribeSubnets" not in calls, calls
    assert calls["CreateSecurityGroup"] == calls["CreateLaunchTemplate"] == 1
    aws.destroy(body)


def _bucket_primitive(aws, region: str):
    drivers = {"aws": aws.driver()}
    (primitive,) = expand_stack(load_plan_text(aws.text(bucket_in(region))).stack, drivers)
    return drivers["aws"].primitive_type("aws.s3_bucket"), primitive


def test_a_retried_bucket_create_outside_us_east_1_adopts_its_bucket(aws):
    aws.converge(bucket_in("eu-west-1"))
    ptype, primitive = _bucket_primitive(aws, "eu-west-1")
    again = ptype.create(primitive, dict(primitive.properties))  # CreateBucket says: already yours
    assert (again.id, again.region) == (aws.store.read().primitives["data/aws.s3_bucket"].id, "eu-west-1")
    aws.destroy(bucket_in("eu-west-1"))


def test_a_bucket_of_this_address_in_another_region_is_not_adopted(aws):
    aws.converge(bucket_in("us-east-1"))
    ptype, primitive = _bucket_primitive(aws, "eu-west-1")
    with pytest.raises(LeptonError, match="already exists in us-east-1"):
        ptype.create(primitive, dict(primitive.properties))
    aws.destroy(bucket_in("us-east-1"))
