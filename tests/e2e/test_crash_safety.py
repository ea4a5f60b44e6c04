"""Crash safety (issue 7): lepton killed anywhere in an apply, or faced with throttling and 5xx
answers (including a 500 for a create the server did), must converge on a re-run, never
duplicate an object, never refuse its own objects, and destroy everything it made.

Every CLI run goes through `tests.faults.proxy.FaultProxy`, a loopback proxy in front of the
sandbox's moto server that counts and classifies the requests and injects the faults; every
object is counted with boto3 directly (`inventory`).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, tagged_with_stack
from tests.faults.proxy import (
    Action,
    Call,
    FaultProxy,
    KillAt,
    Policy,
    RandomFaults,
    classify,
    forward_all,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REGION = "us-east-1"
# Lepton runs operations in parallel, so what else is in flight when a kill lands varies from run
# to run (each failure names the request it was killed at, and every mutating request made).
# LEPTON_CRASH_PARALLELISM=1 makes the order of requests, and so a kill point, reproducible.
PARALLELISM = os.environ.get("LEPTON_CRASH_PARALLELISM")

# Three buckets (one force_destroy, behind a CDN), two web servers behind a load balancer.
PLAN = """\
stack: {stack}
resources:
  web:
    kind: compute
    size: {{cpus: 2, memory_gb: 4}}
    image: ubuntu-22.04
    count: 2
    zones: 2
    ports: [8080]
  web-lb:
    kind: load_balancer
    target: web
    listeners:
      - {{port: 80, protocol: http, target_port: 8080}}
    health_check: {{path: /healthz, port: 8080}}
  assets:
    kind: bucket
    versioning: true
    force_destroy: true
  logs:
    kind: bucket
  uploads:
    kind: bucket
    lifecycle: [{{prefix: tmp/, expire_days: 7}}]
  assets-cdn:
    kind: cdn
    origin: assets
    default_ttl: 3600
    https_only: true
"""

# What the plan makes, counted with boto3 (see `inventory`).
EXPECTED = {
    "vpc": 1, "subnet": 2, "internet_gateway": 1, "route_table": 1, "security_group": 2,
    "launch_template": 1, "autoscaling_group": 1, "instance": 2, "load_balancer": 1, "target_group": 1,
    "listener": 1, "group_target_group_attachment": 1, "distribution": 1, "origin_access_control": 1,
    "bucket": 3, "untagged_bucket": 0, "cdn_bucket_policy_statement": 1,
}
NOTHING = {key: 0 for key in EXPECTED}


# -- counting what exists, with boto3 ---------------------------------------------------------------

@pytest.fixture(scope="module")
def aws(sandbox_home):
    import boto3
    from botocore.config import Config

    from lepton_cli.sandbox.runtime import read_runtime

    endpoint = read_runtime(Path(sandbox_home))["endpoints"]["aws"]
    clients: dict = {}

    def client(service: str, region: str = REGION):
        if (service, region) not in clients:
            clients[service, region] = boto3.client(
                service, region_name=region, endpoint_url=endpoint, aws_access_key_id="check",
                aws_secret_access_key="check", config=Config(s3={"addressing_style": "path"}))
        return clients[service, region]

    return client


def _tag(tags, key: str) -> str | None:
    return next((t.get("Value") for t in tags or [] if t.get("Key") == key), None)


def inventory(aws, stack: str) -> dict[str, list[str]]:
    """Every object of the stack, by kind: what carries its `lepton-stack` tag, and what carries
    its names (`<stack>-...`) even untagged (a create whose tagging never happened)."""
    import json

    from botocore.exceptions import ClientError

    prefix = f"{stack}-"
    ec2 = aws("ec2")
    flt = [{"Name": "tag:lepton-stack", "Values": [stack]}]
    found: dict[str, list[str]] = {}
    for kind, call, key, ident in [
        ("vpc", "describe_vpcs", "Vpcs", "VpcId"), ("subnet", "describe_subnets", "Subnets", "SubnetId"),
        ("internet_gateway", "describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("route_table", "describe_route_tables", "RouteTables", "RouteTableId"),
        ("security_group", "describe_security_groups", "SecurityGroups", "GroupId"),
        ("launch_template", "describe_launch_templates", "LaunchTemplates", "LaunchTemplateId"),
    ]:
        found[kind] = sorted(item[ident] for item in getattr(ec2, call)(Filters=flt)[key])
    # Security groups and launch templates named after the stack, tagged or not.
    named_groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{prefix}*"]}])
    found["security_group"] = sorted({*found["security_group"], *(g["GroupId"] for g in named_groups["SecurityGroups"])})
    found["instance"] = sorted(
        i["InstanceId"] for r in ec2.describe_instances(Filters=flt + [{
            "Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])["Reservations"]
        for i in r["Instances"])

    groups = [g for page in aws("autoscaling").get_paginator("describe_auto_scaling_groups").paginate()
              for g in page["AutoScalingGroups"]
              if g["AutoScalingGroupName"].startswith(prefix) or _tag(g.get("Tags"), "lepton-stack") == stack]
    found["autoscaling_group"] = sorted(g["AutoScalingGroupName"] for g in groups)
    found["group_target_group_attachment"] = sorted(
        f"{g['AutoScalingGroupName']}->{arn.rsplit('/', 2)[-2]}" for g in groups for arn in g.get("TargetGroupARNs", []))

    elb = aws("elbv2")

    def elb_owned(items, arn_key, name_key):
        arns = [i[arn_key] for i in items]
        tags = {}
        for start in range(0, len(arns), 20):
            for d in elb.describe_tags(ResourceArns=arns[start:start + 20])["TagDescriptions"]:
                tags[d["ResourceArn"]] = d.get("Tags", [])
        return [i for i in items if i[name_key].startswith(prefix) or _tag(tags.get(i[arn_key]), "lepton-stack") == stack]

    lbs = elb_owned([lb for page in elb.get_paginator("describe_load_balancers").paginate() for lb in page["LoadBalancers"]],
                    "LoadBalancerArn", "LoadBalancerName")
    found["load_balancer"] = sorted(lb["LoadBalancerName"] for lb in lbs)
    tgs = elb_owned([tg for page in elb.get_paginator("describe_target_groups").paginate() for tg in page["TargetGroups"]],
                    "TargetGroupArn", "TargetGroupName")
    found["target_group"] = sorted(tg["TargetGroupName"] for tg in tgs)
    found["listener"] = sorted(f"{lb['LoadBalancerName']}:{listener['Port']}" for lb in lbs
                               for listener in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"])

    cloudfront = aws("cloudfront")
    distributions = []
    for d in cloudfront.list_distributions()["DistributionList"].get("Items", []):
        tags = cloudfront.list_tags_for_resource(Resource=d["ARN"])["Tags"].get("Items", [])
        if _tag(tags, "lepton-stack") == stack or d.get("Comment", "").startswith(f"lepton {stack} "):
            distributions.append(d)
    found["distribution"] = sorted(d["Id"] for d in distributions)
    oacs = cloudfront.list_origin_access_controls()["OriginAccessControlList"].get("Items", [])
    found["origin_access_control"] = sorted(
        f"{o['Name']}({o['Id']})" for o in oacs
        if o["Name"].startswith(prefix) or o.get("Description", "").startswith(f"lepton stack {stack}:"))

    s3 = aws("s3")
    buckets = sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix))
    found["bucket"], found["untagged_bucket"], statements = buckets, [], []
    for name in buckets:
        try:
            tags = s3.get_bucket_tagging(Bucket=name).get("TagSet", [])
        except ClientError:
            tags = []
        if _tag(tags, "lepton-stack") != stack:
            found["untagged_bucket"].append(name)
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        except ClientError:
            continue
        statements += [f"{name}:{s.get('Sid')}" for s in policy.get("Statement", [])
                       if str(s.get("Sid", "")).startswith("LeptonCdn")]
    found["cdn_bucket_policy_statement"] = sorted(statements)
    return found


def differences(found: dict[str, list[str]], expected: dict[str, int]) -> list[str]:
    return [f"{kind}: expected {n}, found {len(found.get(kind, []))}: {found.get(kind, [])}"
            for kind, n in expected.items() if len(found.get(kind, [])) != n]


# -- running the CLI through the proxy ---------------------------------------------------------------

def tail(text: str, lines: int = 15, width: int = 400) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(f"    | {line[:width]}" for line in kept) or "    | (nothing)"


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    policy: str
    calls: list[Call]
    kills: list[Call]
    proxy_notes: list[str]  # errors reaching the server (a test problem); requests a kill cut off

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL

    def mutations(self) -> Counter:
        return Counter(c.operation for c in self.calls if c.mutating)

    def describe(self) -> str:
        head = f"$ lepton {' '.join(self.args)}   [{self.policy}] -> exit {self.code}" + (" (SIGKILLed)" if self.killed else "")
        lines = [head] + [f"  proxy: {note}" for note in self.proxy_notes]
        if self.kills:
            lines.append(f"  killed right after the server did: {'; '.join(map(str, self.kills))}")
        mutations = self.mutations()
        if mutations:
            lines.append(f"  mutating requests: {dict(sorted(mutations.items()))}")
        injected = Counter(c.action.value for c in self.calls if c.action is not Action.FORWARD)
        if injected:
            lines.append(f"  injected: {dict(injected)}")
            dangerous = [f"{c.operation}#{c.seq}" for c in self.calls if c.action is Action.FORWARD_THEN_500]
            if dangerous:
                lines.append(f"  done upstream but answered 500: {', '.join(dangerous)}")
        lines += ["  stdout (tail):", tail(self.stdout, 4), "  stderr (tail):", tail(self.stderr, 30)]
        return "\n".join(lines)


@dataclass
class Scenario:
    """One stack in its own work directory; every command run through a fresh proxy; a log of
    everything that happened, for the failure message."""

    sandbox_home: Path
    cwd: Path
    aws: object
    stack: str
    title: str
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.cwd / "lepton.yaml").write_text(PLAN.format(stack=self.stack))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LEPTON_"))}
        self.env.update({"NO_COLOR": "1", "PYTHONPATH": str(REPO)})

    def lepton(self, *args: str, policy: Policy | None = None) -> Run:
        policy = policy or forward_all
        if PARALLELISM and args[0] in ("apply", "plan", "destroy"):
            args = (*args, "--parallelism", PARALLELISM)
        with FaultProxy.for_sandbox(self.sandbox_home, policy) as proxy:
            proc = subprocess.Popen([sys.executable, "-m", "lepton_cli.cli.main", *args], cwd=self.cwd,
                                    env=proxy.env(self.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            proxy.target_pid = proc.pid
            try:
                stdout, stderr = proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
                stderr += "\n[test] timed out after 300s and was killed"
            run = Run(args, proc.returncode, stdout, stderr,
                      "no faults" if policy is forward_all else str(policy),
                      list(proxy.calls), list(proxy.kills),
                      list(proxy.errors) + ([f"{proxy.incomplete} request(s) cut off mid-body by the dying client, "
                                             "not forwarded"] if proxy.incomplete else []))
        self.log.append(run.describe())
        return run

    def story(self) -> str:
        return f"== {self.title} (stack {self.stack}) ==\n" + "\n".join(self.log)

    def fail(self, what: str, snapshot: dict[str, int] | None = None) -> None:
        """Fail with the whole story; with `snapshot` (the objects expected by now), also what
        boto3 finds that differs from it (duplicates, leftovers)."""
        if snapshot is not None:
            try:
                problems = differences(inventory(self.aws, self.stack), snapshot)
            except Exception as exc:  # the failure matters more than the snapshot
                problems = [f"(could not take the inventory: {exc!r})"]
            if problems:
                what += "\n  and boto3 finds, against what a converged stack would hold:\n" + \
                    "\n".join(f"  - {p}" for p in problems)
        pytest.fail(f"{self.title} (stack {self.stack}): {what}\n\n{self.story()}", pytrace=False)

    def expect_exit(self, run: Run, code: int, what: str, snapshot: dict[str, int] | None = None) -> None:
        if run.code != code:
            self.fail(f"{what}: `lepton {' '.join(run.args)}` exited {run.code}, expected {code}", snapshot)

    def expect_objects(self, expected: dict[str, int], when: str) -> dict[str, list[str]]:
        found = inventory(self.aws, self.stack)
        problems = differences(found, expected)
        if expected is NOTHING:
            leftovers = tagged_with_stack(self.aws, self.stack, REGION)
            if leftovers:
                problems.append(f"still carrying the stack's marker (tag lepton-stack={self.stack}, or a bucket "
                                f"named {self.stack}-..., by conftest.tagged_with_stack): {leftovers}")
        if problems:
            self.log.append(f"boto3 {when}:\n" + "\n".join(f"  {p}" for p in problems))
            self.fail(f"{when}, the objects are wrong:\n" + "\n".join(f"  - {p}" for p in problems))
        return found

    def kill_apply(self, policy: KillAt) -> Run:
        run = self.lepton("apply", "--sandbox", "--yes", policy=policy)
        if not run.killed or not run.kills:
            self.fail(f"the kill point ({policy}) was never reached: the apply exited {run.code} "
                      f"without being killed (a test problem, or an apply that failed early)")
        return run

    def destroy_and_expect_nothing(self, policy: Policy | None = None, what: str = "destroy") -> None:
        run = self.lepton("destroy", "--sandbox", "--yes", policy=policy)
        self.expect_exit(run, 0, what, NOTHING)
        self.expect_objects(NOTHING, f"after {what}")


def new_stack(prefix: str) -> str:
    """Unique in the shared sandbox, and never `<another stack>-...` (names are matched by prefix)."""
    return f"{prefix}{secrets.token_hex(3)}"


@pytest.fixture(scope="module")
def full_apply(sandbox_home, aws, tmp_path_factory):
    """One clean apply of a throwaway copy of the stack through the proxy: the ordered list of
    its mutating requests (the kill points are chosen from it). Then a destroy. Both checked."""
    scenario = Scenario(sandbox_home, tmp_path_factory.mktemp("crash-count"), aws, new_stack("cc"), "clean apply")
    run = scenario.lepton("apply", "--sandbox", "--yes")
    scenario.expect_exit(run, 0, "a clean apply through the proxy")
    scenario.expect_objects(EXPECTED, "after a clean apply")
    noop = scenario.lepton("plan", "--sandbox", "--detailed-exitcode")
    scenario.expect_exit(noop, 0, "a plan after a clean apply")
    scenario.destroy_and_expect_nothing()
    mutating = [c.operation for c in run.calls if c.mutating]
    assert len(mutating) >= 20 and {"CreateVpc", "CreateBucket", "CreateLoadBalancer",
                                    "CreateDistributionWithTags"} <= set(mutating), scenario.story()
    return mutating


def kill_policy(point: tuple[str, object], mutating: list[str]) -> KillAt:
    """("at", fraction): the mutating request at that fraction of a full apply's 1..N;
    ("op", name): the first request of that operation. The kill lands after the server did it."""
    kind, value = point
    if kind == "at":
        return KillAt(mutating=1 + round(float(value) * (len(mutating) - 1)))
    return KillAt(operation=str(value))


def point_label(point: tuple[str, object], mutating: list[str]) -> str:
    kind, value = point
    if kind == "at":
        k = 1 + round(float(value) * (len(mutating) - 1))
        return f"kill after mutating request {k}/{len(mutating)}"
    return f"kill right after the first {value}"


# -- a: killed anywhere, a re-run converges -----------------------------------------------------------

KILL_AND_REAPPLY = [("at", 0.2), ("at", 0.4), ("at", 0.6), ("at", 0.8), ("at", 1.0),
                    ("op", "CreateVpc"), ("op", "CreateBucket"), ("op", "CreateOriginAccessControl"),
                    ("op", "CreateLoadBalancer"), ("op", "CreateDistributionWithTags")]


@pytest.mark.parametrize("point", KILL_AND_REAPPLY, ids=[f"{k}-{v}" for k, v in KILL_AND_REAPPLY])
def test_an_apply_killed_anywhere_converges_on_a_rerun(point, full_apply, sandbox_home, aws, tmp_path):
    title = point_label(point, full_apply)
    scenario = Scenario(sandbox_home, tmp_path, aws, new_stack("ka"), title)
    scenario.kill_apply(kill_policy(point, full_apply))

    rerun = scenario.lepton("apply", "--sandbox", "--yes")
    scenario.expect_exit(rerun, 0, "the re-run apply after the kill", EXPECTED)
    noop = scenario.lepton("plan", "--sandbox", "--detailed-exitcode")
    scenario.expect_exit(noop, 0, "the plan after the re-run (changes remain)", EXPECTED)
    scenario.expect_objects(EXPECTED, "after kill + re-run")

    scenario.destroy_and_expect_nothing()


# -- b: killed, then destroyed ----------------------------------------------------------------------

KILL_AND_DESTROY = [("at", i / 7) for i in range(8)]


@pytest.mark.parametrize("point", KILL_AND_DESTROY, ids=[f"at-{i}of7" for i in range(8)])
def test_an_apply_killed_anywhere_is_destroyed_completely(point, full_apply, sandbox_home, aws, tmp_path):
    title = point_label(point, full_apply) + ", then destroy"
    scenario = Scenario(sandbox_home, tmp_path, aws, new_stack("kd"), title)
    scenario.kill_apply(kill_policy(point, full_apply))
    scenario.destroy_and_expect_nothing(what="destroy right after the kill")


# -- c: throttling, 5xx, and creates done but answered 500 -----------------------------------------

FAULT_SEEDS = [int(s) for s in os.environ.get("LEPTON_FAULT_SEEDS", "1,2").split(",")]


@pytest.mark.parametrize("seed", FAULT_SEEDS)
def test_apply_plan_destroy_succeed_under_throttling_and_5xx(seed, sandbox_home, aws, tmp_path):
    faults = RandomFaults(seed)
    scenario = Scenario(sandbox_home, tmp_path, aws, new_stack("fa"),
                        f"{faults} (reproduce: LEPTON_FAULT_SEEDS={seed})")
    applied = scenario.lepton("apply", "--sandbox", "--yes", policy=RandomFaults(seed))
    scenario.expect_exit(applied, 0, f"apply under faults, seed {seed}", EXPECTED)
    planned = scenario.lepton("plan", "--sandbox", "--detailed-exitcode", policy=RandomFaults(seed + 1000))
    scenario.expect_exit(planned, 0, f"plan under faults after the apply, seed {seed} (changes remain)", EXPECTED)
    scenario.expect_objects(EXPECTED, f"after apply under faults, seed {seed}")
    scenario.destroy_and_expect_nothing(RandomFaults(seed + 2000), what=f"destroy under faults, seed {seed}")
    injected = Counter(c.action for r in (applied, planned) for c in r.calls)
    assert injected[Action.FORWARD_THEN_500] and injected[Action.THROTTLE], \
        f"seed {seed} injected too little to test anything: {injected}\n{scenario.story()}"


# -- d: the proxy itself ---------------------------------------------------------------------------

def _client(service: str, endpoint: str, attempts: int = 1):
    import boto3
    from botocore.config import Config

    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="proxy",
                        aws_secret_access_key="proxy", config=Config(
                            s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": attempts}))


def test_the_proxy_classifies_requests_of_every_protocol(sandbox_home):
    name = f"proxy-{secrets.token_hex(4)}"
    with FaultProxy.for_sandbox(sandbox_home) as proxy:
        from lepton_cli.sandbox.manager import status
        from lepton_cli.sandbox.runtime import read_runtime

        upstream = read_runtime(Path(sandbox_home))["endpoints"]
        seen = status(proxy.home)
        assert seen.running and seen.endpoints == {**upstream, "aws": proxy.url}

        ec2 = _client("ec2", proxy.url)
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        ec2.describe_vpcs(VpcIds=[vpc])
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "k", "Value": "v"}])
        ec2.delete_vpc(VpcId=vpc)
        _client("sts", proxy.url).get_caller_identity()
        _client("autoscaling", proxy.url).describe_auto_scaling_groups()
        _client("elbv2", proxy.url).describe_load_balancers()
        _client("resourcegroupstaggingapi", proxy.url).get_resources()
        s3 = _client("s3", proxy.url)
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        s3.head_bucket(Bucket=name)
        s3.get_bucket_tagging(Bucket=name)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "t/"}, "Expiration": {"Days": 1}}]})
        s3.put_object(Bucket=name, Key="a/b.txt", Body=b"x")
        s3.list_objects_v2(Bucket=name)
        s3.delete_object(Bucket=name, Key="a/b.txt")
        s3.list_buckets()
        s3.delete_bucket(Bucket=name)
        cloudfront = _client("cloudfront", proxy.url)
        oac = cloudfront.create_origin_access_control(OriginAccessControlConfig={
            "Name": name, "SigningProtocol": "sigv4", "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3"})
        cloudfront.list_distributions()
        cloudfront.delete_origin_access_control(Id=oac["OriginAccessControl"]["Id"], IfMatch=oac["ETag"])
        calls = [(c.service, c.operation, c.mutating, c.create) for c in proxy.calls if c.service]

    assert calls == [
        ("ec2", "CreateVpc", True, True), ("ec2", "DescribeVpcs", False, False),
        ("ec2", "CreateTags", True, False), ("ec2", "DeleteVpc", True, False),
        ("sts", "GetCallerIdentity", False, False), ("autoscaling", "DescribeAutoScalingGroups", False, False),
        ("elasticloadbalancing", "DescribeLoadBalancers", False, False), ("tagging", "GetResources", False, False),
        ("s3", "CreateBucket", True, True), ("s3", "PutBucketTagging", True, False),
        ("s3", "HeadBucket", False, False), ("s3", "GetBucketTagging", False, False),
        ("s3", "PutBucketLifecycleConfiguration", True, False), ("s3", "PutObject", True, False),
        ("s3", "ListObjectsV2", False, False), ("s3", "DeleteObject", True, False),
        ("s3", "ListBuckets", False, False), ("s3", "DeleteBucket", True, False),
        ("cloudfront", "CreateOriginAccessControl", True, True), ("cloudfront", "ListDistributions", False, False),
        ("cloudfront", "DeleteOriginAccessControl", True, False),
    ]


def test_the_proxy_classifies_rest_paths_without_a_server():
    auth = {"authorization": "AWS4-HMAC-SHA256 Credential=k/20250101/us-east-1/{}/aws4_request, SignedHeaders=host"}

    def op(service, method, target, body=b"", **headers):
        return classify(method, target, {"authorization": auth["authorization"].format(service), **headers}, body)

    assert op("s3", "PUT", "/b").operation == "CreateBucket"
    assert op("s3", "PUT", "/b?tagging").operation == "PutBucketTagging"
    assert op("s3", "PUT", "/b?versioning").operation == "PutBucketVersioning"
    assert op("s3", "PUT", "/b?publicAccessBlock").operation == "PutPublicAccessBlock"
    assert op("s3", "GET", "/b?list-type=2&prefix=x").operation == "ListObjectsV2"
    assert op("s3", "GET", "/b/some/key").operation == "GetObject"
    assert op("s3", "DELETE", "/b?policy").operation == "DeleteBucketPolicy"
    create = op("cloudfront", "POST", "/2020-05-31/distribution?WithTags")
    assert (create.operation, create.mutating, create.create) == ("CreateDistributionWithTags", True, True)
    assert op("cloudfront", "POST", "/2020-05-31/origin-access-control").operation == "CreateOriginAccessControl"
    assert op("cloudfront", "PUT", "/2020-05-31/distribution/E1/config").operation == "UpdateDistribution"
    assert op("cloudfront", "GET", "/2020-05-31/distribution/E1/config").operation == "GetDistributionConfig"
    assert op("cloudfront", "POST", "/2020-05-31/tagging?Operation=Tag&Resource=arn").operation == "TagResource"
    form = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    run = op("ec2", "POST", "/", b"Action=RunInstances&Version=2016-11-15", **form)
    assert (run.protocol, run.operation, run.mutating, run.create) == ("ec2", "RunInstances", True, True)
    asg = op("autoscaling", "POST", "/", b"Action=CreateAutoScalingGroup&Version=2011-01-01", **form)
    assert (asg.protocol, asg.operation, asg.create) == ("query", "CreateAutoScalingGroup", True)
    target = op("tagging", "POST", "/", b"{}", **{"x-amz-target": "ResourceGroupsTaggingAPI_20170126.TagResources"})
    assert (target.protocol, target.operation, target.mutating) == ("json", "TagResources", True)
    assert classify("GET", "/", {}, b"").service is None  # the CLI's "does the sandbox answer" check


def test_the_proxy_injects_errors_botocore_retries_as_throttling_and_5xx(sandbox_home):
    from botocore.exceptions import ClientError
    from botocore.retries.standard import ThrottledRetryableChecker

    throttling_codes = getattr(ThrottledRetryableChecker, "_THROTTLED_ERROR_CODES", None)
    calls = {
        "ec2": lambda c: c.describe_vpcs(), "sts": lambda c: c.get_caller_identity(),
        "autoscaling": lambda c: c.describe_auto_scaling_groups(),
        "resourcegroupstaggingapi": lambda c: c.get_resources(), "s3": lambda c: c.list_buckets(),
        "cloudfront": lambda c: c.list_distributions(),
    }
    expected_codes = {"ec2": "RequestLimitExceeded", "sts": "Throttling", "autoscaling": "Throttling",
                      "resourcegroupstaggingapi": "ThrottlingException", "s3": "SlowDown", "cloudfront": "Throttling"}

    def first_of_each(action):
        done: set = set()

        def policy(call: Call) -> Action:
            if call.service is None or call.operation in done:
                return Action.FORWARD
            done.add(call.operation)
            return action
        return policy

    for action in (Action.THROTTLE, Action.ERROR_500, Action.ERROR_503):
        with FaultProxy.for_sandbox(sandbox_home, first_of_each(action)) as proxy:
            for service, call in calls.items():
                with pytest.raises(ClientError) as raised:
                    call(_client(service, proxy.url, attempts=1))
                error = raised.value.response
                status = error["ResponseMetadata"]["HTTPStatusCode"]
                if action is Action.THROTTLE:
                    assert error["Error"]["Code"] == expected_codes[service], (service, error)
                    if throttling_codes is not None:
                        assert error["Error"]["Code"] in throttling_codes
                else:
                    assert status == int(action.value.split("-")[1]), (service, action, error)
            proxy.reset(first_of_each(action))
            for service, call in calls.items():  # standard retries get through
                answer = call(_client(service, proxy.url, attempts=3))
                assert answer["ResponseMetadata"]["RetryAttempts"] == 1, (service, action)
            assert proxy.injected() == {action.value: len(calls)}


def test_the_proxy_answers_500_after_the_server_did_the_work(sandbox_home, aws):
    from botocore.exceptions import ClientError

    name = f"proxy-{secrets.token_hex(4)}"
    with FaultProxy.for_sandbox(sandbox_home, lambda c: Action.FORWARD_THEN_500 if c.create else Action.FORWARD) as proxy:
        with pytest.raises(ClientError) as raised:
            _client("s3", proxy.url).create_bucket(Bucket=name)
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        (call,) = [c for c in proxy.calls if c.operation == "CreateBucket"]
        assert (call.upstream_status, call.status) == (200, 500)
    aws("s3").head_bucket(Bucket=name)  # it exists all the same
    aws("s3").delete_bucket(Bucket=name)


@pytest.mark.parametrize("after", [True, False], ids=["after-forward", "before-forward"])
def test_the_proxy_kills_the_client_before_or_after_forwarding(after, sandbox_home, aws, tmp_path):
    from botocore.exceptions import ClientError

    name = f"proxy-{secrets.token_hex(4)}"
    script = tmp_path / "create.py"
    script.write_text(
        "import sys, boto3\nfrom botocore.config import Config\n"
        "s3 = boto3.client('s3', region_name='us-east-1', endpoint_url=sys.argv[1], aws_access_key_id='k',\n"
        "                  aws_secret_access_key='k', config=Config(s3={'addressing_style': 'path'}))\n"
        "s3.create_bucket(Bucket=sys.argv[2])\nprint('answered')\n")
    policy = KillAt(operation="CreateBucket", after=after)
    with FaultProxy.for_sandbox(sandbox_home, policy) as proxy:
        proc = subprocess.Popen([sys.executable, str(script), proxy.url, name], stdout=subprocess.PIPE, text=True)
        proxy.target_pid = proc.pid
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL and "answered" not in out
        assert [c.operation for c in proxy.kills] == ["CreateBucket"]
    if after:
        aws("s3").head_bucket(Bucket=name)
        aws("s3").delete_bucket(Bucket=name)
    else:
        with pytest.raises(ClientError):
            aws("s3").head_bucket(Bucket=name)


def test_random_faults_are_reproducible_from_the_seed():
    def calls():
        return [Call(i, "POST", "/", "ec2", "ec2", op, True, op.startswith("Create"), i)
                for i, op in enumerate(["CreateVpc", "CreateSubnet", "CreateSubnet", "DescribeVpcs"] * 25, 1)]

    def decide(seed):
        policy = RandomFaults(seed)
        return [policy(c) for c in calls()]

    first = decide(5)
    assert first == decide(5)
    assert first != decide(6)
    counts = Counter(first)
    assert counts[Action.FORWARD_THEN_500] and counts[Action.FORWARD] and (
        counts[Action.THROTTLE] + counts[Action.ERROR_500] + counts[Action.ERROR_503])
    # The fate of a request does not depend on how other operations' requests interleave.
    def fates(order):
        policy, seen, out = RandomFaults(5), Counter(), {}
        for call in order:
            seen[call.operation] += 1
            out[call.operation, seen[call.operation]] = policy(call)
        return out

    assert fates(calls()) == fates(sorted(calls(), key=lambda c: c.operation))
