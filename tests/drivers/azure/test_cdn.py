"""cdn on Azure: Front Door Standard (profile, endpoint, origin group, origin, route) in front of
a bucket or a load balancer, through the real driver and engine against the ARM emulator,
checked with azure-mgmt-cdn directly."""

from __future__ import annotations

from lepton_cli.drivers.azure.cdn import endpoint_name, profile_name
from lepton_cli.spec.loader import load_plan_text

PROFILE, ENDPOINT, GROUP, ORIGIN, ROUTE = (f"cdn/azure.{t}" for t in (
    "cdn_profile", "afd_endpoint", "afd_origin_group", "afd_origin", "afd_route"))
BUCKET_ORIGIN = """\
resources:
  assets:
    kind: bucket
    public: true
  cdn:
    kind: cdn
    origin: assets
    default_ttl: {ttl}
    https_only: {https_only}
"""
LB_ORIGIN = """\
resources:
  web:
    kind: compute
    instance_type: Standard_B2s
    count: 1
    ports: [8080]
  lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80, protocol: http, target_port: 8080}]
    health_check: {path: /healthz}
  cdn:
    kind: cdn
    origin: lb
"""


def bucket_origin(ttl: int = 3600, https_only: str = "true") -> str:
    return BUCKET_ORIGIN.format(ttl=ttl, https_only=https_only)


def profiles(azure) -> list[str]:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return [p.name for p in azure.client("cdn").profiles.list_by_resource_group(azure.group)]
    except ResourceNotFoundError:
        return []


def test_bucket_origin_route_settings_and_in_place_updates(azure):
    azure.converge(bucket_origin())
    cdn, storage = azure.client("cdn"), azure.client("storage")
    state = azure.store.read().primitives
    profile, endpoint = profile_name(azure.stack, "cdn"), endpoint_name(azure.stack, "cdn", azure.driver().subscription)
    got = cdn.profiles.get(azure.group, profile)
    assert (got.sku.name, got.location.lower()) == ("Standard_AzureFrontDoor", "global")
    host = cdn.afd_endpoints.get(azure.group, profile, endpoint).host_name
    assert host and host.startswith(endpoint) and state[ENDPOINT].outputs["host_name"] == host
    account_name = state["assets/azure.storage_account"].properties["name"]
    account = storage.storage_accounts.get_properties(azure.group, account_name)
    blob_host = account.primary_endpoints.blob.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    (origin,) = cdn.afd_origins.list_by_origin_group(azure.group, profile, "origins")
    assert origin.host_name == blob_host == origin.origin_host_header
    route = cdn.routes.get(azure.group, profile, endpoint, "default")
    assert route.origin_group.id.lower() == state[GROUP].id.lower()
    assert (route.origin_path, route.patterns_to_match, route.forwarding_protocol) == ("/content", ["/*"], "HttpsOnly")
    assert sorted(route.supported_protocols) == ["Http", "Https"]
    assert (route.https_redirect, route.link_to_default_domain) == ("Enabled", "Enabled")
    assert route.cache_configuration.query_string_caching_behavior == "IgnoreQueryString"

    changed = bucket_origin(ttl=0, https_only="false")
    (change,) = azure.plan(changed).actionable
    assert (change.address, change.action.value, set(change.diff)) == (ROUTE, "update", {"https_redirect", "caching"})
    azure.converge(changed)
    route = cdn.routes.get(azure.group, profile, endpoint, "default")
    assert route.https_redirect == "Disabled" and route.cache_configuration is None
    azure.destroy(changed)
    assert profiles(azure) == []


def test_default_ttl_and_private_bucket_are_explained(azure):
    body = bucket_origin().replace("public: true", "public: false")
    from lepton_cli.engine.expand import expand_stack

    loaded = load_plan_text(azure.text(body))

    desired = {p.address: p for p in expand_stack(loaded.stack, {"azure": azure.driver()})}
    route = desired[ROUTE]
    assert any("default_ttl" in line for line in route.summary)
    assert any("not public" in line for line in route.summary)


def test_load_balancer_origin_uses_its_dns_name_and_health_path(azure):
    azure.converge(LB_ORIGIN)
    cdn, network = azure.client("cdn"), azure.client("network")
    state = azure.store.read().primitives
    profile = profile_name(azure.stack, "cdn")
    ip = network.public_ip_addresses.get(azure.group, state["lb/azure.public_ip"].properties["name"])
    fqdn = ip.dns_settings.fqdn
    (origin,) = cdn.afd_origins.list_by_origin_group(azure.group, profile, "origins")
    assert (origin.host_name, origin.origin_host_header, origin.http_port) == (fqdn, fqdn, 80)
    group = cdn.afd_origin_groups.get(azure.group, profile, "origins")
    assert (group.health_probe_settings.probe_path, group.health_probe_settings.probe_protocol) == ("/healthz", "Http")
    route = cdn.routes.get(azure.group, profile, endpoint_name(azure.stack, "cdn", azure.driver().subscription),
                           "default")
    assert route.forwarding_protocol == "HttpOnly" and route.origin_path is None
    azure.destroy(LB_ORIGIN)
    assert profiles(azure) == []


def test_origins_front_door_cannot_serve_are_validate_errors(azure):
    from lepton_cli.drivers.azure.cdn import validate

    aws_bucket = ("resources:\n  assets:\n    kind: bucket\n    cloud: aws\n    region: us-east-1\n"
                  "  cdn:\n    kind: cdn\n    origin: assets\n")
    (problem,) = validate(load_plan_text(azure.text(aws_bucket)).stack, "cdn")
    assert "bucket on Azure" in problem.summary
    tcp_lb = LB_ORIGIN.replace("protocol: http, target_port: 8080", "protocol: tcp").replace("[8080]", "[80]")
    (problem,) = validate(load_plan_text(azure.text(tcp_lb)).stack, "cdn")
    assert "tcp" in problem.summary
    aws_lb = ("resources:\n  web:\n    kind: compute\n    cloud: aws\n    region: us-east-1\n    count: 1\n"
              "    instance_type: t3.micro\n"
              "    ports: [8080]\n  lb:\n    kind: load_balancer\n    cloud: aws\n    region: us-east-1\n"
              "    target: web\n"
              "    listeners: [{port: 80, protocol: http, target_port: 8080}]\n  cdn:\n    kind: cdn\n    origin: lb\n")
    assert validate(load_plan_text(azure.text(aws_lb)).stack, "cdn") == []  # any public host name will do


def test_switching_the_origin_from_a_bucket_to_a_load_balancer_updates_in_place(azure):
    both = LB_ORIGIN.replace("  cdn:\n    kind: cdn\n    origin: lb\n", "") + \
        "  assets:\n    kind: bucket\n    public: true\n  cdn:\n    kind: cdn\n    origin: ORIGIN\n"
    azure.converge(both.replace("ORIGIN", "assets"))
    ids = {a: r.id for a, r in azure.store.read().primitives.items() if a.startswith("cdn/")}
    plan = azure.plan(both.replace("ORIGIN", "lb"))
    changes = {c.address: c.action.value for c in plan.actionable}
    assert changes == {GROUP: "update", ORIGIN: "update", ROUTE: "update"}
    azure.converge(both.replace("ORIGIN", "lb"))
    state = azure.store.read().primitives
    assert {a: r.id for a, r in state.items() if a.startswith("cdn/")} == ids
    (origin,) = azure.client("cdn").afd_origins.list_by_origin_group(azure.group, profile_name(azure.stack, "cdn"),
                                                                     "origins")
    assert origin.host_name == state["lb/azure.public_ip"].outputs["fqdn"]
    azure.destroy(both.replace("ORIGIN", "lb"))
    assert profiles(azure) == []
