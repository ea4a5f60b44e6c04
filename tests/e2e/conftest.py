"""End-to-end fixtures: the CLI run as a user runs it (a subprocess), against a sandbox."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox_home(tmp_path_factory, sandbox_services):
    """The session's sandbox (in this test process, on free loopback ports) published for CLI
    subprocesses to find through LEPTON_SANDBOX_HOME, exactly as they would find one
    `lepton sandbox start` made."""
    from lepton_cli.sandbox.testing import in_process_sandbox

    home = tmp_path_factory.mktemp("sandbox-home")
    with in_process_sandbox(home, sandbox_services) as status:
        assert status.running
        yield home


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@dataclass
class Lepton:
    """Runs `lepton ...` in a work directory holding the plan files."""

    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str, input: str | None = None, check: int | None = 0) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "lepton_cli.cli.main", *args], cwd=self.cwd, env=self.env,
            capture_output=True, text=True, input=input, timeout=600,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check is not None:
            assert result.code == check, f"lepton {' '.join(args)} exited {result.code}\n{result.stdout}\n{result.stderr}"
        return result

    def write(self, name: str, text: str) -> Path:
        path = self.cwd / name
        path.write_text(text)
        return path

    def copy_example(self, name: str) -> Path:
        return Path(shutil.copy(REPO / "examples" / name, self.cwd / name))


@pytest.fixture
def lepton(tmp_path, sandbox_home) -> Lepton:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEPTON_"))}
    env.update({"LEPTON_SANDBOX_HOME": str(sandbox_home), "NO_COLOR": "1", "PYTHONPATH": str(REPO)})
    return Lepton(cwd=tmp_path, env=env)


@pytest.fixture
def sandbox_aws(sandbox_home):
    """A boto3 client factory for the sandbox's AWS, to check results without lepton."""
    import boto3

    from lepton_cli.sandbox.manager import status

    os.environ["LEPTON_SANDBOX_HOME"] = str(sandbox_home)
    endpoint = status().endpoints["aws"]

    def client(service: str, region: str = "us-east-1"):
        return boto3.client(service, region_name=region, endpoint_url=endpoint,
                            aws_access_key_id="check", aws_secret_access_key="check")

    return client


def tagged_with_stack(client_factory, stack: str, region: str = "us-east-1") -> list[str]:
    """Every ARN in the region that carries the stack's tag, by the Resource Groups Tagging API,
    plus what EC2/autoscaling report by tag (not every type is in moto's tagging API)."""
    found: list[str] = []
    tagging = client_factory("resourcegroupstaggingapi", region)
    for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "lepton-stack", "Values": [stack]}]):
        found += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
    ec2 = client_factory("ec2", region)
    # Terminated instances stay visible (with their tags) for a while, in AWS as in moto: they
    # are gone for every purpose that matters.
    instances = {arn.rsplit("/", 1)[-1]: arn for arn in found if ":instance/" in arn}
    if instances:
        for reservation in ec2.describe_instances(InstanceIds=list(instances))["Reservations"]:
            for instance in reservation["Instances"]:
                if instance["State"]["Name"] == "terminated":
                    found.remove(instances[instance["InstanceId"]])
    flt = [{"Name": "tag:lepton-stack", "Values": [stack]}]
    for call, key, ident in [
        ("describe_vpcs", "Vpcs", "VpcId"), ("describe_subnets", "Subnets", "SubnetId"),
        ("describe_security_groups", "SecurityGroups", "GroupId"),
        ("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("describe_route_tables", "RouteTables", "RouteTableId"),
        ("describe_launch_templates", "LaunchTemplates", "LaunchTemplateId"),
    ]:
        found += [item[ident] for item in getattr(ec2, call)(Filters=flt)[key]]
    asg = client_factory("autoscaling", region)
    groups = asg.describe_auto_scaling_groups(
        Filters=[{"Name": "tag:lepton-stack", "Values": [stack]}])["AutoScalingGroups"]
    found += [g["AutoScalingGroupName"] for g in groups]
    s3 = client_factory("s3", region)
    found += [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(f"{stack}-")]
    return sorted(set(found))


@dataclass
class SandboxGcp:
    """The sandbox's Google Cloud, through the official SDKs, to check results without lepton."""

    endpoints: dict[str, str]
    project: str = "lepton-sandbox"

    def compute(self, collection: str):
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import compute_v1

        return getattr(compute_v1, f"{collection}Client")(
            credentials=AnonymousCredentials(), transport="rest",
            client_options=ClientOptions(api_endpoint=self.endpoints["gcp"]))

    def storage(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project=self.project, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": self.endpoints["gcs"]})

    def names(self, collection: str, region: str | None = None) -> list[str]:
        """Every object of a Compute collection in the project (global, or in `region`)."""
        where = {"project": self.project, **({"region": region} if region else {})}
        return sorted(item.name for item in self.compute(collection).list(request=where))

    def stack_objects(self, stack: str, regions: tuple[str, ...] = ("us-central1",)) -> list[str]:
        """Every Compute object and bucket whose name starts with the stack's (lepton's names
        all do), in the global collections and the given regions."""
        found = [f"{c}/{n}" for c in GLOBAL_COLLECTIONS for n in self.names(c)]
        found += [f"{c}/{n}" for c in REGIONAL_COLLECTIONS for r in regions for n in self.names(c, r)]
        found += [f"bucket/{b.name}" for b in self.storage().list_buckets()]
        return sorted(f for f in found if f.split("/", 1)[1].startswith(f"{stack}-"))


GLOBAL_COLLECTIONS = ("Networks", "Firewalls", "InstanceTemplates", "HealthChecks", "BackendServices",
                      "BackendBuckets", "UrlMaps", "TargetHttpProxies", "TargetHttpsProxies", "GlobalAddresses",
                      "GlobalForwardingRules")
REGIONAL_COLLECTIONS = ("Subnetworks", "RegionInstanceGroupManagers", "RegionAutoscalers", "RegionHealthChecks",
                        "RegionBackendServices", "Addresses", "ForwardingRules")


@pytest.fixture
def sandbox_gcp(sandbox_home) -> SandboxGcp:
    from lepton_cli.sandbox.manager import status

    return SandboxGcp(status(sandbox_home).endpoints)


@dataclass
class SandboxAzure:
    """The sandbox's Azure, through the official SDKs, to check results without lepton."""

    endpoints: dict[str, str]
    subscription: str = "00000000-0000-0000-0000-000000000000"

    def client(self, name: str):
        """A management client as the driver makes them for the sandbox (the emulator's endpoint
        and fake token): `resource`, `network`, `compute`, `storage`, `cdn`, `monitor`."""
        from lepton_cli.drivers.azure.driver import AzureDriver
        from lepton_cli.drivers.base import DriverConfig

        config = DriverConfig(stack="check", endpoints={"arm": self.endpoints["azure"], "blob": self.endpoints["azblob"]})
        return AzureDriver(config).client(name)

    def groups(self, stack: str) -> list[str]:
        """The stack's resource groups (lepton makes one per region, named and tagged for it)."""
        return sorted(g.name for g in self.client("resource").resource_groups.list()
                      if (g.tags or {}).get("lepton-stack") == stack or g.name.startswith(f"lepton-{stack}-"))


@pytest.fixture
def sandbox_azure(sandbox_home) -> SandboxAzure:
    from lepton_cli.sandbox.manager import status

    return SandboxAzure(status(sandbox_home).endpoints)
