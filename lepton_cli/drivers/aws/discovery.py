"""Driver-level discovery (DESIGN §6): what one refresh finds of a stack in a region with a few
batched calls, shared by every primitive type's `list`, so no type repeats them.

- One paginated Resource Groups Tagging API `GetResources` filtered by the stack's tag and by
  no resource type: every tagged object the stack owns, recorded in state or not (destroy must
  find what a crashed run never recorded).
- The stack's autoscaling groups, which the tagging API does not cover: one filtered,
  paginated `DescribeAutoScalingGroups`, made the first time a type asks, and only where the
  stack has a network (`networked`).
- Which of the stack's buckets are in this region: S3 names are global and the tagging API may
  answer for buckets of every region (moto does), so one `ListBuckets` limited to the region
  decides, made the first time a type asks; never a `GetBucketLocation` per bucket.

CloudFront is global: its objects are found by the tagging API in us-east-1, so the "global"
region shares us-east-1's discovery.

A type's `list` costs nothing where the stack has nothing of its kind. The tagging API reports
the network's EC2 kinds (`NETWORK_KINDS`; moto too: moto/ec2/models/__init__.py,
`iter_tagged_resources`), but neither autoscaling groups nor (in moto) launch templates. Those
live only inside the stack's network (a group in its subnets, a template naming its security
group), which lepton creates before them and deletes after them: where the tagging API finds
no network object of the stack, there are no groups or templates to describe either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lepton_cli.drivers.aws.errors import translate
from lepton_cli.drivers.aws.tags import owned_address
from lepton_cli.drivers.base import TAG_STACK

if TYPE_CHECKING:
    from lepton_cli.drivers.aws.driver import AwsDriver

GLOBAL = "global"  # the region of CloudFront's primitives
API_REGION = "us-east-1"  # where global APIs (CloudFront, its tags) are called
TAGGING_PAGE = 100  # GetResources' largest ResourcesPerPage
TAGS_PAGE = 500  # ... and TagsPerPage (an emulator may cut pages by tag count)
GROUPS_PAGE = 100  # DescribeAutoScalingGroups' largest MaxRecords
NETWORK_KINDS = ("ec2:vpc", "ec2:subnet", "ec2:internet-gateway", "ec2:route-table", "ec2:security-group")

T = TypeVar("T")


class _Once(Generic[T]):
    """A value computed on first use, once, however many threads ask at the same time."""

    def __init__(self, compute: Callable[[], T]):
        self._compute = compute
        self._lock = threading.Lock()
        self._value: tuple[T] | None = None

    def __call__(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = (self._compute(),)
            return self._value[0]


def arn_kind(arn: str) -> str:
    """`service:type` of an ARN, spelt as the tagging API's resource types are:
    `elasticloadbalancing:loadbalancer`, `cloudfront:distribution`, `ec2:vpc`, `s3:bucket`."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return ""
    service, resource = parts[2], parts[5]
    if service == "s3" and "/" not in resource:
        return "s3:bucket"
    for sep in ("/", ":"):
        resource = resource.split(sep, 1)[0]
    return f"{service}:{resource}"


class AwsDiscovery:
    """The stack's objects in one region: tagged ARNs by kind (eager: one call), and the
    autoscaling groups and the region's buckets (each one call, on first use)."""

    def __init__(self, region: str, tagged: dict[str, dict[str, str]],
                 groups: Callable[[], list[tuple[str, dict[str, Any]]]],
                 buckets: Callable[[], dict[str, str]]):
        self.region = region
        self.tagged = tagged
        # [(address, group)] of the stack's autoscaling groups: none outside its network.
        self.groups = _Once(lambda: groups() if self.networked() else [])
        self.buckets = _Once(buckets)  # bucket name -> address, for the buckets in this region

    def arns(self, kind: str) -> dict[str, str]:
        """ARN -> address of the stack's tagged objects of `kind` (see `arn_kind`)."""
        return self.tagged.get(kind, {})

    def networked(self) -> bool:
        """Whether the stack has any network object here: else it has no groups or templates."""
        return any(self.tagged.get(kind) for kind in NETWORK_KINDS)


def discover(driver: "AwsDriver", region: str) -> AwsDiscovery:
    if region == GLOBAL:
        return driver.discovery(API_REGION)
    stack = driver.config.stack
    tagged: dict[str, dict[str, str]] = {}
    tagging = driver.client("resourcegroupstaggingapi", region)
    with translate(f"finding the stack's objects in {region}"):
        for page in tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": TAG_STACK, "Values": [stack]}], TagsPerPage=TAGS_PAGE,
                PaginationConfig={"PageSize": TAGGING_PAGE}):
            for mapping in page.get("ResourceTagMappingList", []):
                address = owned_address(mapping.get("Tags"), stack)
                if address:
                    tagged.setdefault(arn_kind(mapping["ResourceARN"]), {})[mapping["ResourceARN"]] = address
    return AwsDiscovery(region, tagged, lambda: _groups(driver, region),
                        lambda: _buckets(driver, region, tagged.get("s3:bucket", {})))


def _groups(driver: "AwsDriver", region: str) -> list[tuple[str, dict[str, Any]]]:
    stack = driver.config.stack
    paginator = driver.client("autoscaling", region).get_paginator("describe_auto_scaling_groups")
    out = []
    with translate(f"listing the stack's autoscaling groups in {region}"):
        for page in paginator.paginate(Filters=[{"Name": f"tag:{TAG_STACK}", "Values": [stack]}],
                                       PaginationConfig={"PageSize": GROUPS_PAGE}):
            for group in page.get("AutoScalingGroups", []):
                address = owned_address(group.get("Tags"), stack)
                if address:
                    out.append((address, group))
    return out


def _buckets(driver: "AwsDriver", region: str, tagged: dict[str, str]) -> dict[str, str]:
    if not tagged:
        return {}
    by_name = {arn.rsplit(":", 1)[-1]: address for arn, address in tagged.items()}
    here = {}
    with translate(f"listing the buckets in {region}"):
        for page in driver.client("s3", region).get_paginator("list_buckets").paginate(BucketRegion=region):
            for bucket in page.get("Buckets", []):
                if bucket["Name"] in by_name and bucket.get("BucketRegion", region) == region:
                    here[bucket["Name"]] = by_name[bucket["Name"]]
    return here
