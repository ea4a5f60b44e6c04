"""`compute` on AWS: a security group, a launch template and an autoscaling group (plus a
target-tracking policy on CPU with `autoscale`).

Changing `count` updates the group's desired capacity in place. Changing the image, size or
user data rolls a new launch template version and makes it the default, which the group's new
instances use; running instances are not replaced by lepton (use an instance refresh).
"""

from __future__ import annotations

import base64
from typing import Any

from lepton_cli.catalog.resolver import InstanceType, check_instance_type, choose_size, describe
from lepton_cli.drivers.aws import firewall, network
from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.errors import missing_ok
from lepton_cli.drivers.aws.tags import tag_dict
from lepton_cli.drivers.base import ExpandContext, NameScope, Observed, Primitive, Ref
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Compute, Stack

ATTRIBUTES = {
    "id": ("aws.autoscaling_group", "arn"),
    "name": ("aws.autoscaling_group", "name"),
    "group_id": ("aws.autoscaling_group", "name"),
}


# Every instance's root volume (encrypted gp3, gone with the instance) and metadata service
# (IMDSv2 only): lepton's settings, stated as properties so that a drifted template is seen.
ROOT_VOLUME = {"device": "/dev/sda1", "type": "gp3", "encrypted": True, "delete_on_termination": True}
METADATA = {"http_tokens": "required", "http_endpoint": "enabled"}
CPU_METRIC = "ASGAverageCPUUtilization"
# The group tag that says lepton keeps a scaling policy on it (policies take no tags): a
# group without it has none of lepton's, and its policies are not even listed.
POLICY_TAG = "lepton-scaling-policy"

# With `autoscale`, the group's current capacity is the autoscaler's, not the plan's: it is set
# (to the minimum) when the group is created and never diffed after.
AUTOSCALER_OWNS = frozenset({"desired_capacity"})


def network_zones(resource: Compute) -> int:
    return resource.zones


def instance_type(resource: Compute) -> InstanceType:
    return instance_choice(resource)[0]


def instance_choice(resource: Compute) -> tuple[InstanceType, list[str]]:
    """The type a group runs, and notes on how `size` was resolved (for the plan)."""
    if resource.instance_type is not None:
        name = resource.instance_type
        if isinstance(name, dict):
            if "aws" not in name:
                raise LeptonError("instance_type names no type for aws; add `aws: <type>` to the map or use size")
            name = name["aws"]
        return check_instance_type("aws", name), []
    return choose_size("aws", resource.size)


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    from lepton_cli.drivers.aws.images import ALIASES

    resource = stack.resources[name]
    problems = []
    try:
        instance_type(resource)
    except LeptonError as exc:
        problems += [_at(d, name, "instance_type" if resource.instance_type else "size") for d in exc.diagnostics]
    if not resource.image.startswith("ami-") and resource.image not in ALIASES:
        from lepton_cli.spec.suggest import did_you_mean

        problems.append(Diagnostic(summary=f"unknown image {resource.image!r}", path=f"resources.{name}.image",
                                   hint=did_you_mean(resource.image, ALIASES) or f"aliases: {', '.join(ALIASES)}"))
    return problems


def _at(d: Diagnostic, name: str, key: str) -> Diagnostic:
    return Diagnostic(summary=d.summary, detail=d.detail, hint=d.hint, path=f"resources.{name}.{key}")


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Compute = stack.resources[name]
    itype, notes = instance_choice(resource)
    image_id = driver.images.resolve(region, resource.image, itype.arch)
    balancers = [n for n, r in stack.resources.items()
                 if r.kind == "load_balancer" and r.target == name and stack.cloud_of(n) == "aws"]
    ingress = []
    for port in resource.ports:
        ingress += [{"protocol": "tcp", "port": port, "source_security_group_id": Ref(f"{lb}/aws.security_group", "id")}
                    for lb in balancers]
        ingress += [{"protocol": "tcp", "port": port, "cidr": cidr} for cidr in resource.allow_from]
    sg = firewall.security_group(stack.stack, name, region, "compute", ingress, network.vpc_ref(region))
    physical = f"{stack.stack}-{name}"

    def prim(type_: str, props: dict[str, Any], ignore_changes: frozenset[str] = frozenset(),
             summary: tuple[str, ...] = ()) -> Primitive:
        return Primitive(address=f"{name}/aws.{type_}", type=f"aws.{type_}", cloud="aws", region=region,
                         resource=name, kind="compute", properties=props, ignore_changes=ignore_changes,
                         summary=summary)

    template = prim("launch_template", {
        "name": physical, "image_id": image_id, "instance_type": itype.name,
        "user_data": ctx.interpolate(resource.user_data) if resource.user_data else "",
        "disk_gb": resource.disk_gb, "spot": resource.spot, "security_group_ids": [Ref(sg.address, "id")],
        "root_volume": dict(ROOT_VOLUME), "metadata": dict(METADATA),
    }, summary=(*describe(itype, (resource.autoscale.min, resource.autoscale.max) if resource.autoscale
                          else resource.desired_count), *(f"note: {n}" for n in notes)))
    size = (resource.autoscale.min, resource.autoscale.max) if resource.autoscale else (resource.desired_count,) * 2
    group = prim("autoscaling_group", {
        "name": physical, "launch_template_id": Ref(template.address, "id"), "launch_template_version": "$Default",
        "min_size": size[0], "max_size": size[1], "desired_capacity": resource.desired_count,
        "subnet_ids": network.subnet_refs(region, resource.zones),
    }, AUTOSCALER_OWNS if resource.autoscale else frozenset())
    prims = [sg, template, group]
    if resource.autoscale:
        prims.append(prim("scaling_policy", {"name": f"{physical}-cpu", "group_name": Ref(group.address, "name"),
                                             "metric": CPU_METRIC, "target_cpu": float(resource.autoscale.target_cpu)}))
    return prims


# -- launch template ------------------------------------------------------------------------------
def _template_data(properties: dict[str, Any]) -> dict[str, Any]:
    root, metadata = properties["root_volume"], properties["metadata"]
    data: dict[str, Any] = {
        "ImageId": properties["image_id"], "InstanceType": properties["instance_type"],
        "SecurityGroupIds": list(properties["security_group_ids"]),
        "BlockDeviceMappings": [{"DeviceName": root["device"], "Ebs": {
            "VolumeSize": properties["disk_gb"], "VolumeType": root["type"],
            "DeleteOnTermination": root["delete_on_termination"], "Encrypted": root["encrypted"]}}],
        "MetadataOptions": {"HttpTokens": metadata["http_tokens"], "HttpEndpoint": metadata["http_endpoint"]},
    }
    if properties["user_data"]:
        data["UserData"] = base64.b64encode(properties["user_data"].encode()).decode()
    if properties["spot"]:
        data["InstanceMarketOptions"] = {"MarketType": "spot"}
    return data


def _template_properties(name: str, data: dict[str, Any]) -> dict[str, Any]:
    disk = (data.get("BlockDeviceMappings") or [{}])[0]
    ebs, metadata = disk.get("Ebs", {}), data.get("MetadataOptions") or {}
    user_data = data.get("UserData")
    return {
        "name": name, "image_id": data.get("ImageId"), "instance_type": data.get("InstanceType"),
        "user_data": base64.b64decode(user_data).decode(errors="replace") if user_data else "",
        "disk_gb": ebs.get("VolumeSize"),
        "spot": (data.get("InstanceMarketOptions") or {}).get("MarketType") == "spot",
        "security_group_ids": sorted(data.get("SecurityGroupIds", [])),
        "root_volume": {"device": disk.get("DeviceName"), "type": ebs.get("VolumeType"),
                        "encrypted": ebs.get("Encrypted"), "delete_on_termination": ebs.get("DeleteOnTermination")},
        "metadata": {"http_tokens": metadata.get("HttpTokens"), "http_endpoint": metadata.get("HttpEndpoint")},
    }


class LaunchTemplateType(AwsType):
    type_name = "aws.launch_template"
    property_keys = frozenset({"name", "image_id", "instance_type", "user_data", "disk_gb", "spot",
                               "security_group_ids", "root_volume", "metadata"})
    output_keys = frozenset({"id", "name", "version"})
    replace_on = frozenset({"name"})
    name_key, name_scope = "name", NameScope.REGION  # template names: one per account and region
    update_notes = {k: "rolls a new launch template version" for k in (
        "image_id", "instance_type", "user_data", "disk_gb", "spot", "security_group_ids", "root_volume", "metadata")}

    def normalize(self, properties):
        return {**properties, "security_group_ids": sorted(properties["security_group_ids"])}

    def list(self, region: str) -> list[Observed]:
        # Templates are not in (moto's) tagging API, but name the stack's security group: none
        # exist where discovery finds no network of the stack.
        if not self.discovery(region).networked():
            return []
        owned = {t["LaunchTemplateId"]: (address, t)
                 for address, t in self.ec2_owned(region, "describe_launch_templates", "LaunchTemplates", page_size=200)}
        if not owned:
            return []
        # One call for the default version of every template (AWS allows omitting the id with $Default).
        out = []
        for version in self.paginate("ec2", region, "describe_launch_template_versions", "LaunchTemplateVersions",
                                     page_size=200, Versions=["$Default"]):
            if version["LaunchTemplateId"] in owned:
                address, template = owned[version["LaunchTemplateId"]]
                out.append(self._observed(address, region, template, version))
        return out

    def _observed(self, address: str, region: str, template: dict, version: dict) -> Observed:
        return Observed(address, self.type_name, region, template["LaunchTemplateId"],
                        _template_properties(template["LaunchTemplateName"], version["LaunchTemplateData"]),
                        {"id": template["LaunchTemplateId"], "name": template["LaunchTemplateName"],
                         "version": version["VersionNumber"]})

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        current = self.create_call(primitive, "creating the launch template", "ec2", "create_launch_template", {
            "LaunchTemplateName": properties["name"], "LaunchTemplateData": _template_data(properties),
            "TagSpecifications": [{"ResourceType": "launch-template", "Tags": self.tags(primitive.address)}],
        }, pick=lambda response: Observed(
            primitive.address, self.type_name, primitive.region, response["LaunchTemplate"]["LaunchTemplateId"],
            dict(properties), {"id": response["LaunchTemplate"]["LaunchTemplateId"], "name": properties["name"],
                               "version": response["LaunchTemplate"]["LatestVersionNumber"]}),
            find=lambda: self._find(primitive, properties), taken=("InvalidLaunchTemplateName.AlreadyExistsException",))
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> Observed | None:
        """The template holding the wanted name, asked now: this address's earlier attempt (as
        `list` reads it), or someone else's (refused)."""
        ec2 = self.client("ec2", primitive.region)
        with missing_ok("InvalidLaunchTemplateName.NotFoundException"), \
                translate("reading the launch template", primitive.address):
            (template,) = ec2.describe_launch_templates(LaunchTemplateNames=[properties["name"]])["LaunchTemplates"]
            if self.owned(template.get("Tags")) != primitive.address:
                raise self.refuse_foreign("launch template", properties["name"], primitive.address, template.get("Tags"))
            (version,) = ec2.describe_launch_template_versions(
                LaunchTemplateId=template["LaunchTemplateId"], Versions=["$Default"])["LaunchTemplateVersions"]
            found = self._observed(primitive.address, primitive.region, template, version)
            self.claim("launch template", properties["name"], primitive, properties, found, template.get("Tags"))
            return found
        return None

    def update(self, primitive, properties, current, changed) -> Observed:
        version = self.create_call(primitive, "rolling a new launch template version", "ec2",
                                   "create_launch_template_version", {
                                       "LaunchTemplateId": current.id, "LaunchTemplateData": _template_data(properties),
                                       "VersionDescription": "lepton apply"},
                                   pick=lambda response: response["LaunchTemplateVersion"]["VersionNumber"])
        with translate("rolling a new launch template version", primitive.address):
            self.client("ec2", primitive.region).modify_launch_template(
                LaunchTemplateId=current.id, DefaultVersion=str(version))
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties),
                        {"id": current.id, "name": properties["name"], "version": version})

    def delete(self, current: Observed) -> None:
        with missing_ok("InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed",
                        "InvalidLaunchTemplateName.NotFoundException"), \
                translate("deleting the launch template", current.address):
            self.client("ec2", current.region).delete_launch_template(LaunchTemplateId=current.id)


# -- autoscaling group --------------------------------------------------------------------------------
class AutoscalingGroupType(AwsType):
    type_name = "aws.autoscaling_group"
    property_keys = frozenset({"name", "launch_template_id", "launch_template_version", "min_size", "max_size",
                               "desired_capacity", "subnet_ids"})
    output_keys = frozenset({"id", "arn", "name", "target_group_arns"})
    replace_on = frozenset({"name"})
    name_key, name_scope = "name", NameScope.REGION  # group names: one per account and region
    update_notes = {"desired_capacity": "changes desired capacity", "min_size": "changes group bounds",
                    "max_size": "changes group bounds", "subnet_ids": "moves the group's zones",
                    "launch_template_id": "switches launch template",
                    "launch_template_version": "switches launch template version"}

    def normalize(self, properties):
        return {**properties, "subnet_ids": sorted(properties["subnet_ids"])}

    def _observed(self, address: str, region: str, group: dict[str, Any]) -> Observed:
        template = group.get("LaunchTemplate") or {}
        subnets = sorted(s for s in group.get("VPCZoneIdentifier", "").split(",") if s)
        return Observed(address, self.type_name, region, group["AutoScalingGroupName"],
                        {"name": group["AutoScalingGroupName"], "launch_template_id": template.get("LaunchTemplateId"),
                         "launch_template_version": template.get("Version"),
                         "min_size": group["MinSize"], "max_size": group["MaxSize"],
                         "desired_capacity": group["DesiredCapacity"], "subnet_ids": subnets},
                        {"id": group["AutoScalingGroupARN"], "arn": group["AutoScalingGroupARN"],
                         "name": group["AutoScalingGroupName"],
                         "target_group_arns": sorted(group.get("TargetGroupARNs", []))})

    def list(self, region: str) -> list[Observed]:
        return [self._observed(address, region, g) for address, g in self.discovery(region).groups()]

    def _settings(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {"AutoScalingGroupName": properties["name"],
                "LaunchTemplate": {"LaunchTemplateId": properties["launch_template_id"],
                                   "Version": properties["launch_template_version"]},
                "MinSize": properties["min_size"], "MaxSize": properties["max_size"],
                "DesiredCapacity": properties["desired_capacity"],
                "VPCZoneIdentifier": ",".join(properties["subnet_ids"])}

    def _read(self, region: str, name: str) -> dict[str, Any] | None:
        with translate("reading the autoscaling group"):
            groups = self.client("autoscaling", region).describe_auto_scaling_groups(
                AutoScalingGroupNames=[name])["AutoScalingGroups"]
        return groups[0] if groups else None

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any] | None:
        """The group holding the wanted name, asked now: this address's (adopted), or someone
        else's (refused)."""
        group = self._read(primitive.region, properties["name"])
        if group is not None:
            self.claim("autoscaling group", properties["name"], primitive, properties,
                       self._observed(primitive.address, primitive.region, group), group.get("Tags"))
        return group

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        group = self._find(primitive, properties)
        if group is None:
            tags = [{**t, "PropagateAtLaunch": True, "ResourceId": properties["name"],
                     "ResourceType": "auto-scaling-group"} for t in self.tags(primitive.address, properties["name"])]
            group = self.create_call(primitive, "creating the autoscaling group", "autoscaling",
                                     "create_auto_scaling_group", {**self._settings(properties), "Tags": tags},
                                     pick=lambda _: None, find=lambda: self._find(primitive, properties),
                                     taken=("AlreadyExists",)) or self._read(primitive.region, properties["name"])
        current = self._observed(primitive.address, primitive.region, group)
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def update(self, primitive, properties, current, changed) -> Observed:
        with translate("updating the autoscaling group", primitive.address):
            settings = self._settings(properties)
            if "desired_capacity" not in changed:  # the autoscaler's, or unchanged: never reset it
                del settings["DesiredCapacity"]
            self.client("autoscaling", primitive.region).update_auto_scaling_group(**settings)
        return self._observed(primitive.address, primitive.region, self._read(primitive.region, properties["name"]))

    def delete(self, current: Observed) -> None:
        asg = self.client("autoscaling", current.region)
        with missing_ok("ValidationError"), translate("deleting the autoscaling group", current.address):
            asg.delete_auto_scaling_group(AutoScalingGroupName=current.id, ForceDelete=True)
        with translate("waiting for the autoscaling group to go", current.address):
            _group_gone_waiter(asg, sandbox=self.driver.config.sandbox).wait(
                AutoScalingGroupNames=[current.id])


def _group_gone_waiter(client, sandbox: bool):
    """boto3 ships GroupExists/GroupInService/GroupNotExists only for some versions; define
    the same waiter with botocore's waiter machinery so the SDK does the polling."""
    from botocore.waiter import WaiterModel, create_waiter_with_client

    model = WaiterModel({"version": 2, "waiters": {"GroupGone": {
        "operation": "DescribeAutoScalingGroups", "delay": 1 if sandbox else 15, "maxAttempts": 120,
        "acceptors": [{"matcher": "path", "argument": "length(AutoScalingGroups) > `0`",
                       "expected": False, "state": "success"}]}}})
    return create_waiter_with_client("GroupGone", model, client)


# -- target tracking policy -------------------------------------------------------------------------
class ScalingPolicyType(AwsType):
    """A target-tracking policy on average CPU. Policies carry no tags: they are found through
    the stack's (tagged) groups, each marked with the `POLICY_TAG` naming lepton's policy on it
    (set before the policy is put, removed after it is deleted), so a group without the mark
    costs no policy listing."""

    type_name = "aws.scaling_policy"
    property_keys = frozenset({"name", "group_name", "metric", "target_cpu"})
    output_keys = frozenset({"id", "arn"})
    replace_on = frozenset({"name", "group_name"})
    # Policy names are unique per group: PutScalingPolicy on a taken name overwrites that policy.
    name_key, name_scope, name_parent = "name", NameScope.PARENT, "group_name"

    def list(self, region: str) -> list[Observed]:
        marked = {g["AutoScalingGroupName"]: (address, tag_dict(g.get("Tags")).get(POLICY_TAG))
                  for address, g in self.discovery(region).groups() if POLICY_TAG in tag_dict(g.get("Tags"))}
        if not marked:
            return []
        out = []
        for policy in self.paginate("autoscaling", region, "describe_policies", "ScalingPolicies"):
            group = policy.get("AutoScalingGroupName")
            if group in marked and policy["PolicyName"] == marked[group][1]:
                resource = marked[group][0].split("/", 1)[0]
                config = policy.get("TargetTrackingConfiguration") or {}
                metric = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
                out.append(Observed(f"{resource}/aws.scaling_policy", self.type_name, region, policy["PolicyARN"],
                                    {"name": policy["PolicyName"], "group_name": group, "metric": metric,
                                     "target_cpu": float(config.get("TargetValue", 0))},
                                    {"id": policy["PolicyARN"], "arn": policy["PolicyARN"]}))
        return out

    def create(self, primitive, properties) -> Observed:
        group = properties["group_name"]
        self.create_call(primitive, "marking the group's scaling policy", "autoscaling", "create_or_update_tags", {
            "Tags": [{"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": POLICY_TAG,
                      "Value": properties["name"], "PropagateAtLaunch": False}]})
        arn = self.create_call(primitive, "setting the CPU scaling policy", "autoscaling", "put_scaling_policy", {
            "AutoScalingGroupName": group, "PolicyName": properties["name"], "PolicyType": "TargetTrackingScaling",
            "TargetTrackingConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": properties["metric"]},
                "TargetValue": properties["target_cpu"]},
        }, pick=lambda response: response.get("PolicyARN"))
        if arn is None:  # not every implementation echoes it: read it back
            with translate("reading the CPU scaling policy", primitive.address):
                arn = self.client("autoscaling", primitive.region).describe_policies(
                    AutoScalingGroupName=group, PolicyNames=[properties["name"]])["ScalingPolicies"][0]["PolicyARN"]
        return Observed(primitive.address, self.type_name, primitive.region, arn, dict(properties),
                        {"id": arn, "arn": arn})

    def update(self, primitive, properties, current, changed) -> Observed:
        return self.create(primitive, properties)  # put_scaling_policy overwrites in place

    def delete(self, current: Observed) -> None:
        asg = self.client("autoscaling", current.region)
        group = current.properties["group_name"]
        with missing_ok("ValidationError"), translate("deleting the scaling policy", current.address):
            asg.delete_policy(AutoScalingGroupName=group, PolicyName=current.properties["name"])
        with missing_ok("ValidationError"), translate("unmarking the group's scaling policy", current.address):
            asg.delete_tags(Tags=[{"ResourceId": group, "ResourceType": "auto-scaling-group", "Key": POLICY_TAG}])


TYPES = [LaunchTemplateType, AutoscalingGroupType, ScalingPolicyType]
