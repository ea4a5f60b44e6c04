"""The AWS driver: boto3 clients (real account or the sandbox's moto server) and the dispatch
of each abstract kind to the module that expands it.

Each kind module (`compute`, `bucket`, `load_balancer`, `cdn`) exposes:
- `TYPES`: the PrimitiveType classes it implements;
- `expand(driver, stack, name, region, ctx) -> list[Primitive]`;
- `ATTRIBUTES`: abstract attribute -> (address suffix after "<name>/", output key).
`network` exposes `TYPES` and `expand_network(driver, stack, region, zones)`; `firewall` exposes
`TYPES` (security groups, shared by compute and load balancers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import cached_property
from types import ModuleType
from typing import Any

from lepton_cli.drivers.aws import bucket, cdn, compute, firewall, load_balancer, network
from lepton_cli.drivers.aws.regions import REGIONS
from lepton_cli.drivers.base import Driver, DriverConfig, ExpandContext, Primitive, PrimitiveType, Ref
from lepton_cli.spec.models import Stack

KIND_MODULES: dict[str, ModuleType] = {
    "compute": compute,
    "bucket": bucket,
    "load_balancer": load_balancer,
    "cdn": cdn,
}

# Any keys will do for moto; real credentials never reach the sandbox.
SANDBOX_CREDENTIALS = {"aws_access_key_id": "lepton-sandbox", "aws_secret_access_key": "lepton-sandbox"}


class AwsDriver(Driver):
    cloud = "aws"
    sandbox_services = {"aws": "aws"}  # every AWS API is served by the sandbox's moto server
    regions = REGIONS  # region -> availability zones (shipped data, checked by `lepton validate`)

    def __init__(self, config: DriverConfig):
        super().__init__(config)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._zones: dict[str, list[str]] = {}

    # -- sessions ---------------------------------------------------------------------------
    @cached_property
    def session(self):
        import boto3

        if self.config.sandbox:
            return boto3.session.Session(**SANDBOX_CREDENTIALS)
        return boto3.session.Session()

    def client(self, service: str, region: str, retries: bool = True):
        """A cached, thread-safe boto3 client (clients are thread-safe; creating them is not).

        `retries=False`: a second client with botocore's retries off, for the create calls
        lepton retries itself (`AwsType.create_call`): botocore would blindly resend a create
        whose answer was lost after the work was done, and make a second object."""
        key = (service, region, retries)
        with self._lock:
            if key not in self._clients:
                from botocore.config import Config

                options: dict[str, Any] = {
                    "region_name": region,
                    "config": Config(
                        retries={"mode": "standard", "max_attempts": 8} if retries else
                        {"mode": "standard", "total_max_attempts": 1},
                        max_pool_connections=32,
                        s3={"addressing_style": "path"} if self.config.sandbox else {},
                    ),
                }
                if self.config.sandbox:
                    options["endpoint_url"] = self.config.endpoint("aws")
                self._clients[key] = self.session.client(service, **options)
            return self._clients[key]

    @cached_property
    def images(self):
        from lepton_cli.drivers.aws.images import ImageResolver

        return ImageResolver(self)

    @cached_property
    def account_id(self) -> str:
        """The account, for globally unique names (S3 buckets); one STS call, cached."""
        if self.config.account_id:
            return self.config.account_id
        from lepton_cli.drivers.aws.errors import translate

        with translate("reading the AWS account"):
            return self.client("sts", "us-east-1").get_caller_identity()["Account"]

    def availability_zones(self, region: str) -> list[str]:
        """The region's available zone names, sorted; one call per region, cached."""
        with self._lock:
            cached = self._zones.get(region)
        if cached is None:
            from lepton_cli.drivers.aws.errors import translate

            with translate(f"listing the availability zones of {region}"):
                zones = self.client("ec2", region).describe_availability_zones(
                    Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
            cached = sorted(z["ZoneName"] for z in zones if z.get("ZoneType", "availability-zone") == "availability-zone")
            with self._lock:
                self._zones[region] = cached
        return cached

    # -- Driver interface ---------------------------------------------------------------------
    def discover(self, region: str):
        """One tagging API call (and, on first use, one autoscaling describe and one bucket
        list) per region, shared by every type's `list`; see `discovery`."""
        from lepton_cli.drivers.aws.discovery import discover

        return discover(self, region)

    def primitive_type_classes(self) -> Iterable[type[PrimitiveType]]:
        for module in (network, firewall, *KIND_MODULES.values()):
            yield from module.TYPES

    def expand(self, stack: Stack, names: list[str], ctx: ExpandContext) -> list[Primitive]:
        primitives: list[Primitive] = []
        for name in names:
            module = KIND_MODULES[stack.resources[name].kind]
            primitives += module.expand(self, stack, name, stack.region_of(name), ctx)
        regions = {stack.region_of(n) for n in names}
        for region in sorted(r for r in regions if self.zone_count(stack, r)):
            primitives += network.expand_network(self, stack, region, self.zone_count(stack, region))
        return primitives

    def zone_count(self, stack: Stack, region: str) -> int:
        """Subnets the region's implicit network needs: the most any AWS resource there asks
        for (`network_zones(resource)` in its kind module); 0 means no network at all."""
        needs = [
            getattr(KIND_MODULES[r.kind], "network_zones", lambda _r: 0)(r)
            for n, r in stack.resources.items()
            if stack.cloud_of(n) == self.cloud and stack.region_of(n) == region
        ]
        return max(needs, default=0)

    def attribute_ref(self, stack: Stack, name: str, attr: str) -> Ref:
        suffix, output = KIND_MODULES[stack.resources[name].kind].ATTRIBUTES[attr]
        return Ref(f"{name}/{suffix}", output)

    def validate(self, stack: Stack, names: list[str]):
        from lepton_cli.errors import Diagnostic

        diagnostics = []
        for name in names:
            module = KIND_MODULES[stack.resources[name].kind]
            check = getattr(module, "validate", None)
            if check is not None:
                diagnostics += check(stack, name)
            region = stack.region_of(name)
            zones = getattr(module, "network_zones", lambda _r: 0)(stack.resources[name])
            if zones > self.regions.get(region, zones):
                written = "zones" if "zones" in stack.resources[name].model_fields_set else "kind"
                diagnostics.append(Diagnostic(
                    summary=f"region {region} has {self.regions[region]} availability zones; {name!r} asks for {zones}",
                    path=f"resources.{name}.{written}",
                    hint=f"use zones: {self.regions[region]} or less, or a region with more zones"))
        return diagnostics
