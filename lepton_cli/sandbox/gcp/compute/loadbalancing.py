"""Load balancing: health checks, backend services and buckets, URL maps, target proxies,
SSL certificates and forwarding rules (global and regional)."""

from __future__ import annotations

import ipaddress

from lepton_cli.sandbox.gcp import errors
from lepton_cli.sandbox.gcp.compute import refs
from lepton_cli.sandbox.gcp.compute.backend import walk
from lepton_cli.sandbox.gcp.compute.networking import set_labels
from lepton_cli.sandbox.gcp.compute.spec import Collection, RefField

_PATCH_UPDATE = frozenset({"insert", "get", "list", "delete", "patch", "update"})
_HC_TYPES = {"TCP": "tcpHealthCheck", "HTTP": "httpHealthCheck", "HTTPS": "httpsHealthCheck",
             "HTTP2": "http2HealthCheck", "SSL": "sslHealthCheck", "GRPC": "grpcHealthCheck"}
_SERVICES = (("global", "backendServices"), ("global", "backendBuckets"))
_URL_MAP_REFS = tuple(
    RefField(path, _SERVICES)
    for path in ("defaultService", "pathMatchers[].defaultService", "pathMatchers[].pathRules[].service")
)
_CDN_DEFAULTS = {"cacheMode": "CACHE_ALL_STATIC", "defaultTtl": 3600, "maxTtl": 86400, "clientTtl": 3600,
                 "negativeCaching": False, "serveWhileStale": 0, "signedUrlCacheMaxAgeSec": "0"}
# TTLs each cache mode takes (USE_ORIGIN_HEADERS takes none; FORCE_CACHE_ALL no maxTtl).
_CDN_TTLS = {"CACHE_ALL_STATIC": ("defaultTtl", "maxTtl", "clientTtl"),
             "FORCE_CACHE_ALL": ("defaultTtl", "clientTtl"), "USE_ORIGIN_HEADERS": ()}


def _cdn_policy(given: dict | None) -> dict:
    """A CDN policy with the API's defaults for its cache mode."""
    given = given or {}
    mode = given.get("cacheMode", "CACHE_ALL_STATIC")
    defaults = {k: v for k, v in _CDN_DEFAULTS.items() if not k.endswith("Ttl") or k in _CDN_TTLS.get(mode, ())}
    return {**defaults, **given}


# --- health checks --------------------------------------------------------------------------
def _health_check_validate(backend, project, loc, res) -> None:
    kind = res["type"]
    if kind not in _HC_TYPES:
        raise errors.invalid_field("resource.type", kind, f"Must be one of {', '.join(_HC_TYPES)}.")
    detail = res.setdefault(_HC_TYPES[kind], {})
    for other in set(_HC_TYPES.values()) - {_HC_TYPES[kind]}:
        res.pop(other, None)
    if "portSpecification" not in detail:
        detail.setdefault("port", 443 if kind in ("HTTPS", "SSL") else 80)
        detail["portSpecification"] = "USE_FIXED_PORT"
    port = detail.get("port")
    if port is not None and not (isinstance(port, int) and 1 <= port <= 65535):
        raise errors.invalid_field(f"resource.{_HC_TYPES[kind]}.port", port, "Must be between 1 and 65535.")
    if kind in ("HTTP", "HTTPS", "HTTP2"):
        detail.setdefault("requestPath", "/")
        detail.setdefault("proxyHeader", "NONE")
    if res["timeoutSec"] > res["checkIntervalSec"]:
        raise errors.invalid_field("resource.timeoutSec", res["timeoutSec"],
                                   "timeoutSec must be less than or equal to checkIntervalSec.")


_HC_DEFAULTS = {"checkIntervalSec": 5, "timeoutSec": 5, "healthyThreshold": 2, "unhealthyThreshold": 2}


# --- backend services and buckets -----------------------------------------------------------
def _backend_service_validate(backend, project, loc, res) -> None:
    regional = loc != "global"
    scheme = res.setdefault("loadBalancingScheme", "EXTERNAL")
    if scheme not in ("EXTERNAL", "EXTERNAL_MANAGED", "INTERNAL", "INTERNAL_MANAGED"):
        raise errors.invalid_field("resource.loadBalancingScheme", scheme, "Unknown load balancing scheme.")
    protocol = res.setdefault("protocol", "TCP" if regional else "HTTP")
    passthrough = regional and scheme in ("EXTERNAL", "INTERNAL")
    allowed = ("TCP", "UDP", "UNSPECIFIED") if passthrough else ("HTTP", "HTTPS", "HTTP2", "TCP", "SSL", "GRPC")
    if protocol not in allowed:
        raise errors.invalid_field("resource.protocol", protocol, f"Must be one of {', '.join(allowed)} here.")
    if not passthrough:
        res.setdefault("portName", "http")
        res.setdefault("timeoutSec", 30)
    groups = set()
    for item in res.get("backends") or []:
        if item["group"] in groups:
            raise errors.invalid(f"Duplicate backend group '{item['group']}'.")
        groups.add(item["group"])
        mode = item.setdefault("balancingMode", "CONNECTION" if passthrough else "UTILIZATION")
        if passthrough and mode != "CONNECTION":
            raise errors.invalid_field("resource.backends[].balancingMode", mode,
                                       "Backend services of a passthrough load balancer require CONNECTION.")
        item.setdefault("capacityScaler", 1.0)
        if mode == "UTILIZATION":
            item.setdefault("maxUtilization", 0.8)
    if res.get("backends") and not res.get("healthChecks"):
        raise errors.invalid("A backend service with instance group backends requires a health check ('healthChecks').")
    if len(res.get("healthChecks") or []) > 1:
        raise errors.invalid_field("resource.healthChecks", res["healthChecks"], "At most one health check is allowed.")
    res.setdefault("connectionDraining", {"drainingTimeoutSec": 300 if not passthrough else 0})
    res.setdefault("sessionAffinity", "NONE")
    res.setdefault("enableCDN", False)
    if res["enableCDN"] and passthrough:
        raise errors.invalid("Cloud CDN is only available for external Application Load Balancers.")
    if res["enableCDN"]:
        res["cdnPolicy"] = _cdn_policy(res.get("cdnPolicy"))
    _check_cdn(res.get("cdnPolicy"))


def _check_cdn(policy: dict | None) -> None:
    if not policy:
        return
    mode = policy.get("cacheMode", "CACHE_ALL_STATIC")
    if mode not in _CDN_TTLS:
        raise errors.invalid_field("resource.cdnPolicy.cacheMode", mode, "Unknown cache mode.")
    for key in ("defaultTtl", "maxTtl", "clientTtl"):
        value = policy.get(key)
        if value is None:
            continue
        if not (isinstance(value, int) and 0 <= value <= 31622400):
            raise errors.invalid_field(f"resource.cdnPolicy.{key}", value, "Must be between 0 and 31622400.")
        if key not in _CDN_TTLS[mode]:
            raise errors.invalid_field(f"resource.cdnPolicy.{key}", value,
                                       f"This TTL cannot be set when cacheMode is {mode}.")
    ceiling = policy.get("maxTtl")
    for key in ("defaultTtl", "clientTtl"):
        if ceiling is not None and policy.get(key) is not None and policy[key] > ceiling:
            raise errors.invalid_field(f"resource.cdnPolicy.{key}", policy[key],
                                       f"Must be less than or equal to maxTtl ({ceiling}).")


def _backend_bucket_validate(backend, project, loc, res) -> None:
    res.setdefault("enableCdn", False)
    if res["enableCdn"]:
        res["cdnPolicy"] = _cdn_policy(res.get("cdnPolicy"))
    _check_cdn(res.get("cdnPolicy"))


# --- URL maps, proxies, certificates --------------------------------------------------------
def _schemes(backend, url_map: dict) -> set[str]:
    """The load-balancing schemes of the backend services a URL map sends traffic to."""
    schemes = set()
    for field in _URL_MAP_REFS:
        for container, key in walk(url_map, field.path):
            service = backend.find_link(container[key])
            if service and service.get("kind") == "compute#backendService":
                schemes.add(service.get("loadBalancingScheme", "EXTERNAL"))
    return schemes


def _url_map_validate(backend, project, loc, res) -> None:
    if not res.get("defaultService") and not res.get("defaultUrlRedirect") and not res.get("defaultRouteAction"):
        raise errors.required("resource.defaultService")
    if len(_schemes(backend, res)) > 1:
        raise errors.invalid("A URL map cannot mix backend services of different load balancing schemes "
                             f"({', '.join(sorted(_schemes(backend, res)))}).")
    matchers = {m.get("name") for m in res.get("pathMatchers") or []}
    for rule in res.get("hostRules") or []:
        if rule.get("pathMatcher") not in matchers:
            raise errors.invalid_field("resource.hostRules[].pathMatcher", rule.get("pathMatcher"),
                                       "No path matcher of that name.")
    for matcher in res.get("pathMatchers") or []:
        backend.check_name(matcher.get("name"), "resource.pathMatchers[].name")


def _set_url_map(backend, project, loc, res, body, query) -> None:
    if not body.get("urlMap"):
        raise errors.required("urlMap")
    res["urlMap"] = backend.resolve(project, loc, RefField("urlMap", (("global", "urlMaps"),)), body["urlMap"])
    res["fingerprint"] = backend.fingerprint()


_set_url_map.op_type = "setUrlMap"


def _https_proxy_validate(backend, project, loc, res) -> None:
    if not res.get("sslCertificates") and not res.get("certificateMap"):
        raise errors.required("resource.sslCertificates")
    if len(res.get("sslCertificates") or []) > 15:
        raise errors.invalid_field("resource.sslCertificates", len(res["sslCertificates"]), "At most 15 certificates.")
    res.setdefault("quicOverride", "NONE")


def _set_ssl_certificates(backend, project, loc, res, body, query) -> None:
    certificates = body.get("sslCertificates") or []
    if not certificates:
        raise errors.required("sslCertificates")
    field = RefField("sslCertificates", (("global", "sslCertificates"),))
    res["sslCertificates"] = [backend.resolve(project, loc, field, c) for c in certificates]
    res["fingerprint"] = backend.fingerprint()


_set_ssl_certificates.op_type = "setSslCertificates"


def _certificate_validate(backend, project, loc, res) -> None:
    kind = res.setdefault("type", "SELF_MANAGED")
    if kind == "MANAGED":
        domains = (res.get("managed") or {}).get("domains") or []
        if not domains:
            raise errors.required("resource.managed.domains")
        res["managed"] = {"domains": domains, "status": "PROVISIONING",
                          "domainStatus": {d: "PROVISIONING" for d in domains}}
        res["subjectAlternativeNames"] = list(domains)
    elif kind == "SELF_MANAGED":
        for field in ("certificate", "privateKey"):
            if "-----BEGIN" not in str(res.get(field) or ""):
                raise errors.invalid_field(f"resource.{field}", "...", "Must be PEM encoded.")
        res.pop("privateKey")  # write-only: the API never returns it
        res.setdefault("expireTime", "2099-12-31T23:59:59.000-08:00")
    else:
        raise errors.invalid_field("resource.type", kind, "Must be SELF_MANAGED or MANAGED.")


# --- forwarding rules -----------------------------------------------------------------------
def _rule_validate(backend, project, loc, res) -> None:
    if not res.get("target") and not res.get("backendService"):
        raise errors.required("resource.target")
    protocol = res.setdefault("IPProtocol", "TCP")
    if protocol not in ("TCP", "UDP", "ESP", "AH", "SCTP", "ICMP", "L3_DEFAULT"):
        raise errors.invalid_field("resource.IPProtocol", protocol, "Unknown protocol.")
    res.setdefault("loadBalancingScheme", "EXTERNAL")
    res.setdefault("networkTier", "PREMIUM")
    if loc == "global":
        res.setdefault("ipVersion", "IPV4")
    port_range = res.get("portRange")
    if port_range is not None:
        low, _, high = str(port_range).partition("-")
        high = high or low
        if not (low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
            raise errors.invalid_field("resource.portRange", port_range, "Must be a port or a port range.")
        res["portRange"] = f"{low}-{high}"
    if port_range is not None and res.get("ports"):
        raise errors.invalid("Only one of 'portRange' and 'ports' may be set.")
    if loc == "global" and port_range is None and not res.get("ports"):
        raise errors.required("resource.portRange")
    ports = res.get("ports") or []
    if len(ports) > 5 or not all(str(p).isdigit() and 1 <= int(p) <= 65535 for p in ports):
        raise errors.invalid_field("resource.ports", ports, "At most 5 ports, each between 1 and 65535.")
    _check_rule_scheme(backend, res)


def _check_rule_scheme(backend, res: dict) -> None:
    """A rule's scheme must be its backends' (EXTERNAL_MANAGED proxies front EXTERNAL_MANAGED
    services): the real API refuses a mismatch."""
    scheme = res["loadBalancingScheme"]
    if res.get("backendService"):
        service = backend.find_link(res["backendService"])
        theirs = {service.get("loadBalancingScheme")} if service else set()
    else:
        proxy = backend.find_link(res["target"]) if res.get("target") else None
        url_map = backend.find_link(proxy["urlMap"]) if proxy and proxy.get("urlMap") else None
        theirs = _schemes(backend, url_map) if url_map else set()
    if theirs and scheme not in theirs:
        raise errors.invalid_field(
            "resource.loadBalancingScheme", scheme,
            "The forwarding rule's load balancing scheme must match its backend services' "
            f"({', '.join(sorted(theirs))}).",
        )


def _address_of(backend, project, loc, value: str) -> dict | None:
    """The reserved address a rule's IPAddress names (a link, or a literal it holds)."""
    if "/" in value:
        ref = refs.parse(value, "resource.IPAddress", project, loc, None)
        if ref.coll != "addresses" or ref.loc != loc:
            raise errors.invalid_field("resource.IPAddress", value, "Must name an address in the rule's scope.")
        found = backend.find(ref)
        if found is None:
            raise errors.not_found(ref.path)
        return found
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise errors.invalid_field("resource.IPAddress", value, "Must be an IPv4 address or an address URL.") from None
    return next((a for a in backend.table(project, loc, "addresses").values() if a["address"] == value), None)


def _rule_insert(backend, project, loc, res) -> None:
    value = res.get("IPAddress")
    if not value:
        res["IPAddress"] = backend.allocate_ip(loc)
        return
    address = _address_of(backend, project, loc, value)
    if address is not None:
        res["IPAddress"] = address["address"]
        address.setdefault("users", []).append(res["selfLink"])
        address["status"] = "IN_USE"


def _rule_update(backend, project, loc, old, new) -> None:
    for field in ("IPAddress", "IPProtocol", "portRange", "ports", "loadBalancingScheme"):
        if new.get(field) != old.get(field):
            raise errors.invalid_field(f"resource.{field}", new.get(field), "This field cannot be changed by patch.")


def _rule_delete(backend, project, loc, res) -> None:
    for address in backend.table(project, loc, "addresses").values():
        if res["selfLink"] in address.get("users", []):
            address["users"].remove(res["selfLink"])
            if not address["users"]:
                del address["users"]
                address["status"] = "RESERVED"


def _set_target(backend, project, loc, res, body, query) -> None:
    if not body.get("target"):
        raise errors.required("target")
    field = RefField("target", _RULE_TARGETS[loc == "global"])
    target = backend.resolve(project, loc, field, body["target"])
    _check_rule_scheme(backend, {**res, "target": target})
    res["target"] = target
    res["fingerprint"] = backend.fingerprint()


_set_target.op_type = "setTarget"

_RULE_TARGETS = {
    True: (("global", "targetHttpProxies"), ("global", "targetHttpsProxies")),
    False: (("region", "targetPools"), ("region", "targetHttpProxies"), ("region", "targetHttpsProxies")),
}


def _health_check(scope: str) -> Collection:
    return Collection(
        "healthChecks", scope, "compute#healthCheck", "health_check", required=("type",),
        methods=_PATCH_UPDATE, defaults=dict(_HC_DEFAULTS), validate=_health_check_validate,
    )


def _backend_service(scope: str) -> Collection:
    hc_targets = (("global", "healthChecks"),)
    if scope == "region":
        hc_targets = (("region", "healthChecks"), ("global", "healthChecks"))
    return Collection(
        "backendServices", scope, "compute#backendService", "backend_service", fingerprint=True,
        refs=(RefField("backends[].group", (("region", "instanceGroups"),)),
              RefField("healthChecks[]", hc_targets)),
        methods=_PATCH_UPDATE, validate=_backend_service_validate,
    )


def _forwarding_rule(scope: str) -> Collection:
    fields = [RefField("target", _RULE_TARGETS[scope == "global"])]
    if scope == "region":
        fields += [RefField("backendService", (("region", "backendServices"),)),
                   RefField("network", (("global", "networks"),)),
                   RefField("subnetwork", (("region", "subnetworks"),))]
    return Collection(
        "forwardingRules", scope, "compute#forwardingRule", "forwarding_rule", fingerprint=True, labels=True,
        refs=tuple(fields), methods=frozenset({"insert", "get", "list", "delete", "patch"}),
        validate=_rule_validate, on_insert=_rule_insert, on_update=_rule_update, on_delete=_rule_delete,
        actions={"setLabels": set_labels, "setTarget": _set_target},
    )


COLLECTIONS = [
    _health_check("global"),
    _health_check("region"),
    _backend_service("global"),
    _backend_service("region"),
    Collection(
        "backendBuckets", "global", "compute#backendBucket", "backend_bucket", required=("bucketName",),
        methods=_PATCH_UPDATE, validate=_backend_bucket_validate,
    ),
    Collection(
        "urlMaps", "global", "compute#urlMap", "url_map", fingerprint=True, refs=_URL_MAP_REFS,
        methods=_PATCH_UPDATE, validate=_url_map_validate,
    ),
    Collection(
        "targetHttpProxies", "global", "compute#targetHttpProxy", "target_http_proxy", fingerprint=True,
        required=("urlMap",), refs=(RefField("urlMap", (("global", "urlMaps"),)),),
        methods=frozenset({"insert", "get", "list", "delete", "patch"}),
        actions={"setUrlMap": _set_url_map},
    ),
    Collection(
        "targetHttpsProxies", "global", "compute#targetHttpsProxy", "target_https_proxy", fingerprint=True,
        required=("urlMap",),
        refs=(RefField("urlMap", (("global", "urlMaps"),)),
              RefField("sslCertificates[]", (("global", "sslCertificates"),))),
        methods=frozenset({"insert", "get", "list", "delete", "patch"}), validate=_https_proxy_validate,
        actions={"setUrlMap": _set_url_map, "setSslCertificates": _set_ssl_certificates},
    ),
    Collection(
        "sslCertificates", "global", "compute#sslCertificate", "ssl_certificate", validate=_certificate_validate,
    ),
    _forwarding_rule("global"),
    _forwarding_rule("region"),
]
