"""The floor a no-op plan is measured against: a hand-written boto3 script that reads what
lepton's refresh reads of the benchmark's stack, with the same concurrency, and does nothing
else (no expansion, no diff, no state, no plan).

What it reads, as any careful script would: one paginated tagging API call (the stack's tagged
objects), one bucket list limited to the region (which of those buckets are here: the tagging
API may answer for every region's buckets), one filtered autoscaling describe, one filtered
describe per EC2 object type (two for launch templates: the templates, then their default
versions), and the four settings S3 reads only bucket by bucket; with load balancers, the
batched ELB describes and the listeners of each; with CDNs, the distributions, the origin
access controls and each bucket's policy. Lists run side by side (lepton's refresh runs
`parallelism` lists at once), the per-bucket reads on 16 threads (lepton's S3 read pool).

Used by bench_plan_apply.py; alone:

    python bench/boto3_floor.py --endpoint http://127.0.0.1:PORT --stack bench [--lbs] [--cdns]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

TAG = "lepton-stack"
BUCKET_READS = ("get_bucket_versioning", "get_bucket_encryption", "get_public_access_block",
                "get_bucket_lifecycle_configuration")
BUCKET_THREADS = 16


def _all(client, operation: str, key: str, page_size: int | None = None, **kwargs) -> list:
    config = {"PageSize": page_size} if page_size else {}
    return [item for page in client.get_paginator(operation).paginate(PaginationConfig=config, **kwargs)
            for item in page.get(key, [])]


def _quiet(call, **kwargs):
    """An S3 read whose "not configured" answer is an error code, as boto3 raises it."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError:
        return None


class Floor:
    """Clients made up front (lepton's driver caches its clients the same way)."""

    def __init__(self, session, endpoint: str | None, stack: str, region: str = "us-east-1",
                 parallelism: int = 10):
        from botocore.config import Config

        config = Config(retries={"mode": "standard"}, max_pool_connections=32,
                        s3={"addressing_style": "path"} if endpoint else {})
        self.c = {name: session.client(name, region_name=region, endpoint_url=endpoint, config=config)
                  for name in ("resourcegroupstaggingapi", "s3", "ec2", "autoscaling", "elbv2", "cloudfront")}
        self.stack, self.region, self.parallelism = stack, region, parallelism

    def read(self, lbs: bool = False, cdns: bool = False) -> dict:
        """Everything, once; returns how many objects of each kind it saw."""
        ec2, stack_filter = self.c["ec2"], [{"Name": f"tag:{TAG}", "Values": [self.stack]}]
        lists = {
            "tagged": self._tagged_and_after,
            "autoscaling_groups": lambda: _all(self.c["autoscaling"], "describe_auto_scaling_groups",
                                               "AutoScalingGroups", 100, Filters=stack_filter),
            "launch_templates": lambda: (_all(ec2, "describe_launch_templates", "LaunchTemplates", 200,
                                              Filters=stack_filter),
                                         _all(ec2, "describe_launch_template_versions", "LaunchTemplateVersions",
                                              200, Versions=["$Default"]))[0],
        }
        for operation, key in (("describe_vpcs", "Vpcs"), ("describe_subnets", "Subnets"),
                               ("describe_internet_gateways", "InternetGateways"),
                               ("describe_route_tables", "RouteTables"),
                               ("describe_security_groups", "SecurityGroups")):
            lists[key] = lambda operation=operation, key=key: _all(ec2, operation, key, Filters=stack_filter)
        self.lbs, self.cdns = lbs, cdns
        if cdns:
            lists["origin_access_controls"] = lambda: self.c["cloudfront"].list_origin_access_controls()
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            futures = {name: pool.submit(fn) for name, fn in lists.items()}
            found = {name: future.result() for name, future in futures.items()}
        tagged = found.pop("tagged")
        return {**tagged, **{name: len(value) for name, value in found.items() if isinstance(value, list)}}

    def _tagged_and_after(self) -> dict:
        """The tagging API, then what needs its ARNs: bucket region and settings, ELB describes."""
        arns: dict[str, list[str]] = {}
        for mapping in _all(self.c["resourcegroupstaggingapi"], "get_resources", "ResourceTagMappingList", 100,
                            TagFilters=[{"Key": TAG, "Values": [self.stack]}], TagsPerPage=500):
            arn = mapping["ResourceARN"]
            kind = "bucket" if arn.startswith("arn:aws:s3:::") else arn.split(":", 5)[5].split("/", 1)[0]
            arns.setdefault(kind, []).append(arn)
        seen = {"buckets": 0, "load_balancers": len(arns.get("loadbalancer", []))}
        tagged = {arn.rsplit(":", 1)[-1] for arn in arns.get("bucket", [])}
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            side = []
            if self.lbs:
                side.append(pool.submit(self._balancers, arns))
            if self.cdns:
                side.append(pool.submit(_all, self.c["cloudfront"], "list_distributions", "DistributionList"))
            if tagged:
                here = [b["Name"] for b in _all(self.c["s3"], "list_buckets", "Buckets", BucketRegion=self.region)
                        if b["Name"] in tagged]
                seen["buckets"] = len(here)
                self._buckets(here)
            for future in side:
                future.result()
        return seen

    def _buckets(self, names: list[str]) -> None:
        s3 = self.c["s3"]
        reads = [(getattr(s3, op), name) for name in names for op in BUCKET_READS]
        if self.cdns:
            reads += [(s3.get_bucket_policy, name) for name in names]
        if reads:
            with ThreadPoolExecutor(max_workers=min(BUCKET_THREADS, len(reads))) as pool:
                list(pool.map(lambda read: _quiet(read[0], Bucket=read[1]), reads))

    def _balancers(self, arns: dict[str, list[str]]) -> None:
        elb = self.c["elbv2"]
        balancers = arns.get("loadbalancer", [])
        for kind, call, key in (("loadbalancer", elb.describe_load_balancers, "LoadBalancerArns"),
                                ("targetgroup", elb.describe_target_groups, "TargetGroupArns")):
            for i in range(0, len(arns.get(kind, [])), 20):
                call(**{key: arns[kind][i:i + 20]})
        if balancers:
            with ThreadPoolExecutor(max_workers=min(16, len(balancers))) as pool:
                listeners = [l["ListenerArn"] for found in pool.map(
                    lambda arn: _all(elb, "describe_listeners", "Listeners", LoadBalancerArn=arn), balancers)
                    for l in found]
            for i in range(0, len(listeners), 20):
                elb.describe_tags(ResourceArns=listeners[i:i + 20])


def timed_read(floor: Floor, lbs: bool, cdns: bool) -> tuple[float, dict]:
    started = time.perf_counter()
    seen = floor.read(lbs=lbs, cdns=cdns)
    return time.perf_counter() - started, seen


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="the sandbox's AWS endpoint (default: the real AWS)")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--lbs", action="store_true")
    parser.add_argument("--cdns", action="store_true")
    args = parser.parse_args()
    session = boto3.session.Session(aws_access_key_id="lepton-sandbox", aws_secret_access_key="lepton-sandbox") \
        if args.endpoint else boto3.session.Session()
    seconds, seen = timed_read(Floor(session, args.endpoint, args.stack, args.region), args.lbs, args.cdns)
    print(json.dumps({"seconds": round(seconds, 3), "seen": seen}, indent=2))


if __name__ == "__main__":
    main()
