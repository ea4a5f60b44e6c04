"""`load_balancer` on Google Cloud.

http/https listeners: a global external Application Load Balancer (scheme EXTERNAL_MANAGED):
a health check (HTTP), a backend service on the target group's named port, a URL map, a
target HTTP proxy and/or a target HTTPS proxy (the listeners' certificates), a global static
address, and one global forwarding rule per listener, all sharing the address. On GCP one
balancer forwards to one target port: a URL map has one default service, and a backend
service one named port, so listeners with different `target_port`s are a validate error.

tcp listeners: a regional external passthrough Network Load Balancer (scheme EXTERNAL): a
regional TCP health check, a regional backend service, a regional static address and one
regional forwarding rule per listener. Passthrough does not translate ports (`target_port`
must equal `port`), and the instances see the clients' own addresses, so a firewall rule
(`<lb>/gcp.firewall/clients`) admits the world to the listeners' ports on the target group: its
instances have no external address (compute.py), so that reaches them only through the
balancer's listeners — what the plan declared public — and no other port.

Both open Google's health-check source ranges to the target (and health-check) ports on the
group's network tag (`<lb>/gcp.firewall/health-check`). Forwarding rules are keyed and named
by their port, so a listener port change is a new rule beside the old one on the same address
(created first, then the old one deleted), in one apply. The objects that take no labels
(health checks, backend services, URL maps, proxies) carry the stack in their name and the
ownership marker in their description. The CDN (cdn.py) reuses the front end (URL map, proxy,
address, forwarding rule) and the backend service type.
"""

from __future__ import annotations

import abc
import re
from typing import Any

from lepton_cli.drivers.base import ExpandContext, Observed, Primitive, Ref
from lepton_cli.drivers.gcp.common import API, DESCRIPTION, GLOBAL, LABELS, ComputeType, name_of
from lepton_cli.drivers.names import physical_name
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import LoadBalancer, Stack

# Abstract attribute -> (address suffix, output), for http/https and for tcp balancers.
ATTRIBUTES = {
    "id": ("gcp.url_map", "id"),
    "name": ("gcp.url_map", "name"),
    "address": ("gcp.global_address", "address"),
    "dns_name": ("gcp.global_address", "address"),  # GCP load balancers have no DNS name: the IP
}
TCP_ATTRIBUTES = {
    "id": ("gcp.region_backend_service", "id"),
    "name": ("gcp.region_backend_service", "name"),
    "address": ("gcp.address", "address"),
    "dns_name": ("gcp.address", "address"),
}
WORLD = "0.0.0.0/0"  # a passthrough balancer's clients: whoever its public listeners serve
# Where Google's health checkers come from (firewall rules for health checks, GCP docs).
PROBE_RANGES = {
    "application": ["130.211.0.0/22", "35.191.0.0/16"],
    "network": ["209.85.152.0/22", "209.85.204.0/22", "35.191.0.0/16"],
}
HEALTH_TIMEOUT = 5  # seconds (GCP's default), never above the interval
MAX_CERTIFICATES = 15  # SSL certificates per target HTTPS proxy
_NAME = r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"
_CERTIFICATE = re.compile(
    rf"(?:(?:https://(?:www|compute)\.googleapis\.com/compute/v1/)?projects/(?P<project>[a-z][-a-z0-9.:]*)"
    rf"/global/sslCertificates/)?(?P<name>{_NAME})")


def is_tcp(resource: LoadBalancer) -> bool:
    return any(l.protocol == "tcp" for l in resource.listeners)


def target_port(listener) -> int:
    return listener.target_port or listener.port


def backend_port(resource: LoadBalancer) -> int:
    """The one port the balancer forwards to (validate makes sure there is one)."""
    return target_port(resource.listeners[0])


def attribute_ref(stack: Stack, name: str, attr: str) -> Ref:
    """An attribute of the balancer: from its global or its regional objects."""
    suffix, output = (TCP_ATTRIBUTES if is_tcp(stack.resources[name]) else ATTRIBUTES)[attr]
    return Ref(f"{name}/{suffix}", output)


def certificate_link(certificate: str, project: str) -> str | None:
    """A listener's `certificate` (a global sslCertificates name, path or URL) as the URL the
    API reports; None if it is none of these."""
    found = _CERTIFICATE.fullmatch(certificate or "")
    if not found:
        return None
    return f"{API}projects/{found['project'] or project}/global/sslCertificates/{found['name']}"


def needs_network(resource: LoadBalancer) -> bool:
    """No: the forwarding rules are external; the firewall uses the target group's network."""
    return False


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource: LoadBalancer = stack.resources[name]
    path = f"resources.{name}.listeners"
    problems = []
    protocols = {l.protocol for l in resource.listeners}
    if "tcp" in protocols and protocols != {"tcp"}:
        problems.append(Diagnostic(
            summary="a load balancer's listeners are all http/https (an application load balancer) or all tcp "
                    "(a network load balancer), not both", path=path))
    targets = sorted({target_port(l) for l in resource.listeners})
    if "tcp" not in protocols and len(targets) > 1:
        problems.append(Diagnostic(
            summary=f"on Google Cloud all listeners of a load balancer forward to one target_port; {name!r} uses "
                    f"{', '.join(map(str, targets))}", path=path,
            hint="give every listener the same target_port, or use one load balancer per target port"))
    for i, listener in enumerate(resource.listeners):
        if listener.protocol == "https" and certificate_link(listener.certificate or "", "p") is None:
            problems.append(Diagnostic(
                summary=f"{listener.certificate!r} is not a Google Cloud SSL certificate",
                path=f"{path}.{i}.certificate",
                hint="name a global sslCertificates resource: its name, "
                     "projects/PROJECT/global/sslCertificates/NAME, or its https://www.googleapis.com/... URL"))
        if listener.protocol == "tcp" and target_port(listener) != listener.port:
            problems.append(Diagnostic(
                summary="a Google Cloud network load balancer passes connections through: target_port must equal port",
                path=f"{path}.{i}.target_port", hint=f"drop target_port, or listen on {target_port(listener)}"))
    target = stack.resources.get(resource.target)
    if target is not None and target.kind == "compute":
        if "tcp" in protocols and stack.region_of(resource.target) != stack.region_of(name):
            problems.append(Diagnostic(
                summary=f"a tcp load balancer on Google Cloud is regional: it must be in {resource.target!r}'s region "
                        f"{stack.region_of(resource.target)}, not {stack.region_of(name)}",
                path=f"resources.{name}.region"))
        for i, listener in enumerate(resource.listeners):
            if target_port(listener) not in target.ports:
                problems.append(Diagnostic(
                    summary=f"listener forwards to port {target_port(listener)}, "
                            f"which {resource.target!r} does not open",
                    path=f"{path}.{i}", hint=f"add {target_port(listener)} to resources.{resource.target}.ports"))
    elif target is not None:
        problems.append(Diagnostic(summary=f"a load balancer targets a compute resource; {resource.target!r} is a "
                                           f"{target.kind}", path=f"resources.{name}.target"))
    return problems


# -- expansion ------------------------------------------------------------------------------------
def primitive(name: str, kind: str, type_: str, region: str, properties: dict[str, Any], key: str = "",
              summary: tuple[str, ...] = ()) -> Primitive:
    return Primitive(address=f"{name}/gcp.{type_}" + (f"/{key}" if key else ""), type=f"gcp.{type_}", cloud="gcp",
                     region=region, resource=name, kind=kind, properties=properties, summary=summary)


def health_check_firewall(stack: Stack, name: str, kind: str, target: str, ports: list[int],
                          family: str) -> Primitive:
    """Google's health checkers -> the target group's instances, on `ports`."""
    from lepton_cli.drivers.gcp import compute, firewall

    return firewall.rule(f"{name}/gcp.firewall/health-check", name, kind,
                         physical_name(stack.stack, name, "health-check", limit=63), PROBE_RANGES[family],
                         sorted(set(ports)), [compute.instance_tag(stack.stack, target)])


def frontend(stack: Stack, name: str, kind: str, service: Ref, listeners: list[tuple[int, str | None]],
             project: str, summary: tuple[str, ...] = ()) -> list[Primitive]:
    """URL map -> target HTTP/HTTPS proxy -> one global forwarding rule per (port, certificate)
    listener (certificate None: plain HTTP), on one global static address."""
    base = physical_name(stack.stack, name, limit=63)
    url_map = primitive(name, kind, "url_map", GLOBAL, {"name": base, "default_service": service})
    address = primitive(name, kind, "global_address", GLOBAL, {"name": base, "address_type": "EXTERNAL"})
    prims = [url_map, address]
    proxies: dict[bool, Primitive] = {}
    certificates = list(dict.fromkeys(certificate_link(c, project) for _, c in listeners if c))
    if any(c is None for _, c in listeners):
        proxies[False] = primitive(name, kind, "target_http_proxy", GLOBAL,
                                   {"name": base, "url_map": Ref(url_map.address, "self_link")})
    if certificates:
        proxies[True] = primitive(name, kind, "target_https_proxy", GLOBAL,
                                  {"name": base, "url_map": Ref(url_map.address, "self_link"),
                                   "ssl_certificates": certificates})
    prims += proxies.values()
    for port, certificate in listeners:
        prims.append(primitive(name, kind, "global_forwarding_rule", GLOBAL, {
            "name": physical_name(stack.stack, name, str(port), limit=63),
            "load_balancing_scheme": "EXTERNAL_MANAGED", "ip_protocol": "TCP", "port_range": str(port),
            "ip_address": Ref(address.address, "address"),
            "target": Ref(proxies[certificate is not None].address, "self_link"),
        }, str(port), summary))
    return prims


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: LoadBalancer = stack.resources[name]
    problems = validate(stack, name)
    if problems:
        raise LeptonError(*problems)
    from lepton_cli.drivers.gcp import compute, firewall

    health = resource.health_check
    port = backend_port(resource)
    base = physical_name(stack.stack, name, limit=63)
    group = Ref(f"{resource.target}/gcp.region_instance_group_manager", "instance_group")
    checks = {"check_interval_sec": health.interval, "timeout_sec": min(HEALTH_TIMEOUT, health.interval),
              "healthy_threshold": health.healthy_threshold, "unhealthy_threshold": health.unhealthy_threshold}
    probe_ports = [target_port(l) for l in resource.listeners] + ([health.port] if health.port else [])
    if is_tcp(resource):
        check = primitive(name, "load_balancer", "region_health_check", region, {
            "name": base, "type": "TCP", "port": health.port or port, "request_path": None, **checks})
        service = primitive(name, "load_balancer", "region_backend_service", region, {
            "name": base, "load_balancing_scheme": "EXTERNAL", "protocol": "TCP", "port_name": None,
            "backends": [{"group": group, "balancing_mode": "CONNECTION"}],
            "health_checks": [Ref(check.address, "self_link")], "enable_cdn": False, "cdn_policy": None})
        address = primitive(name, "load_balancer", "address", region, {"name": base, "address_type": "EXTERNAL"})
        rules = [primitive(name, "load_balancer", "forwarding_rule", region, {
            "name": physical_name(stack.stack, name, str(l.port), limit=63),
            "load_balancing_scheme": "EXTERNAL", "ip_protocol": "TCP", "ports": [str(l.port)],
            "ip_address": Ref(address.address, "address"), "backend_service": Ref(service.address, "self_link"),
        }, str(l.port)) for l in resource.listeners]
        clients = firewall.rule(f"{name}/gcp.firewall/clients", name, "load_balancer",
                                physical_name(stack.stack, name, "clients", limit=63), [WORLD],
                                sorted({l.port for l in resource.listeners}),
                                [compute.instance_tag(stack.stack, resource.target)])
        return [health_check_firewall(stack, name, "load_balancer", resource.target, probe_ports, "network"),
                clients, check, service, address, *rules]
    check = primitive(name, "load_balancer", "health_check", GLOBAL, {
        "name": base, "type": "HTTP", "port": health.port or port, "request_path": health.path, **checks})
    service = primitive(name, "load_balancer", "backend_service", GLOBAL, {
        "name": base, "load_balancing_scheme": "EXTERNAL_MANAGED", "protocol": "HTTP",
        "port_name": compute.named_port(port), "backends": [{"group": group, "balancing_mode": "UTILIZATION"}],
        "health_checks": [Ref(check.address, "self_link")], "enable_cdn": False, "cdn_policy": None})
    listeners = [(l.port, l.certificate if l.protocol == "https" else None) for l in resource.listeners]
    return [health_check_firewall(stack, name, "load_balancer", resource.target, probe_ports, "application"),
            check, service, *frontend(stack, name, "load_balancer", Ref(service.address, "self_link"), listeners,
                                      driver.project)]


# -- the types ------------------------------------------------------------------------------------
def _port_range(text: str) -> str:
    """"80-80" (how the API reports a single port) -> "80"."""
    low, _, high = (text or "").partition("-")
    return low if high in ("", low) else text


class LbType(ComputeType):
    """A load-balancing object: `read` gives its properties back in the expansion's shape;
    `change` patches the whole desired body (with the object's fingerprint, where it has one)
    unless a type changes it another way (setTarget, setUrlMap) or not at all."""

    scope = GLOBAL
    ownership = DESCRIPTION
    replace_on = frozenset({"name"})
    output_keys = frozenset({"id", "self_link", "name"})

    @abc.abstractmethod
    def read(self, item: Any) -> dict[str, Any]:
        """The API item's properties (besides `name`), in the shape `expand` writes them."""

    def outputs(self, item: Any) -> dict[str, Any]:
        return {}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        return self.observed(address, region, item, {"name": item.name, **self.read(item)}, self.outputs(item))

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """Insert, or adopt this create's own earlier attempt and bring it to `properties`."""
        current = super().create(primitive, properties)
        changed = {k for k in self.property_keys - self.replace_on
                   if current.properties.get(k) != self.normalize(dict(properties)).get(k)}
        return self.update(primitive, properties, current, changed) if changed else current

    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed,
               changed: set[str]) -> Observed:
        """Make the changes (with the object's current fingerprint, read now) and read it back."""
        name = name_of(current.id)
        location = self.where_of(current)
        item = self.get(current.region, name, location["project"])
        if item is None:
            raise LeptonError(Diagnostic(summary=f"the {self.noun} {name} is gone", address=current.address,
                                         hint="run lepton apply again: it is planned as a create"))
        self.change(primitive, properties, current, changed, item, name, location)
        return self.observe(current.address, current.region, self.get(current.region, name, location["project"]))

    def change(self, primitive, properties, current, changed, item, name, location) -> None:
        body = {**self.body(primitive, properties), **self.marker(current.address)}
        if getattr(item, "fingerprint", ""):
            body["fingerprint"] = item.fingerprint
        self.call("patch", f"updating the {self.noun} {name}", current.address, location=location,
                  **{self.ident_field: name, self.resource_field: body})


class HealthCheckType(LbType):
    """HTTP (application) or TCP (network) health check; patched in place."""

    type_name = "gcp.health_check"
    collection, resource_field, ident_field = "HealthChecks", "health_check_resource", "health_check"
    noun = "health check"
    property_keys = frozenset({"name", "type", "port", "request_path", "check_interval_sec", "timeout_sec",
                               "healthy_threshold", "unhealthy_threshold"})
    update_notes = {k: "patches the health check" for k in ("port", "request_path", "check_interval_sec",
                                                            "timeout_sec", "healthy_threshold", "unhealthy_threshold",
                                                            "type")}

    def body(self, primitive, properties):
        check: dict[str, Any] = {"port": properties["port"]}
        if properties["type"] == "HTTP":
            check["request_path"] = properties["request_path"]
        return {"name": properties["name"], "type_": properties["type"],
                f"{properties['type'].lower()}_health_check": check,
                **{k: properties[k] for k in ("check_interval_sec", "timeout_sec", "healthy_threshold",
                                               "unhealthy_threshold")}}

    def read(self, item):
        kind = item.type_
        check = item.http_health_check if kind == "HTTP" else item.tcp_health_check
        return {"type": kind, "port": check.port or None,
                "request_path": (check.request_path or "/") if kind == "HTTP" else None,
                **{k: getattr(item, k) for k in ("check_interval_sec", "timeout_sec", "healthy_threshold",
                                                  "unhealthy_threshold")}}


class RegionHealthCheckType(HealthCheckType):
    type_name = "gcp.region_health_check"
    collection = "RegionHealthChecks"
    scope = "region"


def cdn_policy_of(policy: Any) -> dict[str, Any]:
    return {"cache_mode": policy.cache_mode, "default_ttl": policy.default_ttl, "client_ttl": policy.client_ttl,
            "max_ttl": policy.max_ttl}


class BackendServiceType(LbType):
    """The group behind a balancer (or a CDN): backends, named port and health checks are
    patched in place; a CDN-enabled one also carries its cache policy."""

    type_name = "gcp.backend_service"
    collection, resource_field, ident_field = "BackendServices", "backend_service_resource", "backend_service"
    noun = "backend service"
    property_keys = frozenset({"name", "load_balancing_scheme", "protocol", "port_name", "backends", "health_checks",
                               "enable_cdn", "cdn_policy"})
    replace_on = frozenset({"name", "load_balancing_scheme"})
    update_notes = {"backends": "patches the backend service's backends", "port_name": "patches the named port",
                    "health_checks": "patches the backend service's health checks",
                    "cdn_policy": "patches the CDN cache policy", "protocol": "patches the backend service",
                    "enable_cdn": "patches the backend service"}

    def body(self, primitive, properties):
        body = {k: properties[k] for k in ("name", "load_balancing_scheme", "protocol", "health_checks")}
        body["backends"] = [dict(b) for b in properties["backends"]]
        if properties["port_name"]:
            body["port_name"] = properties["port_name"]
        if properties["enable_cdn"]:
            body.update(enable_c_d_n=True, cdn_policy=dict(properties["cdn_policy"]))
        return body

    def read(self, item):
        return {"load_balancing_scheme": item.load_balancing_scheme, "protocol": item.protocol,
                "port_name": item.port_name or None,
                "backends": [{"group": b.group, "balancing_mode": b.balancing_mode} for b in item.backends],
                "health_checks": list(item.health_checks), "enable_cdn": bool(item.enable_c_d_n),
                "cdn_policy": cdn_policy_of(item.cdn_policy) if item.enable_c_d_n else None}


class RegionBackendServiceType(BackendServiceType):
    type_name = "gcp.region_backend_service"
    collection = "RegionBackendServices"
    scope = "region"


class UrlMapType(LbType):
    """One default service (a backend service or bucket); patched in place."""

    type_name = "gcp.url_map"
    collection, resource_field, ident_field = "UrlMaps", "url_map_resource", "url_map"
    noun = "URL map"
    property_keys = frozenset({"name", "default_service"})
    update_notes = {"default_service": "points the URL map at another service"}

    def body(self, primitive, properties):
        return {"name": properties["name"], "default_service": properties["default_service"]}

    def read(self, item):
        return {"default_service": item.default_service}


class TargetHttpProxyType(LbType):
    type_name = "gcp.target_http_proxy"
    collection, resource_field, ident_field = "TargetHttpProxies", "target_http_proxy_resource", "target_http_proxy"
    noun = "target HTTP proxy"
    property_keys = frozenset({"name", "url_map"})
    update_notes = {"url_map": "points the proxy at another URL map (setUrlMap)"}

    def body(self, primitive, properties):
        return {"name": properties["name"], "url_map": properties["url_map"]}

    def read(self, item):
        return {"url_map": item.url_map}

    def change(self, primitive, properties, current, changed, item, name, location) -> None:
        if "url_map" in changed:
            self.call("set_url_map", f"pointing the {self.noun} {name} at another URL map", current.address,
                      location=location,
                      **{self.ident_field: name, "url_map_reference_resource": {"url_map": properties["url_map"]}})


class TargetHttpsProxyType(TargetHttpProxyType):
    type_name = "gcp.target_https_proxy"
    collection, resource_field, ident_field = ("TargetHttpsProxies", "target_https_proxy_resource",
                                               "target_https_proxy")
    noun = "target HTTPS proxy"
    property_keys = frozenset({"name", "url_map", "ssl_certificates"})
    update_notes = {"url_map": "points the proxy at another URL map (setUrlMap)",
                    "ssl_certificates": "changes the proxy's certificates (setSslCertificates)"}

    def body(self, primitive, properties):
        return {**super().body(primitive, properties), "ssl_certificates": list(properties["ssl_certificates"])}

    def read(self, item):
        return {"url_map": item.url_map, "ssl_certificates": list(item.ssl_certificates)}

    def change(self, primitive, properties, current, changed, item, name, location) -> None:
        super().change(primitive, properties, current, changed, item, name, location)
        if "ssl_certificates" in changed:
            self.call("set_ssl_certificates", f"changing the certificates of the {self.noun} {name}",
                      current.address, location=location, **{
                          self.ident_field: name, "target_https_proxies_set_ssl_certificates_request_resource": {
                              "ssl_certificates": list(properties["ssl_certificates"])}})


class GlobalAddressType(LbType):
    """A reserved external IP: nothing to change in place (labels are only the marker)."""

    type_name = "gcp.global_address"
    collection, resource_field, ident_field = "GlobalAddresses", "address_resource", "address"
    ownership = LABELS
    noun = "static address"
    property_keys = frozenset({"name", "address_type"})
    replace_on = frozenset({"name", "address_type"})
    output_keys = frozenset({"id", "self_link", "name", "address"})

    def body(self, primitive, properties):
        return {"name": properties["name"], "address_type": properties["address_type"]}

    def read(self, item):
        return {"address_type": item.address_type or "EXTERNAL"}

    def outputs(self, item):
        return {"address": item.address}

    def change(self, primitive, properties, current, changed, item, name, location) -> None:
        return None  # everything it has is in replace_on


class AddressType(GlobalAddressType):
    type_name = "gcp.address"
    collection = "Addresses"
    scope = "region"


class GlobalForwardingRuleType(LbType):
    """One listener port on the address: the target proxy changes in place (setTarget);
    anything else makes a new rule (its name holds its port)."""

    type_name = "gcp.global_forwarding_rule"
    collection, resource_field, ident_field = "GlobalForwardingRules", "forwarding_rule_resource", "forwarding_rule"
    ownership = LABELS
    noun = "forwarding rule"
    property_keys = frozenset({"name", "load_balancing_scheme", "ip_protocol", "port_range", "ip_address", "target"})
    replace_on = frozenset({"name", "load_balancing_scheme", "ip_protocol", "port_range", "ip_address"})
    update_notes = {"target": "points the forwarding rule at another proxy (setTarget)"}

    def body(self, primitive, properties):
        return {"name": properties["name"], "load_balancing_scheme": properties["load_balancing_scheme"],
                "I_p_protocol": properties["ip_protocol"], "port_range": properties["port_range"],
                "I_p_address": properties["ip_address"], "target": properties["target"]}

    def read(self, item):
        return {"load_balancing_scheme": item.load_balancing_scheme, "ip_protocol": item.I_p_protocol,
                "port_range": _port_range(item.port_range), "ip_address": item.I_p_address, "target": item.target}

    def change(self, primitive, properties, current, changed, item, name, location) -> None:
        if "target" in changed:
            self.call("set_target", f"pointing the {self.noun} {name} at another proxy", current.address,
                      location=location, **{self.ident_field: name,
                                                       "target_reference_resource": {"target": properties["target"]}})


class ForwardingRuleType(GlobalForwardingRuleType):
    """A passthrough rule to a regional backend service: nothing changes in place."""

    type_name = "gcp.forwarding_rule"
    collection = "ForwardingRules"
    scope = "region"
    property_keys = frozenset({"name", "load_balancing_scheme", "ip_protocol", "ports", "ip_address",
                               "backend_service"})
    replace_on = property_keys
    update_notes = {}

    def body(self, primitive, properties):
        return {"name": properties["name"], "load_balancing_scheme": properties["load_balancing_scheme"],
                "I_p_protocol": properties["ip_protocol"], "ports": list(properties["ports"]),
                "I_p_address": properties["ip_address"], "backend_service": properties["backend_service"]}

    def read(self, item):
        return {"load_balancing_scheme": item.load_balancing_scheme, "ip_protocol": item.I_p_protocol,
                "ports": list(item.ports), "ip_address": item.I_p_address, "backend_service": item.backend_service}

    def change(self, primitive, properties, current, changed, item, name, location) -> None:
        return None  # everything it has is in replace_on


TYPES = [HealthCheckType, RegionHealthCheckType, BackendServiceType, RegionBackendServiceType, UrlMapType,
         TargetHttpProxyType, TargetHttpsProxyType, GlobalAddressType, AddressType, GlobalForwardingRuleType,
         ForwardingRuleType]
