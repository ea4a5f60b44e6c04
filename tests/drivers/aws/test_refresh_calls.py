"""Refresh makes batched list calls: the number of calls does not grow with the number of
objects where AWS can describe in batches; where it cannot (S3 settings, listeners), the calls
per object are a small constant and run concurrently. The driver's discovery (the tagging API,
the autoscaling describe, the bucket list) runs once per region, whatever the types asking.

Calls are counted with botocore's `before-call` event, never timed."""

from __future__ import annotations

import collections


def groups(n: int) -> str:
    return "resources:\n" + "".join(
        f"  g{i}:\n    kind: compute\n    instance_type: t3.micro\n    count: 0\n    ports: [80]\n"
        f"    autoscale: null\n" for i in range(n))


def buckets(n: int) -> str:
    return "resources:\n" + "".join(f"  b{i}:\n    kind: bucket\n" for i in range(n))


def balancers(n: int) -> str:
    body = "resources:\n"
    for i in range(n):
        body += (f"  g{i}:\n    kind: compute\n    instance_type: t3.micro\n    count: 0\n    ports: [80]\n"
                 f"  lb{i}:\n    kind: load_balancer\n    target: g{i}\n    listeners: [{{port: 80}}]\n"
                 f"  b{i}:\n    kind: bucket\n  cdn{i}:\n    kind: cdn\n    origin: b{i}\n")
    return body


def test_compute_refresh_calls_do_not_grow_with_the_number_of_groups(aws):
    aws.converge(groups(1))
    one = aws.refresh_calls(groups(1))
    # 17 groups: more than a default-sized page of launch templates (15), which an emulator
    # truncates without a continuation token; converge asserts every group is found again.
    aws.converge(groups(17))
    many = aws.refresh_calls(groups(17))
    assert one == many
    # Discovery's tagging API and autoscaling describe (shared by the group, its policy and
    # attachments), a filtered describe per EC2 type, two for launch templates (the templates,
    # then their default versions): 7 types, 10 calls.
    assert many["GetResources"] == many["DescribeAutoScalingGroups"] == 1
    assert sum(many.values()) <= 2 + 7 + 1, many
    aws.destroy(groups(17))


def test_s3_discovery_is_batched_and_per_bucket_reads_are_constant_and_concurrent(aws):
    aws.converge(buckets(1))
    one = aws.refresh_calls(buckets(1))
    aws.converge(buckets(4))
    four = aws.refresh_calls(buckets(4))
    # The region of the buckets comes from one bucket list, never a GetBucketLocation each.
    assert four["GetResources"] == one["GetResources"] == four["ListBuckets"] == one["ListBuckets"] == 1
    per_bucket = ["GetBucketVersioning", "GetBucketEncryption", "GetPublicAccessBlock",
                  "GetBucketLifecycleConfiguration"]
    for operation in per_bucket:
        assert (one[operation], four[operation]) == (1, 4)
    assert sum(four.values()) == 2 + 4 * 4, four
    assert max(aws.counter.max_in_flight.values()) > 1  # the reads overlapped
    aws.destroy(buckets(4))


def test_load_balancer_and_cdn_refresh_batches_and_per_object_reads_are_constant(aws):
    aws.converge(balancers(1))
    one = aws.refresh_calls(balancers(1))
    aws.converge(balancers(3))
    three = aws.refresh_calls(balancers(3))
    grows = {op for op in three if three[op] != one[op]}
    # Listeners are read per load balancer; bucket settings and policies per bucket; an
    # emulator's thin distribution summaries per distribution: all a constant per object.
    assert grows <= {"DescribeListeners", "GetBucketVersioning", "GetBucketEncryption",
                     "GetPublicAccessBlock", "GetBucketLifecycleConfiguration", "GetBucketPolicy",
                     "GetDistributionConfig"}, grows
    for op in grows:
        assert three[op] == 3 * one[op], (op, one[op], three[op])
    for op in ("DescribeLoadBalancers", "DescribeTargetGroups", "DescribeAutoScalingGroups", "ListDistributions",
               "DescribeTags", "ListBuckets"):
        assert three[op] == one[op], op
    # Seven types ask discovery (load balancer, target group, listener, attachment, group,
    # bucket, bucket policy) and CloudFront's shares us-east-1's: one look for them all.
    assert three["GetResources"] == three["DescribeAutoScalingGroups"] == three["ListBuckets"] == 1
    assert "GetBucketLocation" not in three
    aws.destroy(balancers(3))


def test_a_no_op_plan_of_20_groups_and_20_buckets_stays_within_its_call_budget(aws):
    """At most 5 + 4 per bucket + 1 per primitive type used + 1 per VPC: the whole plan with a
    fresh driver, expansion's lookups (account, zones, image) included. The VPC's share is
    DescribeVpcAttribute, which EC2 answers for one VPC and one attribute at a time; it reads
    back enable_dns_hostnames, which a create killed before ModifyVpcAttribute leaves off."""
    body = groups(20) + buckets(20).removeprefix("resources:\n")
    aws.converge(body)
    aws.counter.reset()
    plan = aws.plan(body)
    calls = collections.Counter(aws.counter.calls)
    assert not plan.has_changes
    types = {c.type for c in plan.changes}
    assert len(types) == 8, types  # vpc, subnet, gateway, route table, security group, template, group, bucket
    assert calls["DescribeVpcAttribute"] == 1  # one VPC in the stack's one region
    assert sum(calls.values()) <= 5 + 4 * 20 + len(types) + 1, calls
    assert calls["GetResources"] == calls["DescribeAutoScalingGroups"] == calls["ListBuckets"] == 1
    aws.destroy(body)


def test_listing_every_type_where_the_stack_has_nothing_costs_only_discovery(aws):
    """The engine lists every type the driver implements in every region the plan or state
    names: where the stack has nothing, that is the one tagging API call per region, whatever
    the number of types. CloudFront's types list only in their pseudo-region "global"."""
    driver = aws.driver()

    def list_everything(regions: set[str]) -> collections.Counter:
        driver.begin_refresh()
        aws.counter.reset()
        for cls in driver.primitive_type_classes():
            ptype = driver.primitive_type(cls.type_name)
            for region in ptype.regions(regions):
                assert ptype.list(region) == [], (cls.type_name, region)
        return collections.Counter(aws.counter.calls)

    for region in ("us-east-1", "eu-west-1"):
        assert list_everything({region}) == collections.Counter({"GetResources": 1}), region
    # Origin access controls carry no tags (lepton's marker is in their description): only a
    # stack with CloudFront objects in its plan or state looks in "global", at one more call.
    assert list_everything({"eu-west-1", "global"}) == collections.Counter(
        {"GetResources": 2, "ListOriginAccessControls": 1})
