"""Load-balancing collections through the SDK: the reference chain (health check -> backend
service -> URL map -> proxy -> forwarding rule) refuses in-use deletes, updates carry
fingerprints, custom set* methods, and regional passthrough rules."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.sandbox.gcp.compute_support import Compute, new_project, serve
from tests.sandbox.gcp.compute_world import REGION, World


@pytest.fixture(scope="module")
def endpoint():
    with serve(running_polls=0) as (url, _app):
        yield url


@pytest.fixture
def world(endpoint):
    return World(Compute(endpoint, new_project()))


def _in_use(call, *args):
    with pytest.raises(exceptions.BadRequest) as err:
        call(*args)
    assert err.value.errors[0]["reason"] == "resourceInUseByAnotherResource"
    return err.value.message


def test_deleting_in_dependency_order(world):
    world.need("global_forwarding_rule")
    world.need("target_https_proxy")
    chain = [("global_forwarding_rule", "global-forwarding-rule"), ("target_http_proxy", "target-http-proxy"),
             ("target_https_proxy", "target-https-proxy"), ("url_map", "url-map"),
             ("ssl_certificate", "ssl-certificate"), ("backend_service", "backend-service"),
             ("health_check", "health-check")]
    message = _in_use(world.delete, "target_http_proxy", "target-http-proxy")
    assert f"projects/{world.compute.project}/global/forwardingRules/global-forwarding-rule" in message
    _in_use(world.delete, "url_map", "url-map")
    _in_use(world.delete, "backend_service", "backend-service")
    _in_use(world.delete, "health_check", "health-check")
    _in_use(world.delete, "ssl_certificate", "ssl-certificate")
    for kind, name in chain:
        world.delete(kind, name).result()
    for kind, name in chain:
        with pytest.raises(exceptions.NotFound):
            world.get(kind, name)


def test_url_map_can_point_at_a_backend_bucket_and_tracks_its_fingerprint(world):
    world.need("url_map")
    bucket = world.need("backend_bucket")
    maps = world.compute.url_maps
    current = world.get("url_map", "url-map")
    maps.patch(project=world.compute.project, url_map="url-map", url_map_resource={
        "default_service": bucket, "fingerprint": current.fingerprint,
        "host_rules": [{"hosts": ["*"], "path_matcher": "paths"}],
        "path_matchers": [{"name": "paths", "default_service": bucket,
                           "path_rules": [{"paths": ["/api/*"], "service": world.need("backend_service")}]}],
    }).result()
    updated = world.get("url_map", "url-map")
    assert updated.default_service == bucket and updated.fingerprint != current.fingerprint
    with pytest.raises(exceptions.PreconditionFailed):
        maps.patch(project=world.compute.project, url_map="url-map",
                   url_map_resource={"default_service": bucket, "fingerprint": current.fingerprint})
    _in_use(world.delete, "backend_bucket", "backend-bucket")
    _in_use(world.delete, "backend_service", "backend-service")  # still used by a path rule
    with pytest.raises(exceptions.BadRequest):
        maps.patch(project=world.compute.project, url_map="url-map",
                   url_map_resource={"host_rules": [{"hosts": ["*"], "path_matcher": "nope"}]})


def test_backend_service_patch_and_update(world):
    world.need("backend_service")
    services = world.compute.backend_services
    current = world.get("backend_service", "backend-service")
    assert current.backends[0].group == world.need("group")
    assert current.backends[0].balancing_mode == "UTILIZATION" and current.port_name == "http"
    services.patch(project=world.compute.project, backend_service="backend-service", backend_service_resource={
        "enable_c_d_n": True, "cdn_policy": {"default_ttl": 60}, "fingerprint": current.fingerprint}).result()
    patched = world.get("backend_service", "backend-service")
    assert patched.enable_c_d_n and patched.cdn_policy.default_ttl == 60
    assert patched.cdn_policy.cache_mode == "CACHE_ALL_STATIC"
    with pytest.raises(exceptions.PreconditionFailed) as err:
        services.patch(project=world.compute.project, backend_service="backend-service",
                       backend_service_resource={"timeout_sec": 10, "fingerprint": current.fingerprint})
    assert err.value.errors[0]["reason"] == "conditionNotMet"
    services.update(project=world.compute.project, backend_service="backend-service", backend_service_resource={
        "name": "backend-service", "protocol": "HTTP", "port_name": "web", "load_balancing_scheme": "EXTERNAL_MANAGED",
        "health_checks": [world.need("health_check")], "fingerprint": patched.fingerprint}).result()
    replaced = world.get("backend_service", "backend-service")
    assert replaced.port_name == "web" and not replaced.backends and not replaced.enable_c_d_n
    assert replaced.id == current.id and replaced.creation_timestamp == current.creation_timestamp


def test_backend_references_must_exist(world):
    body = {"name": "bs", "protocol": "HTTP", "health_checks": [world.need("health_check")],
            "backends": [{"group": world.compute.link(f"regions/{REGION}/instanceGroups/ghost")}]}
    with pytest.raises(exceptions.NotFound):
        world.insert("backend_service", body)
    with pytest.raises(exceptions.BadRequest):
        world.insert("backend_service", {"name": "bs", "backends": [{"group": world.need("group")}]})  # no health check


def test_health_check_patch(world):
    world.need("health_check")
    world.compute.health_checks.patch(project=world.compute.project, health_check="health-check",
                                      health_check_resource={"check_interval_sec": 10,
                                                             "http_health_check": {"port": 8080}}).result()
    hc = world.get("health_check", "health-check")
    assert hc.check_interval_sec == 10 and hc.http_health_check.port == 8080
    assert hc.http_health_check.request_path == "/healthz"
    with pytest.raises(exceptions.BadRequest):
        world.compute.health_checks.patch(project=world.compute.project, health_check="health-check",
                                          health_check_resource={"timeout_sec": 30})


def test_backend_bucket_update(world):
    world.need("backend_bucket")
    bb = world.get("backend_bucket", "backend-bucket")
    assert bb.enable_cdn and bb.cdn_policy.default_ttl == 600 and bb.bucket_name == "backend-bucket-bucket"
    world.compute.backend_buckets.update(project=world.compute.project, backend_bucket="backend-bucket",
                                         backend_bucket_resource={"name": "backend-bucket", "bucket_name": "other",
                                                                  "enable_cdn": False}).result()
    bb = world.get("backend_bucket", "backend-bucket")
    assert bb.bucket_name == "other" and not bb.enable_cdn


def test_proxies_switch_url_maps_and_certificates(world):
    world.need("target_https_proxy")
    world.need("target_http_proxy")
    other_map = world.create("url_map", "other-map")
    other_cert = world.create("ssl_certificate", "other-cert")
    project = world.compute.project
    world.compute.target_http_proxies.set_url_map(project=project, target_http_proxy="target-http-proxy",
                                                  url_map_reference_resource={"url_map": other_map}).result()
    assert world.get("target_http_proxy", "target-http-proxy").url_map == other_map
    https = world.compute.target_https_proxies
    https.set_url_map(project=project, target_https_proxy="target-https-proxy",
                      url_map_reference_resource={"url_map": other_map}).result()
    https.set_ssl_certificates(project=project, target_https_proxy="target-https-proxy",
                               target_https_proxies_set_ssl_certificates_request_resource={
                                   "ssl_certificates": [other_cert]}).result()
    proxy = world.get("target_https_proxy", "target-https-proxy")
    assert proxy.url_map == other_map and list(proxy.ssl_certificates) == [other_cert]
    world.delete("ssl_certificate", "ssl-certificate").result()  # no longer used
    world.delete("url_map", "url-map").result()
    cert = world.get("ssl_certificate", "other-cert")
    assert cert.certificate.startswith("-----BEGIN CERTIFICATE") and not cert.private_key


def test_managed_certificates_and_bad_pem(world):
    world.insert("ssl_certificate", {"name": "managed", "type_": "MANAGED",
                                     "managed": {"domains": ["example.com"]}}).result()
    cert = world.get("ssl_certificate", "managed")
    assert cert.managed.status == "PROVISIONING" and list(cert.subject_alternative_names) == ["example.com"]
    with pytest.raises(exceptions.BadRequest):
        world.insert("ssl_certificate", {"name": "bad", "certificate": "nope", "private_key": "nope"})


def test_global_forwarding_rule_addresses_labels_and_target(world):
    world.need("global_forwarding_rule")
    rules = world.compute.global_forwarding_rules
    project = world.compute.project
    rule = world.get("global_forwarding_rule", "global-forwarding-rule")
    assert rule.I_p_address.startswith("34.") and rule.port_range == "80-80" and rule.I_p_protocol == "TCP"
    assert dict(rule.labels) == {"lepton-stack": "abc"}
    rules.set_labels(project=project, resource="global-forwarding-rule",
                     global_set_labels_request_resource={"labels": {"lepton-stack": "abc", "lepton-name": "web"},
                                                         "label_fingerprint": rule.label_fingerprint}).result()
    assert dict(world.get("global_forwarding_rule", "global-forwarding-rule").labels)["lepton-name"] == "web"
    with pytest.raises(exceptions.PreconditionFailed):
        rules.set_labels(project=project, resource="global-forwarding-rule",
                         global_set_labels_request_resource={"labels": {}, "label_fingerprint": rule.label_fingerprint})
    https = world.need("target_https_proxy")
    rules.set_target(project=project, forwarding_rule="global-forwarding-rule",
                     target_reference_resource={"target": https}).result()
    assert world.get("global_forwarding_rule", "global-forwarding-rule").target == https
    world.delete("target_http_proxy", "target-http-proxy").result()  # no longer a target
    labelled = [r.name for r in world.list("global_forwarding_rule", filter='labels.lepton-name = "web"')]
    assert labelled == ["global-forwarding-rule"]


def test_a_reserved_address_is_used_by_its_rule(world):
    address = world.create("global_address", "ip")
    reserved = world.get("global_address", "ip")
    assert reserved.status == "RESERVED" and reserved.address.startswith("34.")
    world.insert("global_forwarding_rule", {"name": "fr", "target": world.need("target_http_proxy"),
                                            "load_balancing_scheme": "EXTERNAL_MANAGED",
                                            "port_range": "80", "I_p_address": address}).result()
    assert world.get("global_forwarding_rule", "fr").I_p_address == reserved.address
    in_use = world.get("global_address", "ip")
    assert in_use.status == "IN_USE" and list(in_use.users) == [world.compute.link("global/forwardingRules/fr")]
    _in_use(world.delete, "global_address", "ip")
    world.delete("global_forwarding_rule", "fr").result()
    assert world.get("global_address", "ip").status == "RESERVED"
    world.delete("global_address", "ip").result()


def test_regional_passthrough_load_balancer(world):
    world.need("forwarding_rule")
    rule = world.get("forwarding_rule", "forwarding-rule")
    assert rule.backend_service == world.need("region_backend_service")
    assert rule.I_p_address.startswith("35.188.") and rule.region == world.compute.link(f"regions/{REGION}")
    service = world.get("region_backend_service", "region-backend-service")
    assert service.backends[0].balancing_mode == "CONNECTION"
    _in_use(world.delete, "region_backend_service", "region-backend-service")
    _in_use(world.delete, "region_health_check", "region-health-check")
    with pytest.raises(exceptions.BadRequest):
        world.insert("region_backend_service", {
            "name": "util", "protocol": "TCP", "load_balancing_scheme": "EXTERNAL",
            "health_checks": [world.need("region_health_check")],
            "backends": [{"group": world.need("group"), "balancing_mode": "UTILIZATION"}]})
    aggregated = dict(world.compute.forwarding_rules.aggregated_list(request={"project": world.compute.project}))
    assert [r.name for r in aggregated[f"regions/{REGION}"].forwarding_rules] == ["forwarding-rule"]


def test_load_balancing_schemes_must_agree(world):
    proxy = world.need("target_http_proxy")  # -> URL map -> an EXTERNAL_MANAGED backend service
    with pytest.raises(exceptions.BadRequest) as err:
        world.insert("global_forwarding_rule", {"name": "classic", "target": proxy, "port_range": "80",
                                                "load_balancing_scheme": "EXTERNAL"})
    assert "EXTERNAL_MANAGED" in err.value.message
    classic = world.create("backend_service", "classic", body={
        "name": "classic", "protocol": "HTTP", "load_balancing_scheme": "EXTERNAL",
        "health_checks": [world.need("health_check")]})
    with pytest.raises(exceptions.BadRequest):
        world.compute.url_maps.patch(project=world.compute.project, url_map="url-map", url_map_resource={
            "host_rules": [{"hosts": ["*"], "path_matcher": "p"}],
            "path_matchers": [{"name": "p", "default_service": classic}]})
    with pytest.raises(exceptions.BadRequest):
        world.insert("forwarding_rule", {"name": "nlb", "backend_service": world.need("region_backend_service"),
                                         "ports": ["80"], "load_balancing_scheme": "INTERNAL"})
    with pytest.raises(exceptions.BadRequest):
        world.insert("forwarding_rule", {"name": "nlb", "backend_service": world.need("region_backend_service"),
                                         "ports": [str(p) for p in range(80, 86)]})


@pytest.mark.parametrize("policy,ok", [
    ({"default_ttl": 604800, "max_ttl": 604800, "client_ttl": 604800}, True),
    ({"default_ttl": 604800}, False),  # above the default maxTtl (one day)
    ({"cache_mode": "FORCE_CACHE_ALL", "default_ttl": 60}, True),
    ({"cache_mode": "FORCE_CACHE_ALL", "max_ttl": 60}, False),
    ({"cache_mode": "USE_ORIGIN_HEADERS", "default_ttl": 60}, False),
])
def test_cdn_policy_ttls(world, policy, ok):
    body = {"name": "cdn", "bucket_name": "b", "enable_cdn": True, "cdn_policy": policy}
    if not ok:
        with pytest.raises(exceptions.BadRequest):
            world.insert("backend_bucket", body)
        return
    world.insert("backend_bucket", body).result()
    got = world.get("backend_bucket", "cdn").cdn_policy
    assert got.default_ttl == policy["default_ttl"]
    assert ("max_ttl" in got) == (policy.get("cache_mode", "CACHE_ALL_STATIC") == "CACHE_ALL_STATIC")
