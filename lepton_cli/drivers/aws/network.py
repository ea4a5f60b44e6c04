"""The implicit per-region network of a stack on AWS: a VPC, a public subnet per zone, an
internet gateway and a route table. Resources that need it reference these by address."""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.aws.common import AwsType, name_tag, translate
from lepton_cli.drivers.aws.errors import error_code
from lepton_cli.drivers.aws.errors import missing_ok as _missing_ok
from lepton_cli.drivers.base import NameScope, Observed, Primitive, Ref
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Stack

VPC_CIDR = "10.42.0.0/16"


def network_resource(region: str) -> str:
    return f"network-{region}"


def vpc_ref(region: str) -> Ref:
    return Ref(f"{network_resource(region)}/aws.vpc", "id")


def subnet_refs(region: str, zones: int) -> list[Ref]:
    return [Ref(f"{network_resource(region)}/aws.subnet/{i}", "id") for i in range(zones)]


def subnet_cidr(index: int) -> str:
    return f"10.42.{index * 16}.0/20"


def expand_network(driver, stack: Stack, region: str, zones: int) -> list[Primitive]:
    resource = network_resource(region)
    azs = driver.availability_zones(region)
    if zones > len(azs):
        from lepton_cli.errors import LeptonError

        raise LeptonError(f"region {region} has {len(azs)} availability zones; a resource asks for {zones}")

    def prim(type_: str, props: dict[str, Any], key: str = "") -> Primitive:
        address = f"{resource}/aws.{type_}" + (f"/{key}" if key else "")
        return Primitive(address=address, type=f"aws.{type_}", cloud="aws", region=region, resource=resource,
                         kind="network", properties=props)

    vpc = vpc_ref(region)
    subnets = subnet_refs(region, zones)
    prims = [prim("vpc", {"name": f"{stack.stack}-{region}", "cidr_block": VPC_CIDR})]
    prims += [prim("subnet", {"name": f"{stack.stack}-{region}-{i}", "vpc_id": vpc, "cidr_block": subnet_cidr(i),
                              "availability_zone": azs[i]}, str(i)) for i in range(zones)]
    gateway = Ref(f"{resource}/aws.internet_gateway", "id")
    prims.append(prim("internet_gateway", {"name": f"{stack.stack}-{region}", "vpc_id": vpc}))
    prims.append(prim("route_table", {"name": f"{stack.stack}-{region}", "vpc_id": vpc, "gateway_id": gateway,
                                      "subnet_ids": subnets}))
    return prims


class _NamedType(AwsType):
    """A network object whose only in-place change is its Name tag."""

    def update(self, primitive, properties, current, changed) -> Observed:
        _retag(self, primitive.region, current.id, properties["name"], primitive.address)
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties), current.outputs)


class VpcType(_NamedType):
    """No name or CIDR is unique to a VPC, so create looks for its own earlier attempt first."""

    type_name = "aws.vpc"
    property_keys = frozenset({"name", "cidr_block"})
    output_keys = frozenset({"id"})
    replace_on = frozenset({"cidr_block"})

    def list(self, region: str) -> list[Observed]:
        return [Observed(address, self.type_name, region, vpc["VpcId"],
                         {"name": _name(vpc), "cidr_block": vpc["CidrBlock"]}, {"id": vpc["VpcId"]})
                for address, vpc in self.ec2_owned(region, "describe_vpcs", "Vpcs")]

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        existing = [o for o in self.list(primitive.region) if self.adoptable(o, primitive.address, properties)]
        if existing:
            return existing[0]
        ec2 = self.client("ec2", primitive.region)
        with translate("creating the VPC", primitive.address):
            vpc = ec2.create_vpc(CidrBlock=properties["cidr_block"], TagSpecifications=[
                {"ResourceType": "vpc", "Tags": self.tags(primitive.address, properties["name"])}])["Vpc"]
            if vpc.get("State") != "available":
                ec2.get_waiter("vpc_available").wait(VpcIds=[vpc["VpcId"]],
                                                     WaiterConfig={"Delay": 2, "MaxAttempts": 60})
            ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": True})
        return Observed(primitive.address, self.type_name, primitive.region, vpc["VpcId"], dict(properties),
                        {"id": vpc["VpcId"]})

    def delete(self, current: Observed) -> None:
        with _missing_ok("InvalidVpcID.NotFound"), translate("deleting the VPC", current.address):
            self.client("ec2", current.region).delete_vpc(VpcId=current.id)


class SubnetType(_NamedType):
    """A subnet's CIDR block is its unique key in its VPC (no two may even overlap): create
    tries first, and only a conflict makes it look for an earlier attempt of its own."""

    type_name = "aws.subnet"
    property_keys = frozenset({"name", "vpc_id", "cidr_block", "availability_zone"})
    output_keys = frozenset({"id", "availability_zone"})
    replace_on = frozenset({"vpc_id", "cidr_block", "availability_zone"})
    name_key, name_scope, name_parent = "cidr_block", NameScope.PARENT, "vpc_id"

    def can_coexist(self, current, properties, region):
        same_vpc = properties.get("vpc_id") == current.properties.get("vpc_id")
        new, old = properties.get("cidr_block"), current.properties.get("cidr_block")
        if same_vpc and isinstance(new, str) and isinstance(old, str) and new != old:
            import ipaddress

            if ipaddress.ip_network(new).overlaps(ipaddress.ip_network(old)):
                return f"the successor's CIDR block {new} overlaps {old}, and subnets of a VPC may not overlap"
        return super().can_coexist(current, properties, region)

    def list(self, region: str) -> list[Observed]:
        return [Observed(address, self.type_name, region, sn["SubnetId"],
                         {"name": _name(sn), "vpc_id": sn["VpcId"], "cidr_block": sn["CidrBlock"],
                          "availability_zone": sn["AvailabilityZone"]},
                         {"id": sn["SubnetId"], "availability_zone": sn["AvailabilityZone"]})
                for address, sn in self.ec2_owned(region, "describe_subnets", "Subnets")]

    def create(self, primitive, properties) -> Observed:
        ec2 = self.client("ec2", primitive.region)
        try:
            with translate("creating a subnet", primitive.address):
                subnet = ec2.create_subnet(
                    VpcId=properties["vpc_id"], CidrBlock=properties["cidr_block"],
                    AvailabilityZone=properties["availability_zone"],
                    TagSpecifications=[{"ResourceType": "subnet",
                                        "Tags": self.tags(primitive.address, properties["name"])}],
                )["Subnet"]
        except LeptonError as exc:
            if error_code(exc.__cause__) != "InvalidSubnet.Conflict":
                raise
            mine = [o for o in self.list(primitive.region) if self.adoptable(o, primitive.address, properties)]
            if not mine:
                raise self.refuse_foreign("subnet", properties["cidr_block"], primitive.address) from None
            subnet = {"SubnetId": mine[0].id}
        with translate("creating a subnet", primitive.address):
            # Instances behind a public load balancer still need outbound internet access.
            ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        return Observed(primitive.address, self.type_name, primitive.region, subnet["SubnetId"], dict(properties),
                        {"id": subnet["SubnetId"], "availability_zone": properties["availability_zone"]})

    def delete(self, current: Observed) -> None:
        with _missing_ok("InvalidSubnetID.NotFound"), translate("deleting a subnet", current.address):
            self.client("ec2", current.region).delete_subnet(SubnetId=current.id)


class InternetGatewayType(_NamedType):
    """Nothing names a gateway uniquely, so create looks for its own earlier attempt first."""

    type_name = "aws.internet_gateway"
    property_keys = frozenset({"name", "vpc_id"})
    output_keys = frozenset({"id"})
    replace_on = frozenset({"vpc_id"})
    name_key, name_scope = "vpc_id", NameScope.GLOBAL  # a VPC takes one internet gateway

    def list(self, region: str) -> list[Observed]:
        out = []
        for address, igw in self.ec2_owned(region, "describe_internet_gateways", "InternetGateways"):
            attached = [a["VpcId"] for a in igw.get("Attachments", []) if a.get("State") in ("available", "attached")]
            out.append(Observed(address, self.type_name, region, igw["InternetGatewayId"],
                                {"name": _name(igw), "vpc_id": attached[0] if attached else None},
                                {"id": igw["InternetGatewayId"]}))
        return out

    def create(self, primitive, properties) -> Observed:
        # An unattached gateway of this address is an earlier attempt too (one attached to
        # another VPC is a predecessor waiting for its delete).
        existing = [o for o in self.list(primitive.region) if o.address == primitive.address
                    and o.properties.get("vpc_id") in (None, properties["vpc_id"])]
        ec2 = self.client("ec2", primitive.region)
        with translate("creating the internet gateway", primitive.address):
            if existing:
                gateway_id = existing[0].id
                attached = existing[0].properties["vpc_id"]
            else:
                gateway_id = ec2.create_internet_gateway(TagSpecifications=[{
                    "ResourceType": "internet-gateway",
                    "Tags": self.tags(primitive.address, properties["name"])}])["InternetGateway"]["InternetGatewayId"]
                attached = None
            if attached != properties["vpc_id"]:
                ec2.attach_internet_gateway(InternetGatewayId=gateway_id, VpcId=properties["vpc_id"])
        return Observed(primitive.address, self.type_name, primitive.region, gateway_id, dict(properties),
                        {"id": gateway_id})

    def delete(self, current: Observed) -> None:
        ec2 = self.client("ec2", current.region)
        with _missing_ok("InvalidInternetGatewayID.NotFound"), translate("deleting the internet gateway", current.address):
            if current.properties.get("vpc_id"):
                with _missing_ok("Gateway.NotAttached", "InvalidVpcID.NotFound"):
                    ec2.detach_internet_gateway(InternetGatewayId=current.id, VpcId=current.properties["vpc_id"])
            ec2.delete_internet_gateway(InternetGatewayId=current.id)


class RouteTableType(AwsType):
    """A route table with a default route to the internet gateway, associated with every subnet."""

    type_name = "aws.route_table"
    property_keys = frozenset({"name", "vpc_id", "gateway_id", "subnet_ids"})
    output_keys = frozenset({"id", "associations"})
    replace_on = frozenset({"vpc_id"})

    def normalize(self, properties):
        return {**properties, "subnet_ids": sorted(properties["subnet_ids"])}

    def list(self, region: str) -> list[Observed]:
        out = []
        for address, table in self.ec2_owned(region, "describe_route_tables", "RouteTables"):
            gateway = next((r.get("GatewayId") for r in table.get("Routes", [])
                            if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
            subnets = sorted(a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId"))
            out.append(Observed(address, self.type_name, region, table["RouteTableId"],
                                {"name": _name(table), "vpc_id": table["VpcId"], "gateway_id": gateway,
                                 "subnet_ids": subnets},
                                {"id": table["RouteTableId"],
                                 "associations": {a["SubnetId"]: a["RouteTableAssociationId"]
                                                  for a in table.get("Associations", []) if a.get("SubnetId")}}))
        return out

    def create(self, primitive, properties) -> Observed:
        # Nothing names a route table uniquely: look for an earlier attempt of this create first.
        existing = [o for o in self.list(primitive.region) if self.adoptable(o, primitive.address, properties)]
        if existing:
            return self.update(primitive, properties, existing[0], {"gateway_id", "subnet_ids"})
        ec2 = self.client("ec2", primitive.region)
        with translate("creating the route table", primitive.address):
            table_id = ec2.create_route_table(VpcId=properties["vpc_id"], TagSpecifications=[{
                "ResourceType": "route-table",
                "Tags": self.tags(primitive.address, properties["name"])}])["RouteTable"]["RouteTableId"]
        current = Observed(primitive.address, self.type_name, primitive.region, table_id,
                           {"name": properties["name"], "vpc_id": properties["vpc_id"], "gateway_id": None,
                            "subnet_ids": []}, {"id": table_id, "associations": {}})
        return self.update(primitive, properties, current, {"gateway_id", "subnet_ids"})

    def update(self, primitive, properties, current, changed) -> Observed:
        ec2 = self.client("ec2", primitive.region)
        associations = dict(current.outputs.get("associations", {}))
        with translate("updating the route table", primitive.address):
            if "gateway_id" in changed:
                if current.properties.get("gateway_id"):
                    ec2.replace_route(RouteTableId=current.id, DestinationCidrBlock="0.0.0.0/0",
                                      GatewayId=properties["gateway_id"])
                else:
                    ec2.create_route(RouteTableId=current.id, DestinationCidrBlock="0.0.0.0/0",
                                     GatewayId=properties["gateway_id"])
            wanted = set(properties["subnet_ids"])
            for subnet, association in list(associations.items()):
                if subnet not in wanted:
                    ec2.disassociate_route_table(AssociationId=association)
                    del associations[subnet]
            for subnet in sorted(wanted - set(associations)):
                associations[subnet] = ec2.associate_route_table(RouteTableId=current.id, SubnetId=subnet)["AssociationId"]
            if "name" in changed:
                _retag(self, primitive.region, current.id, properties["name"], primitive.address)
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties),
                        {"id": current.id, "associations": associations})

    def delete(self, current: Observed) -> None:
        ec2 = self.client("ec2", current.region)
        with _missing_ok("InvalidRouteTableID.NotFound"), translate("deleting the route table", current.address):
            for association in current.outputs.get("associations", {}).values():
                with _missing_ok("InvalidAssociationID.NotFound"):
                    ec2.disassociate_route_table(AssociationId=association)
            ec2.delete_route_table(RouteTableId=current.id)


TYPES = [VpcType, SubnetType, InternetGatewayType, RouteTableType]


def _name(item: dict[str, Any]) -> str | None:
    return name_tag(item)


def _retag(ptype: AwsType, region: str, resource_id: str, name: str, address: str) -> None:
    with translate("tagging", address):
        ptype.client("ec2", region).create_tags(Resources=[resource_id], Tags=ptype.tags(address, name))
