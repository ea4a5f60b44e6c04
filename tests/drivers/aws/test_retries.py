"""Creates are retried by lepton, not blindly resent by botocore (issue 7, item 3): one shared
helper (`AwsType.create_call`) makes each create call with botocore's retries off, fills the
operation's idempotency token deterministically, and after a retryable failure looks for the
object before trying again. Faults are injected with botocore's event hooks."""

from __future__ import annotations

from botocore.exceptions import ClientError

from lepton_cli.drivers.aws.common import client_token
from lepton_cli.drivers.base import Primitive

REGION = "us-east-1"


def network(stack: str) -> list[Primitive]:
    resource = f"network-{REGION}"

    def prim(type_: str, props: dict) -> Primitive:
        return Primitive(address=f"{resource}/aws.{type_}", type=f"aws.{type_}", cloud="aws", region=REGION,
                         resource=resource, kind="network", properties=props)
    return [prim("vpc", {"name": stack, "cidr_block": "10.42.0.0/16", "enable_dns_hostnames": True}),
            prim("internet_gateway", {"name": stack, "vpc_id": None}),
            prim("route_table", {"name": stack, "vpc_id": None, "gateway_id": None, "subnet_ids": []})]


def create_network(driver, stack: str):
    vpc_p, igw_p, table_p = network(stack)
    types = [driver.primitive_type(p.type) for p in (vpc_p, igw_p, table_p)]
    vpc = types[0].create(vpc_p, dict(vpc_p.properties))
    igw = types[1].create(igw_p, {**igw_p.properties, "vpc_id": vpc.id})
    table = types[2].create(table_p, {**table_p.properties, "vpc_id": vpc.id, "gateway_id": igw.id})
    return [(types[2], table), (types[1], igw), (types[0], vpc)]


def delete(made) -> None:
    for ptype, observed in made:
        ptype.delete(observed)


def test_the_create_client_leaves_retrying_to_lepton(aws):
    driver = aws.driver()
    assert driver.client("ec2", REGION, retries=False).meta.config.retries["total_max_attempts"] == 1
    assert driver.client("ec2", REGION).meta.config.retries["total_max_attempts"] == 9  # 8 retries
    assert driver.client("ec2", REGION, retries=False) is not driver.client("ec2", REGION)


def test_idempotency_tokens_are_the_same_for_a_rerun_and_differ_for_a_successor():
    params = {"VpcId": "vpc-1", "TagSpecifications": []}
    token = client_token("shop", "network-us-east-1/aws.route_table", params)
    assert len(token) == 64 and token.isascii()  # EC2's limit for a ClientToken
    assert token == client_token("shop", "network-us-east-1/aws.route_table", dict(params))
    assert token != client_token("shop", "network-us-east-1/aws.route_table", {**params, "VpcId": "vpc-2"})
    assert token != client_token("shop", "other/aws.route_table", params)
    assert token != client_token("other", "network-us-east-1/aws.route_table", params)


def test_a_create_that_declares_a_token_sends_the_deterministic_one(aws):
    sent = []

    def record(model, params, **_):
        if model.name == "CreateRouteTable":
            sent.append(params["body"]["ClientToken"])

    first = aws.driver()
    first.session.events.register("before-call", record)
    made = create_network(first, aws.stack)
    table_type, table = made[0]
    vpc_id = made[2][1].id
    address = "network-us-east-1/aws.route_table"
    expected = client_token(aws.stack, address, {"VpcId": vpc_id, "TagSpecifications": [
        {"ResourceType": "route-table", "Tags": table_type.tags(address, aws.stack)}]})
    assert sent == [expected]
    delete(made)


def test_a_create_failing_before_the_work_is_retried_once_more_and_makes_one_object(aws):
    """A 503 on the first attempt (nothing made): lepton looks, finds nothing, backs off and
    creates; every attempt goes out once (botocore resends nothing)."""
    attempts = []

    def unavailable_once(model, **_):
        if model.name == "CreateVpc":
            attempts.append(model.name)
            if len(attempts) == 1:
                raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try again"},
                                   "ResponseMetadata": {"HTTPStatusCode": 503, "HTTPHeaders": {}}}, "CreateVpc")

    driver = aws.driver()
    driver.session.events.register("before-call", unavailable_once)
    made = create_network(driver, aws.stack)
    assert attempts == ["CreateVpc", "CreateVpc"]
    vpcs = aws.client("ec2").describe_vpcs(Filters=[{"Name": "tag:lepton-stack", "Values": [aws.stack]}])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == [made[2][1].id]
    delete(made)


def test_a_refused_create_is_not_retried(aws):
    """An error that is no server fault (a malformed CIDR) is raised at once, without a look."""
    calls = []
    driver = aws.driver()
    driver.session.events.register("before-call", lambda model, **_: calls.append(model.name))
    vpc_p = network(aws.stack)[0]
    try:
        driver.primitive_type("aws.vpc").create(vpc_p, {**vpc_p.properties, "cidr_block": "not-a-cidr"})
    except Exception as exc:  # noqa: BLE001 - the verdict is below
        assert "InvalidParameterValue" in str(exc) or "Invalid" in str(exc), exc
    else:
        raise AssertionError("an invalid CIDR was accepted")
    assert calls.count("CreateVpc") == 1
