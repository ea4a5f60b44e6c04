"""cdn on Google Cloud, through the engine against the emulators, checked with the
google-cloud-compute SDK directly: a backend bucket with Cloud CDN for a bucket origin, a
CDN-enabled backend service for a load balancer origin, default_ttl patched in place, what
https_only means without a certificate, and origins lepton cannot serve."""

from __future__ import annotations

from lepton_cli.spec.loader import load_plan_text
from tests.drivers.gcp.conftest import PROJECT
from tests.drivers.gcp.test_load_balancer import get, leftovers

BUCKET_ORIGIN = """\
resources:
  assets:
    kind: bucket
    force_destroy: true
  cdn:
    kind: cdn
    origin: assets
    default_ttl: {ttl}
    https_only: {https}
"""
LB_ORIGIN = """\
resources:
  web:
    kind: compute
    instance_type: e2-small
    image: ubuntu-22.04
    count: 0
    ports: [8080]
  lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80, protocol: http, target_port: 8080}]
  cdn:
    kind: cdn
    origin: lb
    default_ttl: 600
"""


def bucket_origin(ttl: int = 3600, https: str = "true") -> str:
    return BUCKET_ORIGIN.format(ttl=ttl, https=https)


def test_bucket_origin_serves_through_a_backend_bucket_and_ttl_patches_in_place(gcp):
    body = bucket_origin()
    plan = gcp.plan(body)
    notes = [line for c in plan.actionable for line in (c.desired.summary if c.desired else ())]
    assert any("plain HTTP" in line for line in notes), "https_only without a certificate is told to the user"
    assert any("not public" in line for line in notes), "a private origin bucket is told to the user"
    assert gcp.apply(plan).ok
    assert not gcp.plan(body).has_changes
    s = gcp.stack
    backend = get(gcp, "BackendBuckets", "backend_bucket", f"{s}-cdn")
    bucket = gcp.store.read().primitives["assets/gcp.storage_bucket"].outputs["name"]
    assert (backend.bucket_name, backend.enable_cdn) == (bucket, True)
    assert (backend.cdn_policy.cache_mode, backend.cdn_policy.default_ttl) == ("CACHE_ALL_STATIC", 3600)
    url_map = get(gcp, "UrlMaps", "url_map", f"{s}-cdn")
    rule = get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-cdn-80")
    address = get(gcp, "GlobalAddresses", "address", f"{s}-cdn")
    assert url_map.default_service == backend.self_link
    assert (rule.I_p_address, rule.port_range) == (address.address, "80-80")

    plan = gcp.plan(bucket_origin(ttl=60))
    assert [(c.address, c.action.value) for c in plan.actionable] == [("cdn/gcp.backend_bucket", "update")]
    assert gcp.apply(plan).ok
    after = get(gcp, "BackendBuckets", "backend_bucket", f"{s}-cdn")
    assert after.id == backend.id and after.cdn_policy.default_ttl == 60
    assert not gcp.plan(bucket_origin(ttl=60)).has_changes

    gcp.destroy(bucket_origin(ttl=60))
    assert leftovers(gcp) == []
    assert [b.name for b in gcp.compute("BackendBuckets").list(request={"project": PROJECT})
            if b.name.startswith(f"{s}-")] == []


def test_https_only_false_has_no_note(gcp):
    plan = gcp.plan(bucket_origin(https="false"))
    assert not [line for c in plan.actionable for line in (c.desired.summary if c.desired else ()) if "HTTP" in line]


def test_load_balancer_origin_gets_a_cdn_enabled_backend_service_on_the_same_group(gcp):
    gcp.converge(LB_ORIGIN)
    s = gcp.stack
    cdn = get(gcp, "BackendServices", "backend_service", f"{s}-cdn")
    origin = get(gcp, "BackendServices", "backend_service", f"{s}-lb")
    assert cdn.enable_c_d_n and not origin.enable_c_d_n
    assert cdn.cdn_policy.default_ttl == 600
    assert [b.group for b in cdn.backends] == [b.group for b in origin.backends]
    assert (cdn.port_name, list(cdn.health_checks)) == (origin.port_name, list(origin.health_checks))
    assert get(gcp, "UrlMaps", "url_map", f"{s}-cdn").default_service == cdn.self_link
    cdn_ip = get(gcp, "GlobalAddresses", "address", f"{s}-cdn").address
    assert cdn_ip != get(gcp, "GlobalAddresses", "address", f"{s}-lb").address
    gcp.destroy(LB_ORIGIN)
    assert leftovers(gcp) == []


def test_origins_lepton_cannot_serve_are_validate_errors(gcp):
    body = """\
resources:
  assets: {kind: bucket, cloud: aws}
  cdn: {kind: cdn, origin: assets}
  web: {kind: compute, instance_type: e2-small, count: 0, ports: [5432]}
  nlb: {kind: load_balancer, target: web, listeners: [{port: 5432, protocol: tcp}]}
  nlb-cdn: {kind: cdn, origin: nlb}
"""
    loaded = load_plan_text(gcp.text(body))
    problems = gcp.driver().validate(loaded.stack, ["cdn", "nlb-cdn"])
    assert [p.path for p in problems] == ["resources.cdn.origin", "resources.nlb-cdn.origin"]
    assert "on aws" in problems[0].summary and "tcp" in problems[1].summary
