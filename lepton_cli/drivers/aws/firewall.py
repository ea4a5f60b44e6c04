"""Security groups: what `ports` and `allow_from` open, and to whom. Nothing is open to the
world unless the plan says so (an `allow_from` of 0.0.0.0/0, or a load balancer's listeners).

Ingress and egress are sorted lists of rules, each `{"protocol", "port", "cidr"}` or
`{"protocol", "port", "source_security_group_id"}` (protocol "-1" with port None: all traffic);
changing them is an in-place update that authorizes and revokes only the difference. Egress is
what AWS gives a new group (all outbound), stated so that a group that lost it is repaired.
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.errors import already_done, missing_ok
from lepton_cli.drivers.base import NameScope, Observed, Primitive, Ref


ALL_OUTBOUND = {"protocol": "-1", "port": None, "cidr": "0.0.0.0/0"}  # a new group's egress


def rule_key(rule: dict[str, Any]) -> tuple:
    source = rule.get("cidr") or rule.get("source_security_group_id")
    port = rule["port"]
    return (-1 if port is None else port, "cidr" in rule, str(source), str(rule["protocol"]))


def security_group(stack: str, name: str, region: str, kind: str, ingress: list[dict[str, Any]],
                   vpc: Ref) -> Primitive:
    """The security group of resource `name` (address `<name>/aws.security_group`)."""
    return Primitive(
        address=f"{name}/aws.security_group", type="aws.security_group", cloud="aws", region=region,
        resource=name, kind=kind,
        properties={"name": f"{stack}-{name}", "description": f"lepton stack {stack}: {name}",
                    "vpc_id": vpc, "ingress": sorted(ingress, key=rule_key), "egress": [dict(ALL_OUTBOUND)]},
    )


def _permissions(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        perm: dict[str, Any] = {"IpProtocol": rule["protocol"]}
        if rule["port"] is not None:
            perm.update({"FromPort": rule["port"], "ToPort": rule["port"]})
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
    property_keys = frozenset({"name", "description", "vpc_id", "ingress", "egress"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "vpc_id", "description"})
    name_key, name_scope, name_parent = "name", NameScope.PARENT, "vpc_id"  # group names: one per VPC
    update_notes = {"ingress": "changes firewall rules", "egress": "changes outbound firewall rules"}

    def normalize(self, properties):
        return {**properties, "ingress": sorted(properties["ingress"], key=rule_key),
                "egress": sorted(properties["egress"], key=rule_key)}

    def _observed(self, address: str, region: str, group: dict[str, Any]) -> Observed:
        return Observed(address, self.type_name, region, group["GroupId"],
                        {"name": group["GroupName"], "description": group["Description"], "vpc_id": group["VpcId"],
                         "ingress": _rules(group.get("IpPermissions", [])),
                         "egress": _rules(group.get("IpPermissionsEgress", []))},
                        {"id": group["GroupId"], "name": group["GroupName"]})

    def list(self, region: str) -> list[Observed]:
        return [self._observed(address, region, group) for address, group in self.ec2_owned(
            region, "describe_security_groups", "SecurityGroups", kind="ec2:security-group")]

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """Create first (the name is unique in the VPC, so AWS refuses a second); only a taken
        name or a lost answer costs a look, to adopt this address's earlier attempt or refuse
        another's group."""
        group = self.create_call(primitive, "creating the security group", "ec2", "create_security_group", {
            "GroupName": properties["name"], "Description": properties["description"], "VpcId": properties["vpc_id"],
            "TagSpecifications": [{"ResourceType": "security-group",
                                   "Tags": self.tags(primitive.address, properties["name"])}],
        }, pick=lambda response: {"GroupId": response["GroupId"], "GroupName": properties["name"],
                                  "Description": properties["description"], "VpcId": properties["vpc_id"],
                                  "IpPermissionsEgress": _permissions([ALL_OUTBOUND])},
            find=lambda: self._find(primitive, properties), taken=("InvalidGroup.Duplicate",))
        current = self._observed(primitive.address, primitive.region, group)
        return self.update(primitive, properties, current, self.differs(primitive, current, properties))

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> dict[str, Any] | None:
        """The group holding the wanted name in the VPC, asked now: this address's earlier
        attempt, or someone else's (refused)."""
        with translate("looking up security groups", primitive.address):
            groups = self.client("ec2", primitive.region).describe_security_groups(Filters=[
                {"Name": "group-name", "Values": [properties["name"]]},
                {"Name": "vpc-id", "Values": [properties["vpc_id"]]}])["SecurityGroups"]
        if not groups:
            return None
        group = groups[0]
        self.claim("security group", properties["name"], primitive, properties,
                   self._observed(primitive.address, primitive.region, group), group.get("Tags"))
        return group

    def update(self, primitive, properties, current, changed) -> Observed:
        ec2 = self.client("ec2", primitive.region)
        with translate("updating the security group's rules", primitive.address):
            for direction in ("ingress", "egress"):
                have = {rule_key(r): r for r in current.properties.get(direction, [])}
                want = {rule_key(r): r for r in properties[direction]}
                revoke = [have[k] for k in have.keys() - want.keys()]
                grant = [want[k] for k in want.keys() - have.keys()]
                # A rule call whose earlier attempt did the work says Duplicate / NotFound.
                if revoke:
                    with already_done("InvalidPermission.NotFound"):
                        getattr(ec2, f"revoke_security_group_{direction}")(
                            GroupId=current.id, IpPermissions=_permissions(revoke))
                if grant:
                    with already_done("InvalidPermission.Duplicate"):
                        getattr(ec2, f"authorize_security_group_{direction}")(
                            GroupId=current.id, IpPermissions=_permissions(grant))
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties),
                        {"id": current.id, "name": properties["name"]})

    def delete(self, current: Observed) -> None:
        ec2 = self.client("ec2", current.region)
        with missing_ok("InvalidGroup.NotFound"), translate("deleting the security group", current.address):
            ec2.delete_security_group(GroupId=current.id)


TYPES = [SecurityGroupType]
