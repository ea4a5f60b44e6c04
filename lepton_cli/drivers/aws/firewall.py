"""Security groups: what `ports` and `allow_from` open, and to whom. Nothing is open to the
world unless the plan says so (an `allow_from` of 0.0.0.0/0, or a load balancer's listeners).

Ingress is a sorted list of rules, each `{"protocol", "port", "cidr"}` or
`{"protocol", "port", "source_security_group_id"}`; changing it is an in-place update that
authorizes and revokes only the difference. Egress stays AWS's default (all outbound).
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.errors import error_code, missing_ok
from lepton_cli.drivers.base import NameScope, Observed, Primitive, Ref
from lepton_cli.errors import LeptonError


def rule_key(rule: dict[str, Any]) -> tuple:
    source = rule.get("cidr") or rule.get("source_security_group_id")
    return (rule["port"], "cidr" in rule, str(source))


def security_group(stack: str, name: str, region: str, kind: str, ingress: list[dict[str, Any]],
                   vpc: Ref) -> Primitive:
    """The security group of resource `name` (address `<name>/aws.security_group`)."""
    return Primitive(
        address=f"{name}/aws.security_group", type="aws.security_group", cloud="aws", region=region,
        resource=name, kind=kind,
        properties={"name": f"{stack}-{name}", "description": f"lepton stack {stack}: {name}",
                    "vpc_id": vpc, "ingress": sorted(ingress, key=rule_key)},
    )


def _permissions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        perm: dict[str, Any] = {"IpProtocol": rule["protocol"], "FromPort": rule["port"], "ToPort": rule["port"]}
        if "cidr" in rule:
            perm["IpRanges"] = [{"CidrIp": rule["cidr"]}]
        else:
            perm["UserIdGroupPairs"] = [{"GroupId": rule["source_security_group_id"]}]
        out.append(perm)
    return out


def _rules(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rules = []
    for perm in permissions:
        base = {"protocol": perm.get("IpProtocol"), "port": perm.get("FromPort")}
        rules += [{**base, "cidr": r["CidrIp"]} for r in perm.get("IpRanges", [])]
        rules += [{**base, "source_security_group_id": p["GroupId"]} for p in perm.get("UserIdGroupPairs", [])]
    return sorted(rules, key=rule_key)


class SecurityGroupType(AwsType):
    type_name = "aws.security_group"
    property_keys = frozenset({"name", "description", "vpc_id", "ingress"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "vpc_id", "description"})
    name_key, name_scope, name_parent = "name", NameScope.PARENT, "vpc_id"  # group names: one per VPC
    update_notes = {"ingress": "changes firewall rules"}

    def normalize(self, properties):
        return {**properties, "ingress": sorted(properties["ingress"], key=rule_key)}

    def _observed(self, address: str, region: str, group: dict[str, Any]) -> Observed:
        return Observed(address, self.type_name, region, group["GroupId"],
                        {"name": group["GroupName"], "description": group["Description"], "vpc_id": group["VpcId"],
                         "ingress": _rules(group.get("IpPermissions", []))},
                        {"id": group["GroupId"], "name": group["GroupName"]})

    def list(self, region: str) -> list[Observed]:
        return [self._observed(address, region, group)
                for address, group in self.ec2_owned(region, "describe_security_groups", "SecurityGroups")]

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """Create first (the name is unique in the VPC, so AWS refuses a second); only a taken
        name costs a look, to adopt this address's earlier attempt or refuse another's group."""
        ec2 = self.client("ec2", primitive.region)
        try:
            with translate("creating the security group", primitive.address):
                group_id = ec2.create_security_group(
                    GroupName=properties["name"], Description=properties["description"], VpcId=properties["vpc_id"],
                    TagSpecifications=[{"ResourceType": "security-group",
                                        "Tags": self.tags(primitive.address, properties["name"])}])["GroupId"]
        except LeptonError as exc:
            if error_code(exc.__cause__) != "InvalidGroup.Duplicate":
                raise
            return self._adopt(ec2, primitive, properties)
        with translate("creating the security group", primitive.address):
            if properties["ingress"]:
                ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=_permissions(properties["ingress"]))
        return Observed(primitive.address, self.type_name, primitive.region, group_id, dict(properties),
                        {"id": group_id, "name": properties["name"]})

    def _adopt(self, ec2, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        with translate("looking up security groups", primitive.address):
            group = ec2.describe_security_groups(Filters=[
                {"Name": "group-name", "Values": [properties["name"]]},
                {"Name": "vpc-id", "Values": [properties["vpc_id"]]}])["SecurityGroups"][0]
        current = self._observed(primitive.address, primitive.region, group)
        if self.owned(group.get("Tags")) != primitive.address or \
                not self.adoptable(current, primitive.address, properties):
            raise self.refuse_foreign("security group", properties["name"], primitive.address, group.get("Tags"))
        return self.update(primitive, properties, current, {"ingress"})

    def update(self, primitive, properties, current, changed) -> Observed:
        ec2 = self.client("ec2", primitive.region)
        have = {rule_key(r): r for r in current.properties.get("ingress", [])}
        want = {rule_key(r): r for r in properties["ingress"]}
        with translate("updating the security group's rules", primitive.address):
            revoke = [have[k] for k in have.keys() - want.keys()]
            grant = [want[k] for k in want.keys() - have.keys()]
            if revoke:
                ec2.revoke_security_group_ingress(GroupId=current.id, IpPermissions=_permissions(revoke))
            if grant:
                ec2.authorize_security_group_ingress(GroupId=current.id, IpPermissions=_permissions(grant))
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties),
                        {"id": current.id, "name": properties["name"]})

    def delete(self, current: Observed) -> None:
        ec2 = self.client("ec2", current.region)
        with missing_ok("InvalidGroup.NotFound"), translate("deleting the security group", current.address):
            ec2.delete_security_group(GroupId=current.id)


TYPES = [SecurityGroupType]

