"""The AWS driver in the shared contract suite (tests/drivers/contract): moto's server, in
process (the `moto_endpoint` session fixture), and foreign objects made with boto3 directly."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from typing import Any

from lepton_cli.drivers.aws.driver import SANDBOX_CREDENTIALS, AwsDriver
from lepton_cli.drivers.base import DriverConfig, Observed, Primitive
from tests.drivers.contract.harness import Built, DriverHarness, ForeignObject, ReplaceScenario

REGION = "us-east-1"

# One plan whose expansion holds every AWS primitive type; each type's checks build only the
# dependency closure of its primitive. `autoscale` with min 0: a scaling policy and no instances.
# `{image}` is the AMI the ubuntu-22.04 alias resolves to, looked up once per session (moto's
# image search is slow, and the lookup is no part of any type's contract).
EVERYTHING = """\
resources:
  web:
    kind: compute
    instance_type: t3.micro
    image: {image}
    autoscale: {{min: 0, max: 2}}
    ports: [8080]
  lb:
    kind: load_balancer
    target: web
    listeners: [{{port: 80, protocol: http, target_port: 8080}}]
    health_check: {{path: /healthz}}
  assets:
    kind: bucket
  cdn:
    kind: cdn
    origin: assets
"""

WEB_BEHIND_LB = """\
resources:
  web:
    kind: compute
    instance_type: t3.micro
    image: {image}
    count: 0
    ports: [8080]
  lb:
    kind: load_balancer
    target: web
    listeners: [{{port: 80, protocol: {protocol}, target_port: 8080}}]
    health_check: {{path: /healthz}}
"""

TG = "lb/aws.lb_target_group/8080"
IMAGE = "<image>"  # in the bodies above; the harness puts the resolved AMI id in its place


def _patch(address: str, **changes: Any) -> Callable[[list[Primitive]], list[Primitive]]:
    def patch(primitives: list[Primitive]) -> list[Primitive]:
        return [dataclasses.replace(p, properties={**p.properties, **changes}) if p.address == address else p
                for p in primitives]
    return patch


def _renamed_target_group(primitives: list[Primitive]) -> list[Primitive]:
    (tg,) = [p for p in primitives if p.address == TG]
    return _patch(TG, name=tg.properties["name"][:29] + "-v2")(primitives)


_LOADER = None


def sandbox_session():
    """A boto3 session as the driver makes for the sandbox, sharing one botocore data loader:
    each new session would otherwise parse every API model again (a tenth of a second per
    client, and every test makes fresh drivers)."""
    global _LOADER
    import boto3
    import botocore.session
    from botocore.loaders import create_loader

    core = botocore.session.get_session()
    if _LOADER is None:
        _LOADER = create_loader()
    core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core, **SANDBOX_CREDENTIALS)


def _foreign_name() -> str:
    return f"foreign-{uuid.uuid4().hex[:10]}"


class AwsHarness(DriverHarness):
    cloud = "aws"
    unique_name_types = frozenset({
        "aws.security_group",  # per VPC
        "aws.launch_template", "aws.autoscaling_group", "aws.lb", "aws.lb_target_group",  # per region
        "aws.s3_bucket", "aws.cloudfront_oac",  # per account or globally
        "aws.lb_listener",  # its port, per load balancer
    })
    # moto drops an S3 origin's (empty) origin access identity and never returns an origin
    # access control id, so a distribution read cannot say which kind of origin it has.
    read_gaps = {"aws.cloudfront_distribution": frozenset({"origin_type", "oac_id"})}
    # bucket.py makes its CreateBucket with the SDK's retrying client (S3 answers a resend of
    # one's own bucket itself): a lost answer surfaces only after the SDK's last attempt, as a
    # failure, and the next create adopts the bucket.
    lost_answer_fails = frozenset({"aws.s3_bucket"})

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    @classmethod
    def type_names(cls) -> list[str]:
        return sorted(t.type_name for t in AwsDriver(DriverConfig(stack="contract")).primitive_type_classes())

    @classmethod
    def replacement_scenarios(cls) -> list[ReplaceScenario]:
        http = WEB_BEHIND_LB.format(protocol="http", image=IMAGE)
        return [
            # The successor has another name, so it is created first and the listener moves to
            # it before the old target group goes (Terraform's create_before_destroy).
            ReplaceScenario("target-group-renamed-under-its-listener", http, http, (TG,),
                            ("lb/aws.lb_listener/0",), _renamed_target_group),
            # Same name: the old target group must go first, but its listener forwards to it.
            ReplaceScenario("target-group-protocol-under-its-listener", http, http, (TG,),
                            ("lb/aws.lb_listener/0",), _patch(TG, protocol="HTTPS")),
            # From the plan language: http -> tcp makes a network load balancer; the balancer,
            # its target group and listener are all replaced under the same names.
            ReplaceScenario("load-balancer-http-to-tcp", http, WEB_BEHIND_LB.format(protocol="tcp", image=IMAGE),
                            ("lb/aws.lb", TG), ("lb/aws.lb_listener/0",)),
        ]

    @classmethod
    def start(cls, request) -> "AwsHarness":
        return cls(request.getfixturevalue("moto_endpoint"))

    def driver(self, stack: str) -> AwsDriver:
        driver = AwsDriver(DriverConfig(stack=stack, endpoints={"aws": self.endpoint}))
        driver.session = sandbox_session()  # the driver's own kind of session, minus reloading the API models
        return driver

    def after_calls(self, driver: AwsDriver, hook: Callable[[str], None]) -> None:
        """botocore's `after-call` event, on the driver's session (so on every client it makes
        from now on) and on the clients it already has: it fires once the call is answered,
        after botocore's own retries."""
        def handler(model, **_):
            hook(model.name)
        driver.session.events.register("after-call", handler)
        for client in list(driver._clients.values()):
            client.meta.events.register("after-call", handler)

    def mutating(self, operation: str) -> bool:
        return not operation.startswith(("Describe", "List", "Get", "Head"))

    def lost_answer(self, operation: str) -> Exception:
        from botocore.exceptions import ClientError

        return ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error."},
                            "ResponseMetadata": {"HTTPStatusCode": 500, "HTTPHeaders": {}}}, operation)

    def plan_text(self, stack: str, body: str) -> str:
        return f"stack: {stack}\ndefaults: {{cloud: aws, region: {REGION}}}\n{body.replace(IMAGE, self.image())}"

    def body_for(self, type_name: str) -> str:
        return EVERYTHING.format(image=IMAGE)

    _images: dict[str, str] = {}

    def image(self) -> str:
        if self.endpoint not in self._images:
            self._images[self.endpoint] = self.driver("contract").images.resolve(REGION, "ubuntu-22.04", "x86_64")
        return self._images[self.endpoint]

    # -- foreign objects ----------------------------------------------------------------------------
    def make_foreign(self, type_name: str, built: Built, *, same_name: bool) -> ForeignObject:
        make = getattr(self, "_foreign_" + type_name.removeprefix("aws."))
        return make(built, same_name)

    def _client(self, built: Built, service: str, region: str | None = None):
        return built.driver.client(service, region or REGION)

    def _prerequisite(self, built: Built, type_name: str) -> Observed:
        return next(o for o in built.prerequisites.values() if o.type == type_name)

    @staticmethod
    def _name_tag(name: str) -> list[dict[str, str]]:
        return [{"Key": "Name", "Value": name}]

    def _vpc(self, built: Built, name: str) -> tuple[str, Callable[[], None]]:
        ec2 = self._client(built, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": self._name_tag(name)}])["Vpc"]["VpcId"]
        return vpc, lambda: ec2.delete_vpc(VpcId=vpc)

    def _ec2_snapshot(self, built: Built, operation: str, key: str, ids_arg: str, ident: str) -> Callable[[], Any]:
        ec2 = self._client(built, "ec2")

        def snapshot():
            (item,) = getattr(ec2, operation)(**{ids_arg: [ident]})[key]
            return json.loads(json.dumps(item, sort_keys=True, default=str))
        return snapshot

    def _foreign_vpc(self, built: Built, same_name: bool) -> ForeignObject:
        vpc, delete = self._vpc(built, built.properties["name"] if same_name else _foreign_name())
        return ForeignObject(vpc, self._ec2_snapshot(built, "describe_vpcs", "Vpcs", "VpcIds", vpc), delete)

    def _foreign_subnet(self, built: Built, same_name: bool) -> ForeignObject:
        ec2 = self._client(built, "ec2")
        vpc, delete_vpc = self._vpc(built, _foreign_name())
        subnet = ec2.create_subnet(
            VpcId=vpc, CidrBlock=built.properties["cidr_block"], AvailabilityZone=built.properties["availability_zone"],
            TagSpecifications=[{"ResourceType": "subnet", "Tags": self._name_tag(
                built.properties["name"] if same_name else _foreign_name())}])["Subnet"]["SubnetId"]

        def cleanup():
            ec2.delete_subnet(SubnetId=subnet)
            delete_vpc()
        return ForeignObject(subnet, self._ec2_snapshot(built, "describe_subnets", "Subnets", "SubnetIds", subnet),
                             cleanup)

    def _foreign_internet_gateway(self, built: Built, same_name: bool) -> ForeignObject:
        ec2 = self._client(built, "ec2")
        gateway = ec2.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": (
            self._name_tag(built.properties["name"] if same_name else _foreign_name()))}])["InternetGateway"]
        ident = gateway["InternetGatewayId"]
        return ForeignObject(ident, self._ec2_snapshot(built, "describe_internet_gateways", "InternetGateways",
                                                       "InternetGatewayIds", ident),
                             lambda: ec2.delete_internet_gateway(InternetGatewayId=ident))

    def _foreign_route_table(self, built: Built, same_name: bool) -> ForeignObject:
        ec2 = self._client(built, "ec2")
        vpc, delete_vpc = self._vpc(built, _foreign_name())
        table = ec2.create_route_table(VpcId=vpc, TagSpecifications=[{"ResourceType": "route-table", "Tags": (
            self._name_tag(built.properties["name"] if same_name else _foreign_name()))}])["RouteTable"]["RouteTableId"]

        def cleanup():
            ec2.delete_route_table(RouteTableId=table)
            delete_vpc()
        return ForeignObject(table, self._ec2_snapshot(built, "describe_route_tables", "RouteTables",
                                                       "RouteTableIds", table), cleanup)

    def _foreign_security_group(self, built: Built, same_name: bool) -> ForeignObject:
        ec2 = self._client(built, "ec2")
        group = ec2.create_security_group(
            GroupName=built.properties["name"] if same_name else _foreign_name(), Description="not lepton's",
            VpcId=built.properties["vpc_id"])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])
        return ForeignObject(group, self._ec2_snapshot(built, "describe_security_groups", "SecurityGroups",
                                                       "GroupIds", group),
                             lambda: ec2.delete_security_group(GroupId=group))

    def _foreign_launch_template(self, built: Built, same_name: bool) -> ForeignObject:
        ec2 = self._client(built, "ec2")
        template = ec2.create_launch_template(
            LaunchTemplateName=built.properties["name"] if same_name else _foreign_name(),
            LaunchTemplateData={"ImageId": built.properties["image_id"], "InstanceType": "t3.nano"},
        )["LaunchTemplate"]["LaunchTemplateId"]

        def snapshot():
            versions = ec2.describe_launch_template_versions(LaunchTemplateId=template)["LaunchTemplateVersions"]
            (found,) = ec2.describe_launch_templates(LaunchTemplateIds=[template])["LaunchTemplates"]
            return (found.get("Tags"), found["DefaultVersionNumber"],
                    sorted(json.dumps(v["LaunchTemplateData"], sort_keys=True) for v in versions))
        return ForeignObject(template, snapshot, lambda: ec2.delete_launch_template(LaunchTemplateId=template))

    def _group(self, built: Built, name: str) -> tuple[str, Callable[[], Any], Callable[[], None]]:
        """An autoscaling group nobody owns, launching from the stack's template into its subnets."""
        asg = self._client(built, "autoscaling")
        template = self._prerequisite(built, "aws.launch_template").id
        subnets = sorted(o.id for o in built.prerequisites.values() if o.type == "aws.subnet")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchTemplate={"LaunchTemplateId": template, "Version": "$Default"},
            MinSize=0, MaxSize=0, DesiredCapacity=0, VPCZoneIdentifier=",".join(subnets))

        def snapshot():
            (group,) = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"]
            policies = asg.describe_policies(AutoScalingGroupName=name)["ScalingPolicies"]
            return ({k: group.get(k) for k in ("MinSize", "MaxSize", "DesiredCapacity", "LaunchTemplate",
                                               "VPCZoneIdentifier", "TargetGroupARNs", "Tags")},
                    sorted((p["PolicyName"], json.dumps(p.get("TargetTrackingConfiguration"), sort_keys=True,
                                                        default=str)) for p in policies))
        return name, snapshot, lambda: asg.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)

    def _foreign_autoscaling_group(self, built: Built, same_name: bool) -> ForeignObject:
        return ForeignObject(*self._group(built, built.properties["name"] if same_name else _foreign_name()))

    def _foreign_scaling_policy(self, built: Built, same_name: bool) -> ForeignObject:
        # Policy names are unique per group on AWS; moto keys them account-wide, so a foreign
        # policy named like the stack's would be taken over by moto itself: only look-alikes.
        name, snapshot, cleanup = self._group(built, _foreign_name())
        policy = f"{name}-cpu"
        asg = self._client(built, "autoscaling")
        asg.put_scaling_policy(
            AutoScalingGroupName=name, PolicyName=policy, PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={"PredefinedMetricSpecification": {
                "PredefinedMetricType": "ASGAverageCPUUtilization"}, "TargetValue": 33.0})
        (found,) = asg.describe_policies(AutoScalingGroupName=name, PolicyNames=[policy])["ScalingPolicies"]
        return ForeignObject(found["PolicyARN"], snapshot, cleanup)

    def _bucket(self, built: Built, name: str) -> tuple[Callable[[], Any], Callable[[], None]]:
        s3 = self._client(built, "s3")
        s3.create_bucket(Bucket=name)

        def snapshot():
            try:
                policy = s3.get_bucket_policy(Bucket=name)["Policy"]
            except s3.exceptions.ClientError:
                policy = None
            try:
                tags = s3.get_bucket_tagging(Bucket=name)["TagSet"]
            except s3.exceptions.ClientError:
                tags = None
            return tags, s3.get_bucket_versioning(Bucket=name).get("Status"), policy and json.loads(policy)
        return snapshot, lambda: s3.delete_bucket(Bucket=name)

    def _foreign_s3_bucket(self, built: Built, same_name: bool) -> ForeignObject:
        name = built.properties["name"] if same_name else _foreign_name()
        return ForeignObject(name, *self._bucket(built, name))

    def _foreign_s3_bucket_policy(self, built: Built, same_name: bool) -> ForeignObject:
        """A statement nobody owns: with the wanted statement id in another bucket, or with
        another id in the stack's own bucket (beside lepton's statement, which must keep it)."""
        s3 = self._client(built, "s3")
        if same_name:
            bucket, sid = _foreign_name(), built.properties["statement_id"]
            snapshot, cleanup = self._bucket(built, bucket)
        else:
            bucket, sid, cleanup = built.properties["bucket"], "SomeoneElses", lambda: None
        try:  # added to what the policy holds already
            statements = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
        except s3.exceptions.ClientError:
            statements = []
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [*statements, {
            "Sid": sid, "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": built.properties["distribution_arn"]}}}]}))

        def statement():
            policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
            return [s for s in policy["Statement"] if s.get("Sid") == sid]
        return ForeignObject(f"{bucket}|{sid}", statement, cleanup)

    def _balancer(self, built: Built, name: str) -> tuple[str, Callable[[], None]]:
        """A load balancer nobody owns, in the stack's subnets."""
        elb = self._client(built, "elbv2")
        subnets = sorted(o.id for o in built.prerequisites.values() if o.type == "aws.subnet")
        groups = built.properties.get("security_group_ids") or [self._prerequisite(built, "aws.security_group").id]
        arn = elb.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=list(groups),
                                       Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
        return arn, lambda: elb.delete_load_balancer(LoadBalancerArn=arn)

    def _elb_snapshot(self, built: Built, arn: str, describe: Callable[[], Any]) -> Callable[[], Any]:
        elb = self._client(built, "elbv2")

        def snapshot():
            tags = elb.describe_tags(ResourceArns=[arn])["TagDescriptions"]
            return json.loads(json.dumps([describe(), tags], sort_keys=True, default=str))
        return snapshot

    def _foreign_lb(self, built: Built, same_name: bool) -> ForeignObject:
        elb = self._client(built, "elbv2")
        arn, cleanup = self._balancer(built, built.properties["name"] if same_name else _foreign_name()[:32])

        def describe():
            (lb,) = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
            return {k: lb.get(k) for k in ("LoadBalancerName", "SecurityGroups", "AvailabilityZones", "Type")}
        return ForeignObject(arn, self._elb_snapshot(built, arn, describe), cleanup)

    def _target_group(self, built: Built, name: str, vpc: str) -> tuple[str, Callable[[], None]]:
        elb = self._client(built, "elbv2")
        arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="instance",
                                      HealthCheckPath="/other")["TargetGroups"][0]["TargetGroupArn"]
        return arn, lambda: elb.delete_target_group(TargetGroupArn=arn)

    def _foreign_lb_target_group(self, built: Built, same_name: bool) -> ForeignObject:
        elb = self._client(built, "elbv2")
        arn, cleanup = self._target_group(built, built.properties["name"] if same_name else _foreign_name(),
                                          built.properties["vpc_id"])

        def describe():
            (tg,) = elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
            return tg
        return ForeignObject(arn, self._elb_snapshot(built, arn, describe), cleanup)

    def _foreign_lb_listener(self, built: Built, same_name: bool) -> ForeignObject:
        """Someone's listener on the stack's own load balancer: at the wanted port, or another."""
        elb = self._client(built, "elbv2")
        group, delete_group = self._target_group(built, _foreign_name(), self._prerequisite(built, "aws.vpc").id)
        port = built.properties["port"] + (0 if same_name else 1000)
        arn = elb.create_listener(LoadBalancerArn=built.properties["load_balancer_arn"], Port=port, Protocol="HTTP",
                                  DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])["Listeners"][0]
        arn = arn["ListenerArn"]

        def describe():
            return elb.describe_listeners(ListenerArns=[arn])["Listeners"]

        def cleanup():
            elb.delete_listener(ListenerArn=arn)
            delete_group()
        return ForeignObject(arn, self._elb_snapshot(built, arn, describe), cleanup)

    def _foreign_autoscaling_attachment(self, built: Built, same_name: bool) -> ForeignObject:
        name, snapshot, delete_group = self._group(built, _foreign_name())
        group, delete_target_group = self._target_group(built, _foreign_name(), self._prerequisite(built, "aws.vpc").id)
        self._client(built, "autoscaling").attach_load_balancer_target_groups(
            AutoScalingGroupName=name, TargetGroupARNs=[group])

        def cleanup():
            delete_group()
            delete_target_group()
        return ForeignObject(f"{name}|{group}", snapshot, cleanup)

    def _foreign_cloudfront_oac(self, built: Built, same_name: bool) -> ForeignObject:
        cloudfront = self._client(built, "cloudfront")
        name = built.properties["name"] if same_name else _foreign_name()
        ident = cloudfront.create_origin_access_control(OriginAccessControlConfig={
            "Name": name, "Description": "someone else's", "SigningProtocol": "sigv4",
            "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]

        def snapshot():
            return cloudfront.get_origin_access_control(Id=ident)["OriginAccessControl"]

        def cleanup():
            etag = cloudfront.get_origin_access_control(Id=ident)["ETag"]
            cloudfront.delete_origin_access_control(Id=ident, IfMatch=etag)
        return ForeignObject(ident, snapshot, cleanup)

    def _foreign_cloudfront_distribution(self, built: Built, same_name: bool) -> ForeignObject:
        from lepton_cli.drivers.aws import cdn

        cloudfront = self._client(built, "cloudfront")
        properties = dict(built.properties)
        if not same_name:
            properties["comment"] = "someone else's"
        config = {**cdn._config(built.primitive.address, built.stack, properties),
                  "CallerReference": _foreign_name()}
        distribution = cloudfront.create_distribution(DistributionConfig=config)["Distribution"]
        ident = distribution["Id"]

        def snapshot():
            found = cloudfront.get_distribution_config(Id=ident)["DistributionConfig"]
            tags = cloudfront.list_tags_for_resource(Resource=distribution["ARN"])["Tags"]
            return json.loads(json.dumps([found, tags], sort_keys=True, default=str))

        def cleanup():
            driver_type = built.driver.primitive_type("aws.cloudfront_distribution")
            driver_type.delete(Observed(built.primitive.address, driver_type.type_name, "global", ident))
        return ForeignObject(ident, snapshot, cleanup)


HARNESS = AwsHarness
