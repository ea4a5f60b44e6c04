"""`load_balancer` on AWS: an ALB (http/https listeners) or an NLB (tcp listeners), a target
group per target port with the plan's health check, a listener per entry, and the target
group's attachment to the target compute group's autoscaling group.

The load balancer's security group admits the listener ports from anywhere (a load balancer
with listeners is the plan saying so); the compute group's security group admits its ports from
this security group only (see compute.py). Listeners are keyed by their position, so changing
a listener's port is an in-place `modify_listener`; changing `target` replaces the attachment
(detach from the old group, attach to the new).

Discovery is batched: the driver's discovery (one Resource Groups Tagging API call per region)
finds the stack's load balancers and target groups, describe calls take up to 20 ARNs;
listeners are read per load balancer (the API has no other way), concurrently.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lepton_cli.drivers.aws import firewall, network
from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.errors import missing_ok
from lepton_cli.drivers.base import ExpandContext, NameScope, Observed, Primitive, Ref
from lepton_cli.drivers.names import fit
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import LoadBalancer, Stack

ATTRIBUTES = {
    "id": ("aws.lb", "arn"),
    "name": ("aws.lb", "name"),
    "dns_name": ("aws.lb", "dns_name"),
    "address": ("aws.lb", "dns_name"),
}
BATCH = 20  # describe_load_balancers / describe_target_groups / describe_tags take at most 20 ARNs
LISTENER_PROTOCOLS = {"http": "HTTP", "https": "HTTPS", "tcp": "TCP"}


def network_zones(resource: LoadBalancer) -> int:
    return 2  # an ALB needs subnets in two availability zones


def short_name(*parts: str) -> str:
    """ELB names: at most 32 characters of letters, digits and hyphens; a hash keeps a cut
    name unique and deterministic."""
    return fit("-".join(parts), 32, hash_length=6)


def lb_type(resource: LoadBalancer) -> str:
    return "network" if any(l.protocol == "tcp" for l in resource.listeners) else "application"


def target_port(listener) -> int:
    return listener.target_port or listener.port


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource: LoadBalancer = stack.resources[name]
    problems = []
    protocols = {l.protocol for l in resource.listeners}
    if "tcp" in protocols and protocols != {"tcp"}:
        problems.append(Diagnostic(
            summary="a load balancer's listeners are all http/https (an application load balancer) or all tcp "
                    "(a network load balancer), not both", path=f"resources.{name}.listeners"))
    for i, listener in enumerate(resource.listeners):
        if listener.protocol == "https" and not (listener.certificate or "").startswith("arn:aws:acm:"):
            problems.append(Diagnostic(summary="an https listener on AWS needs an ACM certificate ARN (arn:aws:acm:...)",
                                       path=f"resources.{name}.listeners.{i}.certificate"))
    target = stack.resources.get(resource.target)
    if target is not None and target.kind == "compute":
        for i, listener in enumerate(resource.listeners):
            if target_port(listener) not in target.ports:
                problems.append(Diagnostic(
                    summary=f"listener forwards to port {target_port(listener)}, which {resource.target!r} does not open",
                    path=f"resources.{name}.listeners.{i}",
                    hint=f"add {target_port(listener)} to resources.{resource.target}.ports"))
    return problems


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: LoadBalancer = stack.resources[name]
    problems = validate(stack, name)
    if problems:
        raise LeptonError(*problems)
    kind = lb_type(resource)
    vpc = network.vpc_ref(region)

    def prim(type_: str, props: dict[str, Any], key: str = "") -> Primitive:
        address = f"{name}/aws.{type_}" + (f"/{key}" if key else "")
        return Primitive(address=address, type=f"aws.{type_}", cloud="aws", region=region, resource=name,
                         kind="load_balancer", properties=props)

    ingress = [{"protocol": "tcp", "port": l.port, "cidr": "0.0.0.0/0"} for l in resource.listeners]
    sg = firewall.security_group(stack.stack, name, region, "load_balancer", ingress, vpc)
    balancer = prim("lb", {
        "name": short_name(stack.stack, name), "type": kind, "scheme": "internet-facing",
        "subnet_ids": network.subnet_refs(region, driver.zone_count(stack, region)),
        "security_group_ids": [Ref(sg.address, "id")],
    })
    health = resource.health_check
    groups: dict[int, Primitive] = {}
    for port in sorted({target_port(l) for l in resource.listeners}):
        check: dict[str, Any] = {"port": str(health.port) if health.port else "traffic-port",
                                 "interval": health.interval, "healthy_threshold": health.healthy_threshold,
                                 "unhealthy_threshold": health.unhealthy_threshold}
        check["path"] = health.path if kind == "application" else None
        check["protocol"] = "HTTP" if kind == "application" else "TCP"
        groups[port] = prim("lb_target_group", {
            "name": short_name(stack.stack, name, str(port)), "protocol": "HTTP" if kind == "application" else "TCP",
            "port": port, "vpc_id": vpc, "target_type": "instance", "health_check": check,
        }, str(port))
    listeners = [prim("lb_listener", {
        "load_balancer_arn": Ref(balancer.address, "arn"), "port": l.port,
        "protocol": LISTENER_PROTOCOLS[l.protocol], "certificate_arn": l.certificate if l.protocol == "https" else None,
        "target_group_arn": Ref(groups[target_port(l)].address, "arn"),
    }, str(i)) for i, l in enumerate(resource.listeners)]
    attachments = [prim("autoscaling_attachment", {
        "group_name": ctx.ref(resource.target, "group_id"), "target_group_arn": Ref(group.address, "arn"),
    }, str(port)) for port, group in groups.items()]
    return [sg, balancer, *groups.values(), *listeners, *attachments]


def _tagged_arns(ptype: AwsType, region: str, resource_type: str) -> dict[str, str]:
    """ARN -> address of the stack's objects of an ELB resource type, from discovery."""
    return ptype.discovery(region).arns(resource_type)


def _batches(items: list[str]) -> list[list[str]]:
    return [items[i:i + BATCH] for i in range(0, len(items), BATCH)]


# -- load balancer ------------------------------------------------------------------------------------
def _find_named(ptype: AwsType, primitive: Primitive, properties: dict[str, Any], kind: str, describe: str,
                key: str, arn_key: str, missing: str) -> dict[str, Any] | None:
    """The balancer or target group holding the wanted name, asked now (names are unique per
    region): this address's (adopted), or someone else's (refused)."""
    elb = ptype.client("elbv2", primitive.region)
    with missing_ok(missing), translate(f"looking up {kind}s", primitive.address):
        found = getattr(elb, describe)(Names=[properties["name"]])[key][0]
        tags = _tags_of(elb, [found[arn_key]]).get(found[arn_key])
        ptype.claim(kind, properties["name"], primitive, properties,
                    ptype._observed(primitive.address, primitive.region, found), tags)
        return found
    return None


class LoadBalancerType(AwsType):
    type_name = "aws.lb"
    property_keys = frozenset({"name", "type", "scheme", "subnet_ids", "security_group_ids"})
    output_keys = frozenset({"id", "arn", "name", "dns_name", "zone_id"})
    replace_on = frozenset({"name", "type", "scheme"})
    name_key, name_scope = "name", NameScope.REGION  # load balancer names: one per account and region
    update_notes = {"subnet_ids": "moves the load balancer's subnets",
                    "security_group_ids": "changes the load balancer's security groups"}

    def normalize(self, properties):
        return {**properties, "subnet_ids": sorted(properties["subnet_ids"]),
                "security_group_ids": sorted(properties["security_group_ids"])}

    def _observed(self, address: str, region: str, lb: dict[str, Any]) -> Observed:
        return Observed(address, self.type_name, region, lb["LoadBalancerArn"], {
            "name": lb["LoadBalancerName"], "type": lb["Type"], "scheme": lb.get("Scheme"),
            "subnet_ids": sorted(z["SubnetId"] for z in lb.get("AvailabilityZones", [])),
            "security_group_ids": sorted(lb.get("SecurityGroups", [])),
        }, {"id": lb["LoadBalancerArn"], "arn": lb["LoadBalancerArn"], "name": lb["LoadBalancerName"],
            "dns_name": lb["DNSName"], "zone_id": lb.get("CanonicalHostedZoneId")})

    def list(self, region: str) -> list[Observed]:
        owned = _tagged_arns(self, region, "elasticloadbalancing:loadbalancer")
        elb = self.client("elbv2", region)
        out = []
        with translate("describing load balancers"):
            for batch in _batches(sorted(owned)):
                for lb in elb.describe_load_balancers(LoadBalancerArns=batch)["LoadBalancers"]:
                    out.append(self._observed(owned[lb["LoadBalancerArn"]], region, lb))
        return out

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        # Look first: AWS answers a second create of the same settings with the first balancer,
        # but an emulator makes another of the same name.
        lb = self._find(primitive, properties) or self.create_call(
            primitive, "creating the load balancer", "elbv2", "create_load_balancer", {
                "Name": properties["name"], "Type": properties["type"], "Scheme": properties["scheme"],
                "Subnets": list(properties["subnet_ids"]), "SecurityGroups": list(properties["security_group_ids"]),
                "Tags": self.tags(primitive.address)},
            pick=lambda response: response["LoadBalancers"][0], find=lambda: self._find(primitive, properties),
            taken=("DuplicateLoadBalancerName",))
        with translate("waiting for the load balancer", primitive.address):
            self.client("elbv2", primitive.region).get_waiter("load_balancer_available").wait(
                LoadBalancerArns=[lb["LoadBalancerArn"]],
                WaiterConfig={"Delay": 1 if self.driver.config.sandbox else 15, "MaxAttempts": 80})
        current = self._observed(primitive.address, primitive.region, lb)
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any] | None:
        return _find_named(self, primitive, properties, "load balancer", "describe_load_balancers",
                           "LoadBalancers", "LoadBalancerArn", "LoadBalancerNotFound")

    def update(self, primitive, properties, current, changed) -> Observed:
        elb = self.client("elbv2", primitive.region)
        with translate("updating the load balancer", primitive.address):
            if "subnet_ids" in changed:
                elb.set_subnets(LoadBalancerArn=current.id, Subnets=list(properties["subnet_ids"]))
            if "security_group_ids" in changed:
                elb.set_security_groups(LoadBalancerArn=current.id, SecurityGroups=list(properties["security_group_ids"]))
            lb = elb.describe_load_balancers(LoadBalancerArns=[current.id])["LoadBalancers"][0]
        return self._observed(current.address, current.region, lb)

    def delete(self, current: Observed) -> None:
        elb = self.client("elbv2", current.region)
        with missing_ok("LoadBalancerNotFound"), translate("deleting the load balancer", current.address):
            elb.delete_load_balancer(LoadBalancerArn=current.id)
            elb.get_waiter("load_balancers_deleted").wait(
                LoadBalancerArns=[current.id],
                WaiterConfig={"Delay": 1 if self.driver.config.sandbox else 15, "MaxAttempts": 80})


def _tags_of(elb, arns: list[str]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    with translate("reading tags"):
        for batch in _batches(arns):
            for description in elb.describe_tags(ResourceArns=batch)["TagDescriptions"]:
                out[description["ResourceArn"]] = description.get("Tags", [])
    return out


# -- target group ------------------------------------------------------------------------------------
class TargetGroupType(AwsType):
    type_name = "aws.lb_target_group"
    property_keys = frozenset({"name", "protocol", "port", "vpc_id", "target_type", "health_check"})
    output_keys = frozenset({"id", "arn", "name"})
    replace_on = frozenset({"name", "protocol", "port", "vpc_id", "target_type"})
    name_key, name_scope = "name", NameScope.REGION  # target group names: one per account and region
    update_notes = {"health_check": "changes the health check"}

    def _observed(self, address: str, region: str, tg: dict[str, Any]) -> Observed:
        matcher_path = tg.get("HealthCheckPath") if tg.get("HealthCheckProtocol") in ("HTTP", "HTTPS") else None
        return Observed(address, self.type_name, region, tg["TargetGroupArn"], {
            "name": tg["TargetGroupName"], "protocol": tg["Protocol"], "port": tg["Port"], "vpc_id": tg["VpcId"],
            "target_type": tg.get("TargetType"),
            "health_check": {"port": tg.get("HealthCheckPort", "traffic-port"),
                             "interval": tg.get("HealthCheckIntervalSeconds"),
                             "healthy_threshold": tg.get("HealthyThresholdCount"),
                             "unhealthy_threshold": tg.get("UnhealthyThresholdCount"),
                             "path": matcher_path, "protocol": tg.get("HealthCheckProtocol")},
        }, {"id": tg["TargetGroupArn"], "arn": tg["TargetGroupArn"], "name": tg["TargetGroupName"]})

    def list(self, region: str) -> list[Observed]:
        owned = _tagged_arns(self, region, "elasticloadbalancing:targetgroup")
        elb = self.client("elbv2", region)
        out = []
        with translate("describing target groups"):
            for batch in _batches(sorted(owned)):
                for tg in elb.describe_target_groups(TargetGroupArns=batch)["TargetGroups"]:
                    out.append(self._observed(owned[tg["TargetGroupArn"]], region, tg))
        return out

    @staticmethod
    def _health(properties: dict[str, Any]) -> dict[str, Any]:
        check = properties["health_check"]
        args = {"HealthCheckPort": check["port"], "HealthCheckIntervalSeconds": check["interval"],
                "HealthyThresholdCount": check["healthy_threshold"],
                "UnhealthyThresholdCount": check["unhealthy_threshold"], "HealthCheckProtocol": check["protocol"]}
        if check["path"] is not None:
            args["HealthCheckPath"] = check["path"]
        return args

    def create(self, primitive, properties) -> Observed:
        tg = self._find(primitive, properties) or self.create_call(
            primitive, "creating the target group", "elbv2", "create_target_group", {
                "Name": properties["name"], "Protocol": properties["protocol"], "Port": properties["port"],
                "VpcId": properties["vpc_id"], "TargetType": properties["target_type"],
                "Tags": self.tags(primitive.address), **self._health(properties)},
            pick=lambda response: response["TargetGroups"][0], find=lambda: self._find(primitive, properties),
            taken=("DuplicateTargetGroupName",))
        current = self._observed(primitive.address, primitive.region, tg)
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any] | None:
        return _find_named(self, primitive, properties, "target group", "describe_target_groups",
                           "TargetGroups", "TargetGroupArn", "TargetGroupNotFound")

    def update(self, primitive, properties, current, changed) -> Observed:
        elb = self.client("elbv2", primitive.region)
        with translate("updating the target group's health check", primitive.address):
            tg = elb.modify_target_group(TargetGroupArn=current.id, **self._health(properties))["TargetGroups"][0]
        return self._observed(current.address, current.region, tg)

    def delete(self, current: Observed) -> None:
        with missing_ok("TargetGroupNotFound"), translate("deleting the target group", current.address):
            self.client("elbv2", current.region).delete_target_group(TargetGroupArn=current.id)


# -- listener -----------------------------------------------------------------------------------------
class ListenerType(AwsType):
    type_name = "aws.lb_listener"
    property_keys = frozenset({"load_balancer_arn", "port", "protocol", "certificate_arn", "target_group_arn"})
    output_keys = frozenset({"id", "arn"})
    replace_on = frozenset({"load_balancer_arn"})
    name_key, name_scope, name_parent = "port", NameScope.PARENT, "load_balancer_arn"  # one listener per port
    update_notes = {"port": "moves the listener to another port", "protocol": "changes the listener's protocol",
                    "certificate_arn": "changes the listener's certificate",
                    "target_group_arn": "forwards to another target group"}

    def _observed(self, address: str, region: str, listener: dict[str, Any]) -> Observed:
        forward = next((a.get("TargetGroupArn") for a in listener.get("DefaultActions", []) if a["Type"] == "forward"), None)
        certificates = listener.get("Certificates") or []
        return Observed(address, self.type_name, region, listener["ListenerArn"], {
            "load_balancer_arn": listener["LoadBalancerArn"], "port": listener["Port"], "protocol": listener["Protocol"],
            "certificate_arn": certificates[0]["CertificateArn"] if certificates else None,
            "target_group_arn": forward,
        }, {"id": listener["ListenerArn"], "arn": listener["ListenerArn"]})

    def list(self, region: str) -> list[Observed]:
        balancers = _tagged_arns(self, region, "elasticloadbalancing:loadbalancer")
        if not balancers:
            return []
        elb = self.client("elbv2", region)

        def listeners_of(arn: str) -> list[dict[str, Any]]:
            with missing_ok("LoadBalancerNotFound"), translate("describing listeners"):
                return list(self.paginate("elbv2", region, "describe_listeners", "Listeners", LoadBalancerArn=arn))
            return []

        with ThreadPoolExecutor(max_workers=min(16, len(balancers)), thread_name_prefix="elb-read") as pool:
            listeners = [l for found in pool.map(listeners_of, sorted(balancers)) for l in (found or [])]
        tags = _tags_of(elb, [l["ListenerArn"] for l in listeners])
        return [self._observed(address, region, l) for l in listeners
                if (address := self.owned(tags.get(l["ListenerArn"])))]

    def _args(self, properties: dict[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {"Port": properties["port"], "Protocol": properties["protocol"],
                                "DefaultActions": [{"Type": "forward", "TargetGroupArn": properties["target_group_arn"]}]}
        if properties["certificate_arn"]:
            args["Certificates"] = [{"CertificateArn": properties["certificate_arn"]}]
        return args

    def create(self, primitive, properties) -> Observed:
        listener = self._find(primitive, properties) or self.create_call(
            primitive, "creating the listener", "elbv2", "create_listener", {
                "LoadBalancerArn": properties["load_balancer_arn"], "Tags": self.tags(primitive.address),
                **self._args(properties)},
            pick=lambda response: response["Listeners"][0], find=lambda: self._find(primitive, properties),
            taken=("DuplicateListener",))
        current = self._observed(primitive.address, primitive.region, listener)
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any] | None:
        """This address's listener on the load balancer, asked now; a listener of another
        holding the wanted port is refused (CreateListener answers with an existing listener of
        the same settings: never take one that is not this address's)."""
        elb = self.client("elbv2", primitive.region)
        with translate("reading listeners", primitive.address):
            existing = elb.describe_listeners(LoadBalancerArn=properties["load_balancer_arn"])["Listeners"]
        tags = _tags_of(elb, [l["ListenerArn"] for l in existing]) if existing else {}
        for listener in existing:
            if self.owned(tags.get(listener["ListenerArn"])) == primitive.address:  # an earlier attempt
                return listener
        for listener in existing:
            if listener["Port"] == properties["port"]:
                holder = self.owned(tags.get(listener["ListenerArn"]))
                if holder is None:
                    raise self.refuse_foreign("listener", f"port {properties['port']}", primitive.address,
                                              tags.get(listener["ListenerArn"]))
                raise LeptonError(f"port {properties['port']} of the load balancer is still taken by {holder}; "
                                  f"run lepton apply again once it has moved")
        return None

    def update(self, primitive, properties, current, changed) -> Observed:
        with translate("updating the listener", primitive.address):
            listener = self.client("elbv2", primitive.region).modify_listener(
                ListenerArn=current.id, **self._args(properties))["Listeners"][0]
        return self._observed(current.address, current.region, listener)

    def delete(self, current: Observed) -> None:
        with missing_ok("ListenerNotFound"), translate("deleting the listener", current.address):
            self.client("elbv2", current.region).delete_listener(ListenerArn=current.id)


# -- attachment of the target group to the compute group ---------------------------------------------
class AttachmentType(AwsType):
    """A target group attached to an autoscaling group. It has no tags of its own: it is found
    through the stack's (tagged) groups and target groups, and named after its target group."""

    type_name = "aws.autoscaling_attachment"
    property_keys = frozenset({"group_name", "target_group_arn"})
    output_keys = frozenset({"id"})
    replace_on = frozenset({"group_name", "target_group_arn"})

    def list(self, region: str) -> list[Observed]:
        groups = self.discovery(region).groups()
        if not groups:
            return []
        target_groups = _tagged_arns(self, region, "elasticloadbalancing:targetgroup")
        out = []
        for _, group in groups:
            for arn in group.get("TargetGroupARNs", []):
                if arn in target_groups:
                    address = target_groups[arn].replace("/aws.lb_target_group/", "/aws.autoscaling_attachment/")
                    name = group["AutoScalingGroupName"]
                    out.append(Observed(address, self.type_name, region, f"{name}|{arn}",
                                        {"group_name": name, "target_group_arn": arn}, {"id": f"{name}|{arn}"}))
        return out

    def create(self, primitive, properties) -> Observed:
        self.create_call(primitive, "attaching the compute group to the load balancer", "autoscaling",
                         "attach_load_balancer_target_groups", {  # idempotent: a retry attaches again
                             "AutoScalingGroupName": properties["group_name"],
                             "TargetGroupARNs": [properties["target_group_arn"]]})
        ident = f"{properties['group_name']}|{properties['target_group_arn']}"
        return Observed(primitive.address, self.type_name, primitive.region, ident, dict(properties), {"id": ident})

    def update(self, primitive, properties, current, changed) -> Observed:
        return self.create(primitive, properties)

    def delete(self, current: Observed) -> None:
        with missing_ok("ValidationError"), translate("detaching the compute group", current.address):
            self.client("autoscaling", current.region).detach_load_balancer_target_groups(
                AutoScalingGroupName=current.properties["group_name"],
                TargetGroupARNs=[current.properties["target_group_arn"]])


TYPES = [LoadBalancerType, TargetGroupType, ListenerType, AttachmentType]
