"""load_balancer on Google Cloud, through the engine against the Compute Engine emulator, checked
with the google-cloud-compute SDK directly: the application load balancer's chain, in-place
updates, a listener port change and an http -> tcp switch in one apply each, certificates,
ownership, and a destroy that leaves nothing."""

from __future__ import annotations

import pytest

from lepton_cli.drivers.gcp.common import API
from lepton_cli.drivers.gcp.load_balancer import certificate_link
from lepton_cli.spec.loader import load_plan_text
from tests.drivers.gcp.conftest import PROJECT, REGION

STACK = """\
resources:
  web:
    kind: compute
    instance_type: e2-small
    image: ubuntu-22.04
    count: 0
    ports: [8080, 9000]
  lb:
    kind: load_balancer
    target: web
    listeners: [{listeners}]
    health_check: {{path: {path}}}
"""
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"  # the emulator checks the form only
KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
HTTP = "{port: 80, protocol: http, target_port: 8080}"
# Every collection the load_balancer kind uses: (client, regional?).
COLLECTIONS = [("HealthChecks", False), ("RegionHealthChecks", True), ("BackendServices", False),
               ("RegionBackendServices", True), ("UrlMaps", False), ("TargetHttpProxies", False),
               ("TargetHttpsProxies", False), ("GlobalAddresses", False), ("Addresses", True),
               ("GlobalForwardingRules", False), ("ForwardingRules", True), ("Firewalls", False)]


def stack(listeners: str = HTTP, path: str = "/healthz") -> str:
    return STACK.format(listeners=listeners, path=path)


def where(regional: bool) -> dict[str, str]:
    return {"project": PROJECT, **({"region": REGION} if regional else {})}


def get(gcp, collection: str, field: str, name: str, regional: bool = False):
    return gcp.compute(collection).get(request={**where(regional), field: name})


def leftovers(gcp) -> list[str]:
    """Names of anything of the stack's in the load balancers' collections, listed directly."""
    found = []
    for collection, regional in COLLECTIONS:
        for item in gcp.compute(collection).list(request=where(regional)):
            if item.name.startswith(f"{gcp.stack}-"):
                found.append(f"{collection}/{item.name}")
    return found


def test_http_balancer_chain_no_op_and_destroy(gcp):
    body = stack()
    gcp.converge(body)  # asserts the plan after apply is empty
    s = gcp.stack
    rule = get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-80")
    address = get(gcp, "GlobalAddresses", "address", f"{s}-lb")
    proxy = get(gcp, "TargetHttpProxies", "target_http_proxy", f"{s}-lb")
    url_map = get(gcp, "UrlMaps", "url_map", f"{s}-lb")
    service = get(gcp, "BackendServices", "backend_service", f"{s}-lb")
    check = get(gcp, "HealthChecks", "health_check", f"{s}-lb")
    group = get(gcp, "RegionInstanceGroupManagers", "instance_group_manager", f"{s}-web", regional=True)
    assert (rule.I_p_address, rule.port_range, rule.target) == (address.address, "80-80", proxy.self_link)
    assert rule.load_balancing_scheme == "EXTERNAL_MANAGED" and dict(rule.labels)["lepton-stack"] == s
    assert proxy.url_map == url_map.self_link and url_map.default_service == service.self_link
    assert service.load_balancing_scheme == "EXTERNAL_MANAGED" and service.port_name == "port-8080"
    assert [b.group for b in service.backends] == [group.instance_group]
    assert list(service.health_checks) == [check.self_link]
    assert check.type_ == "HTTP" and (check.http_health_check.request_path, check.http_health_check.port) == (
        "/healthz", 8080)
    assert {p.name: p.port for p in group.named_ports}.get("port-8080") == 8080
    firewall = get(gcp, "Firewalls", "firewall", f"{s}-lb-health-check")
    assert sorted(firewall.source_ranges) == ["130.211.0.0/22", "35.191.0.0/16"]
    assert [list(a.ports) for a in firewall.allowed] == [["8080"]] and list(firewall.target_tags) == [f"{s}-web"]

    gcp.destroy(body)
    assert leftovers(gcp) == []


def test_health_check_path_changes_in_place(gcp):
    gcp.converge(stack())
    before = get(gcp, "HealthChecks", "health_check", f"{gcp.stack}-lb")
    plan = gcp.plan(stack(path="/ready"))
    assert [(c.address, c.action.value) for c in plan.actionable] == [("lb/gcp.health_check", "update")]
    assert gcp.apply(plan).ok
    after = get(gcp, "HealthChecks", "health_check", f"{gcp.stack}-lb")
    assert after.id == before.id and after.http_health_check.request_path == "/ready"
    assert not gcp.plan(stack(path="/ready")).has_changes
    # Back again within the API's hour of requestId memory: a new request, not the first one's echo.
    assert gcp.apply(gcp.plan(stack())).ok
    assert get(gcp, "HealthChecks", "health_check", f"{gcp.stack}-lb").http_health_check.request_path == "/healthz"
    assert not gcp.plan(stack()).has_changes
    assert gcp.apply(gcp.plan(stack(path="/ready"))).ok  # the same patch as the first, from another state
    assert get(gcp, "HealthChecks", "health_check", f"{gcp.stack}-lb").http_health_check.request_path == "/ready"
    gcp.destroy(stack(path="/ready"))


def test_listener_port_change_moves_the_rule_in_one_apply(gcp):
    gcp.converge(stack())
    address = get(gcp, "GlobalAddresses", "address", f"{gcp.stack}-lb").address
    moved = "{port: 8081, protocol: http, target_port: 8080}"
    plan = gcp.plan(stack(moved))
    assert {(c.address, c.action.value) for c in plan.actionable} == {
        ("lb/gcp.global_forwarding_rule/8081", "create"), ("lb/gcp.global_forwarding_rule/80", "delete")}
    gcp.converge(stack(moved))
    rules = {r.name: r for r in gcp.compute("GlobalForwardingRules").list(request=where(False))
             if r.name.startswith(f"{gcp.stack}-")}
    assert list(rules) == [f"{gcp.stack}-lb-8081"]
    rule = rules[f"{gcp.stack}-lb-8081"]
    assert (rule.I_p_address, rule.port_range) == (address, "8081-8081")
    gcp.destroy(stack(moved))
    assert leftovers(gcp) == []


def test_http_to_tcp_replaces_the_balancer_in_one_apply(gcp):
    gcp.converge(stack())
    tcp = "{port: 9000, protocol: tcp}"
    gcp.converge(stack(tcp))
    s = gcp.stack
    assert [n for n in leftovers(gcp) if not n.startswith("Firewalls/")] == [
        f"RegionHealthChecks/{s}-lb", f"RegionBackendServices/{s}-lb", f"Addresses/{s}-lb",
        f"ForwardingRules/{s}-lb-9000"]
    rule = get(gcp, "ForwardingRules", "forwarding_rule", f"{s}-lb-9000", regional=True)
    service = get(gcp, "RegionBackendServices", "backend_service", f"{s}-lb", regional=True)
    address = get(gcp, "Addresses", "address", f"{s}-lb", regional=True)
    assert (rule.I_p_address, list(rule.ports), rule.backend_service) == (address.address, ["9000"], service.self_link)
    assert (service.load_balancing_scheme, service.protocol) == ("EXTERNAL", "TCP")
    assert [b.balancing_mode for b in service.backends] == ["CONNECTION"]
    check = get(gcp, "RegionHealthChecks", "health_check", f"{s}-lb", regional=True)
    assert (check.type_, check.tcp_health_check.port) == ("TCP", 9000)
    firewall = get(gcp, "Firewalls", "firewall", f"{s}-lb-health-check")
    assert "209.85.152.0/22" in firewall.source_ranges and [list(a.ports) for a in firewall.allowed] == [["9000"]]
    # A passthrough balancer keeps its clients' addresses: the world is admitted to the listener's
    # port on the group (whose instances have no external address), and to nothing else.
    clients = get(gcp, "Firewalls", "firewall", f"{s}-lb-clients")
    assert list(clients.source_ranges) == ["0.0.0.0/0"] and [list(a.ports) for a in clients.allowed] == [["9000"]]
    assert list(clients.target_tags) == list(firewall.target_tags)
    gcp.destroy(stack(tcp))
    assert leftovers(gcp) == []


@pytest.mark.parametrize("certificate", ["arn:aws:acm:us-east-1:123456789012:certificate/abc", "My_Cert",
                                         "projects/p/regions/us-central1/sslCertificates/c"])
def test_an_https_listener_needs_a_google_certificate(gcp, certificate):
    body = stack(f"{{port: 443, protocol: https, target_port: 8080, certificate: '{certificate}'}}")
    loaded = load_plan_text(gcp.text(body))
    problems = gcp.driver().validate(loaded.stack, ["lb"])
    assert [p.path for p in problems] == ["resources.lb.listeners.0.certificate"]
    assert "not a Google Cloud SSL certificate" in problems[0].summary


def test_certificate_forms():
    url = f"{API}projects/p/global/sslCertificates/c"
    assert certificate_link("c", "p") == url
    assert certificate_link("projects/p/global/sslCertificates/c", "other") == url
    assert certificate_link(url, "other") == url
    assert certificate_link("arn:aws:acm:x", "p") is None


def test_https_and_http_listeners_share_the_address(gcp):
    s = gcp.stack
    certificates = gcp.compute("SslCertificates")
    certificates.insert(request={"project": PROJECT, "ssl_certificate_resource": {
        "name": f"{s}-cert", "certificate": PEM, "private_key": KEY}}).result(timeout=60)
    try:
        body = stack(f"{HTTP}, {{port: 443, protocol: https, target_port: 8080, certificate: {s}-cert}}")
        gcp.converge(body)
        https = get(gcp, "TargetHttpsProxies", "target_https_proxy", f"{s}-lb")
        http = get(gcp, "TargetHttpProxies", "target_http_proxy", f"{s}-lb")
        assert list(https.ssl_certificates) == [f"{API}projects/{PROJECT}/global/sslCertificates/{s}-cert"]
        assert https.url_map == http.url_map
        secure = get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-443")
        plain = get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-80")
        assert (secure.target, plain.target) == (https.self_link, http.self_link)
        assert secure.I_p_address == plain.I_p_address
        gcp.destroy(body)
        assert leftovers(gcp) == []
    finally:
        certificates.delete(request={"project": PROJECT, "ssl_certificate": f"{s}-cert"}).result(timeout=60)


def test_switching_a_listener_to_https_moves_its_rule_to_the_new_proxy_in_place(gcp):
    """The rule's target changes with setTarget; the HTTP proxy it used goes only afterwards (the
    emulator refuses deleting a proxy a rule still uses)."""
    s = gcp.stack
    certificates = gcp.compute("SslCertificates")
    certificates.insert(request={"project": PROJECT, "ssl_certificate_resource": {
        "name": f"{s}-cert", "certificate": PEM, "private_key": KEY}}).result(timeout=60)
    try:
        gcp.converge(stack())
        rule = get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-80")
        secure = stack(f"{{port: 80, protocol: https, target_port: 8080, certificate: {s}-cert}}")
        plan = gcp.plan(secure)
        assert {(c.address, c.action.value) for c in plan.actionable} == {
            ("lb/gcp.target_https_proxy", "create"), ("lb/gcp.global_forwarding_rule/80", "update"),
            ("lb/gcp.target_http_proxy", "delete")}
        assert gcp.apply(plan).ok
        assert not gcp.plan(secure).has_changes
        after = get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-80")
        https = get(gcp, "TargetHttpsProxies", "target_https_proxy", f"{s}-lb")
        assert after.id == rule.id and after.target == https.self_link
        assert "TargetHttpProxies/" + f"{s}-lb" not in leftovers(gcp)
        gcp.converge(stack())  # and back: setTarget to the HTTP proxy again
        assert get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-80").target == get(
            gcp, "TargetHttpProxies", "target_http_proxy", f"{s}-lb").self_link
        gcp.converge(secure)  # and once more: the same setTarget as the first, a new request
        assert get(gcp, "GlobalForwardingRules", "forwarding_rule", f"{s}-lb-80").target == get(
            gcp, "TargetHttpsProxies", "target_https_proxy", f"{s}-lb").self_link
        gcp.destroy(secure)
        assert leftovers(gcp) == []
    finally:
        certificates.delete(request={"project": PROJECT, "ssl_certificate": f"{s}-cert"}).result(timeout=60)


def test_a_foreign_url_map_with_the_wanted_name_is_refused_and_left_alone(gcp):
    s = gcp.stack
    buckets, maps = gcp.compute("BackendBuckets"), gcp.compute("UrlMaps")
    buckets.insert(request={"project": PROJECT, "backend_bucket_resource": {
        "name": f"{s}-theirs", "bucket_name": "someone-elses-bucket"}}).result(timeout=60)
    service = buckets.get(request={"project": PROJECT, "backend_bucket": f"{s}-theirs"}).self_link
    maps.insert(request={"project": PROJECT, "url_map_resource": {
        "name": f"{s}-lb", "default_service": service}}).result(timeout=60)
    before = type(maps.get(request={"project": PROJECT, "url_map": f"{s}-lb"})).to_dict(
        maps.get(request={"project": PROJECT, "url_map": f"{s}-lb"}))
    try:
        result = gcp.apply(gcp.plan(stack()))
        assert not result.ok
        assert "lb/gcp.url_map" in result.failed
        assert "not owned by stack" in result.failed["lb/gcp.url_map"]
        after = maps.get(request={"project": PROJECT, "url_map": f"{s}-lb"})
        assert type(after).to_dict(after) == before
    finally:
        gcp.destroy(stack())
        maps.delete(request={"project": PROJECT, "url_map": f"{s}-lb"}).result(timeout=60)
        buckets.delete(request={"project": PROJECT, "backend_bucket": f"{s}-theirs"}).result(timeout=60)
    assert leftovers(gcp) == []


def test_a_new_target_group_is_patched_into_the_backend_service(gcp):
    api = "  api: {kind: compute, instance_type: e2-small, image: ubuntu-22.04, count: 0, ports: [8080]}\n"
    before, after = stack() + api, (stack() + api).replace("target: web", "target: api")
    gcp.converge(before)
    service = get(gcp, "BackendServices", "backend_service", f"{gcp.stack}-lb")
    plan = gcp.plan(after)
    changed = {c.address: c.action.value for c in plan.actionable}
    assert changed["lb/gcp.backend_service"] == "update" and changed["lb/gcp.firewall/health-check"] == "update"
    assert gcp.apply(plan).ok
    assert not gcp.plan(after).has_changes
    group = get(gcp, "RegionInstanceGroupManagers", "instance_group_manager", f"{gcp.stack}-api", regional=True)
    now = get(gcp, "BackendServices", "backend_service", f"{gcp.stack}-lb")
    assert now.id == service.id and [b.group for b in now.backends] == [group.instance_group]
    assert {p.name: p.port for p in group.named_ports}.get("port-8080") == 8080
    assert list(get(gcp, "Firewalls", "firewall", f"{gcp.stack}-lb-health-check").target_tags) == [f"{gcp.stack}-api"]
    gcp.destroy(after)
    assert leftovers(gcp) == []
