"""The implicit per-region network of a stack on AWS: a VPC, a public subnet per zone, an
internet gateway and a route table. Resources that need it reference these by address."""

from __future__ import annotations

from functools import partial
from typing import Any

from lepton_cli.drivers.aws.common import AwsType, concurrently, name_tag, translate
from lepton_cli.drivers.aws.errors import already_done, error_code
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
    prims = [prim("vpc", {"name": f"{stack.stack}-{region}", "cidr_block": VPC_CIDR, "enable_dns_hostnames": True})]
    # Public subnets: instances behind a public load balancer still need outbound internet access.
    prims += [prim("subnet", {"name": f"{stack.stack}-{region}-{i}", "vpc_id": vpc, "cidr_block": subnet_cidr(i),
                              "availability_zone": azs[i], "map_public_ip_on_launch": True}, str(i))
              for i in range(zones)]
    gateway = Ref(f"{resource}/aws.internet_gateway", "id")
    prims.append(prim("internet_gateway", {"name": f"{stack.stack}-{region}", "vpc_id": vpc}))
    prims.append(prim("route_table", {"name": f"{stack.stack}-{region}", "vpc_id": vpc, "gateway_id": gateway,
                                      "subnet_ids": subnets}))
    return prims


class VpcType(AwsType):
    """No name or CIDR is unique to a VPC, so create looks for its own earlier attempt first."""

    type_name = "aws.vpc"
    property_keys = frozenset({"name", "cidr_block", "enable_dns_hostnames"})
    output_keys = frozenset({"id"})
    replace_on = frozenset({"cidr_block"})
    update_notes = {"enable_dns_hostnames": "changes the VPC's DNS hostnames"}

    def _observed(self, address: str, region: str, vpc: dict[str, Any], dns_hostnames: bool | None = None) -> Observed:
        properties = {"name": _name(vpc), "cidr_block": vpc["CidrBlock"]}
        if dns_hostnames is not None:
            properties["enable_dns_hostnames"] = dns_hostnames
        return Observed(address, self.type_name, region, vpc["VpcId"], properties, {"id": vpc["VpcId"]})

    def list(self, region: str) -> list[Observed]:
        vpcs = list(self.ec2_owned(region, "describe_vpcs", "Vpcs", kind="ec2:vpc"))
        dns = dict(concurrently(lambda vpc: (vpc["VpcId"], self._dns_hostnames(region, vpc["VpcId"])),
                                [vpc for _, vpc in vpcs]))
        return [self._observed(address, region, vpc, dns[vpc["VpcId"]]) for address, vpc in vpcs
                if dns[vpc["VpcId"]] is not None]

    def _dns_hostnames(self, region: str, vpc_id: str) -> bool | None:
        """DescribeVpcs does not report DNS settings; DescribeVpcAttribute reads one VPC's (None:
        the VPC is gone)."""
        with _missing_ok("InvalidVpcID.NotFound"), translate("reading the VPC's DNS settings"):
            return self.client("ec2", region).describe_vpc_attribute(
                VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
        return None

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        find = partial(self.ec2_find, primitive, properties, "describe_vpcs", "Vpcs", self._observed)
        vpc = find() or self.create_call(primitive, "creating the VPC", "ec2", "create_vpc", {
            "CidrBlock": properties["cidr_block"],
            "TagSpecifications": [{"ResourceType": "vpc", "Tags": self.tags(primitive.address, properties["name"])}],
        }, pick=lambda response: response["Vpc"], find=find)
        if vpc.get("State") != "available":
            with translate("waiting for the VPC", primitive.address):
                self.client("ec2", primitive.region).get_waiter("vpc_available").wait(
                    VpcIds=[vpc["VpcId"]], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
        current = self._observed(primitive.address, primitive.region, vpc)  # DNS settings not read: set them
        return self.update(primitive, properties, current, self.differs(primitive, current, properties))

    def update(self, primitive, properties, current, changed) -> Observed:
        if "enable_dns_hostnames" in changed:
            with translate("setting the VPC's DNS hostnames", primitive.address):
                self.client("ec2", primitive.region).modify_vpc_attribute(
                    VpcId=current.id, EnableDnsHostnames={"Value": properties["enable_dns_hostnames"]})
        if "name" in changed:
            _retag(self, primitive.region, current.id, properties["name"], primitive.address)
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties),
                        {"id": current.id})

    def delete(self, current: Observed) -> None:
        with _missing_ok("InvalidVpcID.NotFound"), translate("deleting the VPC", current.address):
            self.client("ec2", current.region).delete_vpc(VpcId=current.id)


class SubnetType(AwsType):
    """A subnet's CIDR block is its unique key in its VPC (no two may even overlap): create
    tries first, and only a conflict makes it look for an earlier attempt of its own."""

    type_name = "aws.subnet"
    property_keys = frozenset({"name", "vpc_id", "cidr_block", "availability_zone", "map_public_ip_on_launch"})
    output_keys = frozenset({"id", "availability_zone"})
    replace_on = frozenset({"vpc_id", "cidr_block", "availability_zone"})
    name_key, name_scope, name_parent = "cidr_block", NameScope.PARENT, "vpc_id"
    update_notes = {"map_public_ip_on_launch": "changes whether new instances get public addresses"}

    def can_coexist(self, current, properties, region):
        same_vpc = properties.get("vpc_id") == current.properties.get("vpc_id")
        new, old = properties.get("cidr_block"), current.properties.get("cidr_block")
        if same_vpc and isinstance(new, str) and isinstance(old, str) and new != old:
            import ipaddress

            if ipaddress.ip_network(new).overlaps(ipaddress.ip_network(old)):
                return f"the successor's CIDR block {new} overlaps {old}, and subnets of a VPC may not overlap"
        return super().can_coexist(current, properties, region)

    def _observed(self, address: str, region: str, subnet: dict[str, Any]) -> Observed:
        return Observed(address, self.type_name, region, subnet["SubnetId"],
                        {"name": _name(subnet), "vpc_id": subnet["VpcId"], "cidr_block": subnet["CidrBlock"],
                         "availability_zone": subnet["AvailabilityZone"],
                         "map_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch"))},
                        {"id": subnet["SubnetId"], "availability_zone": subnet["AvailabilityZone"]})

    def list(self, region: str) -> list[Observed]:
        return [self._observed(address, region, subnet)
                for address, subnet in self.ec2_owned(region, "describe_subnets", "Subnets", kind="ec2:subnet")]

    def create(self, primitive, properties) -> Observed:
        try:
            subnet = self.create_call(primitive, "creating a subnet", "ec2", "create_subnet", {
                "VpcId": properties["vpc_id"], "CidrBlock": properties["cidr_block"],
                "AvailabilityZone": properties["availability_zone"],
                "TagSpecifications": [{"ResourceType": "subnet",
                                       "Tags": self.tags(primitive.address, properties["name"])}],
            }, pick=lambda response: response["Subnet"], taken=("InvalidSubnet.Conflict",),
                find=partial(self.ec2_find, primitive, properties, "describe_subnets", "Subnets", self._observed))
        except LeptonError as exc:
            if error_code(exc.__cause__) != "InvalidSubnet.Conflict":
                raise
            raise self.refuse_foreign("subnet", properties["cidr_block"], primitive.address) from None
        current = self._observed(primitive.address, primitive.region, subnet)
        return self.update(primitive, properties, current, self.differs(primitive, current, properties))

    def update(self, primitive, properties, current, changed) -> Observed:
        if "map_public_ip_on_launch" in changed:
            with translate("setting the subnet's public addressing", primitive.address):
                self.client("ec2", primitive.region).modify_subnet_attribute(
                    SubnetId=current.id, MapPublicIpOnLaunch={"Value": properties["map_public_ip_on_launch"]})
        if "name" in changed:
            _retag(self, primitive.region, current.id, properties["name"], primitive.address)
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties),
                        {"id": current.id, "availability_zone": properties["availability_zone"]})

    def delete(self, current: Observed) -> None:
        with _missing_ok("InvalidSubnetID.NotFound"), translate("deleting a subnet", current.address):
            self.client("ec2", current.region).delete_subnet(SubnetId=current.id)


class InternetGatewayType(AwsType):
    """Nothing names a gateway uniquely, so create looks for its own earlier attempt first.
    Its VPC is an attachment, changed in place: a gateway a killed create left unattached is
    attached by the next apply, not replaced."""

    type_name = "aws.internet_gateway"
    property_keys = frozenset({"name", "vpc_id"})
    output_keys = frozenset({"id"})
    name_key, name_scope = "vpc_id", NameScope.GLOBAL  # a VPC takes one internet gateway
    update_notes = {"vpc_id": "moves the gateway to another VPC"}

    def _observed(self, address: str, region: str, igw: dict[str, Any]) -> Observed:
        attached = [a["VpcId"] for a in igw.get("Attachments", []) if a.get("State") in ("available", "attached")]
        return Observed(address, self.type_name, region, igw["InternetGatewayId"],
                        {"name": _name(igw), "vpc_id": attached[0] if attached else None},
                        {"id": igw["InternetGatewayId"]})

    def list(self, region: str) -> list[Observed]:
        return [self._observed(address, region, igw) for address, igw in self.ec2_owned(
            region, "describe_internet_gateways", "InternetGateways", kind="ec2:internet-gateway")]

    def adoptable(self, found, address, properties) -> bool:
        # An unattached gateway of this address is an earlier attempt too (one attached to
        # another VPC is a predecessor waiting for its delete).
        return found.address == address and found.properties.get("vpc_id") in (None, properties["vpc_id"])

    def create(self, primitive, properties) -> Observed:
        find = partial(self.ec2_find, primitive, properties, "describe_internet_gateways", "InternetGateways",
                       self._observed)
        igw = find() or self.create_call(primitive, "creating the internet gateway", "ec2", "create_internet_gateway", {
            "TagSpecifications": [{"ResourceType": "internet-gateway",
                                   "Tags": self.tags(primitive.address, properties["name"])}],
        }, pick=lambda response: response["InternetGateway"], find=find)
        current = self._observed(primitive.address, primitive.region, igw)
        return self.update(primitive, properties, current, self.differs(primitive, current, properties))

    def update(self, primitive, properties, current, changed) -> Observed:
        attached = current.properties.get("vpc_id")
        if attached != properties["vpc_id"]:
            ec2 = self.client("ec2", primitive.region)
            # A detach or attach resent after its first attempt did the work says so: done.
            with translate("attaching the internet gateway", primitive.address):
                if attached:
                    with already_done("Gateway.NotAttached"):
                        ec2.detach_internet_gateway(InternetGatewayId=current.id, VpcId=attached)
                with already_done("Resource.AlreadyAssociated"):
                    ec2.attach_internet_gateway(InternetGatewayId=current.id, VpcId=properties["vpc_id"])
        if "name" in changed:
            _retag(self, primitive.region, current.id, properties["name"], primitive.address)
        return Observed(current.address, self.type_name, current.region, current.id, dict(properties), {"id": current.id})

    def delete(self, current: Observed) -> None:
        ec2 = self.client("ec2", current.region)
        with _missing_ok("InvalidInternetGatewayID.NotFound"), translate("deleting the internet gateway", current.address):
            if current.properties.get("vpc_id"):
                with _missing_ok("Gateway.NotAttached", "InvalidVpcID.NotFound"):
                    ec2.detach_internet_gateway(InternetGatewayId=current.id, VpcId=current.properties["vpc_id"])
            ec2.delete_internet_gateway(InternetGatewayId=current.id)


class RouteTableType(AwsType):
    """A route table with a default route to the internet gateway, associated with every subnet.
    Nothing names a route table uniquely, so create looks for its own earlier attempt first."""

    type_name = "aws.route_table"
    property_keys = frozenset({"name", "vpc_id", "gateway_id", "subnet_ids"})
    output_keys = frozenset({"id", "associations"})
    replace_on = frozenset({"vpc_id"})

    def normalize(self, properties):
        return {**properties, "subnet_ids": sorted(properties["subnet_ids"])}

    def _observed(self, address: str, region: str, table: dict[str, Any]) -> Observed:
        gateway = next((r.get("GatewayId") for r in table.get("Routes", [])
                        if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
        associations = {a["SubnetId"]: a["RouteTableAssociationId"] for a in table.get("Associations", [])
                        if a.get("SubnetId")}
        return Observed(address, self.type_name, region, table["RouteTableId"],
                        {"name": _name(table), "vpc_id": table["VpcId"], "gateway_id": gateway,
                         "subnet_ids": sorted(associations)},
                        {"id": table["RouteTableId"], "associations": associations})

    def list(self, region: str) -> list[Observed]:
        return [self._observed(address, region, table) for address, table in self.ec2_owned(
            region, "describe_route_tables", "RouteTables", kind="ec2:route-table")]

    def create(self, primitive, properties) -> Observed:
        find = partial(self.ec2_find, primitive, properties, "describe_route_tables", "RouteTables", self._observed)
        table = find() or self.create_call(primitive, "creating the route table", "ec2", "create_route_table", {
            "VpcId": properties["vpc_id"],
            "TagSpecifications": [{"ResourceType": "route-table",
                                   "Tags": self.tags(primitive.address, properties["name"])}],
        }, pick=lambda response: response["RouteTable"], find=find)
        current = self._observed(primitive.address, primitive.region, table)
        return self.update(primitive, properties, current, self.differs(primitive, current, properties))

    def update(self, primitive, properties, current, changed) -> Observed:
        ec2 = self.client("ec2", primitive.region)
        associations = dict(current.outputs.get("associations", {}))
        with translate("updating the route table", primitive.address):
            if "gateway_id" in changed:
                _default_route(ec2, current.id, properties["gateway_id"], bool(current.properties.get("gateway_id")))
            wanted = set(properties["subnet_ids"])
            for subnet, association in list(associations.items()):
                if subnet not in wanted:
                    with already_done("InvalidAssociationID.NotFound"):
                        ec2.disassociate_route_table(AssociationId=association)
                    del associations[subnet]
            for subnet in sorted(wanted - set(associations)):
                associations[subnet] = _associate(ec2, current.id, subnet)
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


def _default_route(ec2, table_id: str, gateway_id: str, exists: bool) -> None:
    """Point 0.0.0.0/0 at the gateway. A CreateRoute whose earlier attempt did the work says
    RouteAlreadyExists: ReplaceRoute (idempotent) then makes sure it points at this gateway."""
    from botocore.exceptions import ClientError

    route = {"RouteTableId": table_id, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": gateway_id}
    if not exists:
        try:
            ec2.create_route(**route)
            return
        except ClientError as exc:
            if error_code(exc) != "RouteAlreadyExists":
                raise
    ec2.replace_route(**route)


def _associate(ec2, table_id: str, subnet_id: str) -> str:
    """Associate the subnet; an association whose earlier attempt did the work says
    Resource.AlreadyAssociated: its id is then read from the table."""
    from botocore.exceptions import ClientError

    try:
        return ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)["AssociationId"]
    except ClientError as exc:
        if error_code(exc) != "Resource.AlreadyAssociated":
            raise
        (table,) = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
        for association in table.get("Associations", []):
            if association.get("SubnetId") == subnet_id:
                return association["RouteTableAssociationId"]
        raise


TYPES = [VpcType, SubnetType, InternetGatewayType, RouteTableType]


def _name(item: dict[str, Any]) -> str | None:
    return name_tag(item)


def _retag(ptype: AwsType, region: str, resource_id: str, name: str, address: str) -> None:
    with translate("tagging", address):
        ptype.client("ec2", region).create_tags(Resources=[resource_id], Tags=ptype.tags(address, name))
