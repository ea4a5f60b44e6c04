"""`cdn` on Azure: Azure Front Door Standard (azure-mgmt-cdn): a profile (sku
Standard_AzureFrontDoor, location Global, in the resource group of the cdn's region), an
endpoint (its host name `<name>-<hash>.z01.azurefd.net` is the cdn's `domain`), an origin
group, one origin and one route (`/*`, Http and Https, linked to the endpoint's default domain).

Origins: a bucket on Azure is served from its storage account's blob host, the route's origin
path being the container (`/content`), over HTTPS; a load balancer, on Azure or on any other
cloud (Front Door takes any public host name or IP), from its `dns_name`, over the protocol
and port of its first http listener (else its first https one). A bucket on another cloud has
no host name among its attributes: a validate error. Front Door reads a bucket anonymously,
so a private bucket's blobs are not served (a summary note).

`https_only` redirects HTTP to HTTPS at the edge (the route's `https_redirect`). `default_ttl`:
Front Door Standard has no per-route default TTL (only rule sets' cache-expiration actions,
which lepton does not manage): with `default_ttl: 0` the route does not cache at all;
otherwise it caches (query strings ignored) for as long as the origin's Cache-Control says,
Front Door's own default when it says nothing; the plan's summary says so.

The profile carries the ownership tags; the endpoint, origin group, origin and route are owned
through it and their deterministic names (`child`).
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.azure.common import AzureType, parse_id
from lepton_cli.drivers.base import ExpandContext, Observed, Primitive, Ref
from lepton_cli.drivers.names import physical_name, unique_name
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Cdn, Stack

PROFILE, ENDPOINT, GROUP, ORIGIN, ROUTE = (
    "azure.cdn_profile", "azure.afd_endpoint", "azure.afd_origin_group", "azure.afd_origin", "azure.afd_route")
ATTRIBUTES = {"id": (PROFILE, "id"), "name": (PROFILE, "name"), "domain": (ENDPOINT, "host_name")}
SKU = "Standard_AzureFrontDoor"
LOCATION = "global"  # ARM answers "Global"; properties hold it lowercase
GROUP_NAME, ORIGIN_NAME, ROUTE_NAME = "origins", "origin", "default"
PROBE_INTERVAL = 100  # seconds: Front Door's default
LOAD_BALANCING = {"sample_size": 4, "successful_samples_required": 3, "additional_latency_ms": 50}
TTL_NOTE = ("default_ttl: Front Door Standard has no per-route default TTL; it caches for as long as the origin's "
            "Cache-Control says (Front Door's own default when it says nothing)")
PRIVATE_ORIGIN = ("the origin bucket is not public: Front Door reads blobs anonymously, so they are served only once "
                  "the bucket is public (public: true)")


def profile_name(stack: str, name: str) -> str:
    return physical_name(stack, name, limit=90)


def endpoint_name(stack: str, name: str, subscription: str) -> str:
    """Endpoint host names are global (`<name>-<hash>.z01.azurefd.net`): a hashed name."""
    return unique_name(stack, name, subscription, limit=46)


def needs_network(resource: Cdn) -> bool:
    return False


def _origin_listener(origin) -> Any | None:
    """The load balancer listener Front Door forwards to: the first http one, else https."""
    for protocol in ("http", "https"):
        for listener in origin.listeners:
            if listener.protocol == protocol:
                return listener
    return None


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource: Cdn = stack.resources[name]
    origin = stack.resources.get(resource.origin)
    path = f"resources.{name}.origin"
    if origin is None:
        return []
    if origin.kind == "bucket" and stack.cloud_of(resource.origin) != "azure":
        return [Diagnostic(
            summary=f"Front Door serves a bucket on Azure; {resource.origin!r} is on {stack.cloud_of(resource.origin)}",
            path=path, hint="put the bucket on azure, or the cdn on the bucket's cloud")]
    if origin.kind == "load_balancer" and _origin_listener(origin) is None:
        return [Diagnostic(summary=f"Front Door forwards HTTP(S); {resource.origin!r} has only tcp listeners",
                           path=path,
                           hint="give the load balancer an http listener")]
    if origin.kind not in ("bucket", "load_balancer"):
        return [Diagnostic(summary=f"a CDN's origin is a bucket or a load balancer; {resource.origin!r} is a "
                                   f"{origin.kind}", path=path)]
    return []


def origin_settings(stack: Stack, resource: Cdn, ctx: ExpandContext) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the origin's host and ports, the route's forwarding settings) for the cdn's origin."""
    origin = stack.resources[resource.origin]
    if origin.kind == "bucket":
        host = Ref(f"{resource.origin}/azure.storage_account", "blob_host")
        from lepton_cli.drivers.azure.bucket import CONTAINER_NAME

        return ({"host_name": host, "origin_host_header": host, "http_port": 80, "https_port": 443},
                {"forwarding_protocol": "HttpsOnly", "origin_path": f"/{CONTAINER_NAME}", "probe": None})
    listener = _origin_listener(origin)
    host = ctx.ref(resource.origin, "dns_name")
    https = listener.protocol == "https"
    return ({"host_name": host, "origin_host_header": host, "http_port": 80 if https else listener.port,
             "https_port": listener.port if https else 443},
            {"forwarding_protocol": "HttpsOnly" if https else "HttpOnly", "origin_path": None,
             "probe": {"path": origin.health_check.path, "protocol": "Https" if https else "Http",
                       "request_type": "HEAD", "interval": PROBE_INTERVAL}})


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Cdn = stack.resources[name]
    problems = validate(stack, name)
    if problems:
        raise LeptonError(*problems)
    group = Ref(f"network-{region}/azure.resource_group", "name")
    profile = Ref(f"{name}/{PROFILE}", "name")
    origin, forwarding = origin_settings(stack, resource, ctx)
    source = stack.resources[resource.origin]
    notes = ((TTL_NOTE,) if resource.default_ttl else ()) + (
        (PRIVATE_ORIGIN,) if source.kind == "bucket" and not source.public else ())

    def prim(type_name: str, properties: dict[str, Any], depends_on: tuple[str, ...] = (),
             summary: tuple[str, ...] = ()) -> Primitive:
        return Primitive(address=f"{name}/{type_name}", type=type_name, cloud="azure", region=region, resource=name,
                         kind="cdn", properties={"resource_group": group, **properties}, depends_on=depends_on,
                         summary=summary)

    return [
        prim(PROFILE, {"name": profile_name(stack.stack, name), "location": LOCATION, "sku": SKU}),
        prim(ENDPOINT, {"name": endpoint_name(stack.stack, name, driver.subscription), "profile_name": profile,
                        "location": LOCATION, "enabled_state": "Enabled"}),
        prim(GROUP, {"name": GROUP_NAME, "profile_name": profile, "health_probe": forwarding["probe"],
                     "load_balancing": dict(LOAD_BALANCING), "session_affinity": "Disabled"}),
        prim(ORIGIN, {"name": ORIGIN_NAME, "profile_name": profile, "origin_group_name": Ref(f"{name}/{GROUP}", "name"),
                      **origin, "priority": 1, "weight": 1000, "enabled_state": "Enabled"}),
        prim(ROUTE, {
            "name": ROUTE_NAME, "profile_name": profile, "endpoint_name": Ref(f"{name}/{ENDPOINT}", "name"),
            "origin_group_id": Ref(f"{name}/{GROUP}", "id"), "origin_path": forwarding["origin_path"],
            "patterns": ["/*"], "supported_protocols": ["Http", "Https"],
            "forwarding_protocol": forwarding["forwarding_protocol"],
            "https_redirect": "Enabled" if resource.https_only else "Disabled", "link_to_default_domain": "Enabled",
            "caching": {"query_string": "IgnoreQueryString"} if resource.default_ttl else None,
            "enabled_state": "Enabled"}, depends_on=(f"{name}/{ORIGIN}",), summary=notes),
    ]


def segment(ident: str, after: str) -> str:
    """The name following `/<after>/` in an ARM id (case-insensitive), or ""."""
    parts = ident.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index(after.lower()) + 1] if after.lower() in lowered else ""


class CdnProfileType(AzureType):
    type_name = PROFILE
    client = "cdn"
    noun = "Front Door profile"
    property_keys = frozenset({"name", "resource_group", "location", "sku"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "resource_group", "location", "sku"})

    def items(self, region: str):
        return self.api().profiles.list_by_resource_group(self.group(region))

    def fetch(self, region: str, name: str, properties):
        return self.api().profiles.get(properties.get("resource_group") or self.group(region), name)

    def observe(self, address: str, region: str, item) -> Observed:
        return Observed(address, self.type_name, region, item.id, {
            "name": item.name, "resource_group": parse_id(item.id).get("resource_group", ""),
            "location": (item.location or "").lower(), "sku": item.sku.name if item.sku else ""},
            {"id": item.id, "name": item.name})

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.cdn import models

        return self.api().profiles.begin_create(properties["resource_group"], properties["name"], models.Profile(
            location="Global", sku=models.Sku(name=properties["sku"]), tags=self.tags(primitive.address))).result()

    def remove(self, current: Observed) -> None:
        self.api().profiles.begin_delete(current.properties["resource_group"], current.properties["name"]).result()


class _ProfileChild(AzureType):
    """A Front Door object inside the stack's profiles: listed through the owned profiles of
    the resource group, owned through the profile's tags and the name the expansion makes."""

    client = "cdn"
    child = True
    replace_on = frozenset({"name", "resource_group", "profile_name"})

    def expected(self, resource: str) -> str:
        raise NotImplementedError

    def children(self, group: str, profile: str) -> Any:
        raise NotImplementedError

    def items(self, region: str):
        group = self.group(region)
        for profile in self.api().profiles.list_by_resource_group(group):
            address = self.owned(profile)
            if address and address.endswith(f"/{PROFILE}"):
                resource = address.split("/", 1)[0]
                for item in self.children(group, profile.name):
                    yield resource, item

    def address_of(self, item) -> str | None:
        resource, found = item
        return f"{resource}/{self.type_name}" if found.name == self.expected(resource) else None

    def observe(self, address: str, region: str, item) -> Observed:
        if isinstance(item, tuple):
            item = item[1]
        return Observed(address, self.type_name, region, item.id, self.normalize({
            "name": item.name, "resource_group": parse_id(item.id).get("resource_group", ""),
            "profile_name": segment(item.id, "profiles"), **self.read(item)}), {"id": item.id, "name": item.name,
                                                                                **self.extra_outputs(item)})

    def read(self, item) -> dict[str, Any]:
        raise NotImplementedError

    def extra_outputs(self, item) -> dict[str, Any]:
        return {}


class AfdEndpointType(_ProfileChild):
    type_name = ENDPOINT
    noun = "Front Door endpoint"
    property_keys = frozenset({"name", "resource_group", "profile_name", "location", "enabled_state"})
    output_keys = frozenset({"id", "name", "host_name"})
    replace_on = frozenset({"name", "resource_group", "profile_name", "location"})

    def expected(self, resource: str) -> str:
        return endpoint_name(self.stack, resource, self.driver.subscription)

    def children(self, group: str, profile: str):
        return self.api().afd_endpoints.list_by_profile(group, profile)

    def fetch(self, region: str, name: str, properties):
        return self.api().afd_endpoints.get(properties["resource_group"], properties["profile_name"], name)

    def read(self, item) -> dict[str, Any]:
        return {"location": (item.location or "").lower(), "enabled_state": item.enabled_state or ""}

    def extra_outputs(self, item) -> dict[str, Any]:
        return {"host_name": item.host_name or ""}

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.cdn import models

        return self.api().afd_endpoints.begin_create(
            properties["resource_group"], properties["profile_name"], properties["name"],
            models.AFDEndpoint(location="Global", enabled_state=properties["enabled_state"],
                               tags=self.tags(primitive.address))).result()

    def remove(self, current: Observed) -> None:
        p = current.properties
        self.api().afd_endpoints.begin_delete(p["resource_group"], p["profile_name"], p["name"]).result()


class AfdOriginGroupType(_ProfileChild):
    type_name = GROUP
    noun = "Front Door origin group"
    property_keys = frozenset({"name", "resource_group", "profile_name", "health_probe", "load_balancing",
                               "session_affinity"})

    def expected(self, resource: str) -> str:
        return GROUP_NAME

    def children(self, group: str, profile: str):
        return self.api().afd_origin_groups.list_by_profile(group, profile)

    def fetch(self, region: str, name: str, properties):
        return self.api().afd_origin_groups.get(properties["resource_group"], properties["profile_name"], name)

    def read(self, item) -> dict[str, Any]:
        probe, balancing = item.health_probe_settings, item.load_balancing_settings
        return {
            "health_probe": {"path": probe.probe_path, "protocol": probe.probe_protocol,
                             "request_type": probe.probe_request_type,
                             "interval": probe.probe_interval_in_seconds} if probe else None,
            "load_balancing": {"sample_size": balancing.sample_size,
                               "successful_samples_required": balancing.successful_samples_required,
                               "additional_latency_ms": balancing.additional_latency_in_milliseconds}
            if balancing else None,
            "session_affinity": item.session_affinity_state or "Disabled"}

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.cdn import models

        probe, balancing = properties["health_probe"], properties["load_balancing"]
        return self.api().afd_origin_groups.begin_create(
            properties["resource_group"], properties["profile_name"], properties["name"], models.AFDOriginGroup(
                health_probe_settings=models.HealthProbeParameters(
                    probe_path=probe["path"], probe_protocol=probe["protocol"],
                    probe_request_type=probe["request_type"], probe_interval_in_seconds=probe["interval"])
                if probe else None,
                load_balancing_settings=models.LoadBalancingSettingsParameters(
                    sample_size=balancing["sample_size"],
                    successful_samples_required=balancing["successful_samples_required"],
                    additional_latency_in_milliseconds=balancing["additional_latency_ms"]),
                session_affinity_state=properties["session_affinity"])).result()

    def remove(self, current: Observed) -> None:
        p = current.properties
        self.api().afd_origin_groups.begin_delete(p["resource_group"], p["profile_name"], p["name"]).result()


class AfdOriginType(_ProfileChild):
    type_name = ORIGIN
    noun = "Front Door origin"
    property_keys = frozenset({"name", "resource_group", "profile_name", "origin_group_name", "host_name",
                               "origin_host_header", "http_port", "https_port", "priority", "weight", "enabled_state"})
    replace_on = frozenset({"name", "resource_group", "profile_name", "origin_group_name"})

    def expected(self, resource: str) -> str:
        return ORIGIN_NAME

    def children(self, group: str, profile: str):
        for origin_group in self.api().afd_origin_groups.list_by_profile(group, profile):
            if origin_group.name == GROUP_NAME:
                yield from self.api().afd_origins.list_by_origin_group(group, profile, origin_group.name)

    def fetch(self, region: str, name: str, properties):
        return self.api().afd_origins.get(properties["resource_group"], properties["profile_name"],
                                          properties["origin_group_name"], name)

    def read(self, item) -> dict[str, Any]:
        return {"origin_group_name": segment(item.id, "originGroups"), "host_name": item.host_name or "",
                "origin_host_header": item.origin_host_header or "", "http_port": item.http_port,
                "https_port": item.https_port, "priority": item.priority, "weight": item.weight,
                "enabled_state": item.enabled_state or ""}

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.cdn import models

        p = properties
        return self.api().afd_origins.begin_create(p["resource_group"], p["profile_name"], p["origin_group_name"],
                                                   p["name"], models.AFDOrigin(
            host_name=p["host_name"], origin_host_header=p["origin_host_header"], http_port=p["http_port"],
            https_port=p["https_port"], priority=p["priority"], weight=p["weight"],
            enabled_state=p["enabled_state"], enforce_certificate_name_check=True)).result()

    def remove(self, current: Observed) -> None:
        p = current.properties
        self.api().afd_origins.begin_delete(p["resource_group"], p["profile_name"], p["origin_group_name"],
                                            p["name"]).result()


class AfdRouteType(_ProfileChild):
    type_name = ROUTE
    noun = "Front Door route"
    property_keys = frozenset({"name", "resource_group", "profile_name", "endpoint_name", "origin_group_id",
                               "origin_path", "patterns", "supported_protocols", "forwarding_protocol",
                               "https_redirect", "link_to_default_domain", "caching", "enabled_state"})
    replace_on = frozenset({"name", "resource_group", "profile_name", "endpoint_name"})

    def expected(self, resource: str) -> str:
        return ROUTE_NAME

    def children(self, group: str, profile: str):
        for endpoint in self.api().afd_endpoints.list_by_profile(group, profile):
            yield from self.api().routes.list_by_endpoint(group, profile, endpoint.name)

    def address_of(self, item) -> str | None:
        resource, found = item
        if found.name != ROUTE_NAME or segment(found.id, "afdEndpoints") != endpoint_name(
                self.stack, resource, self.driver.subscription):
            return None
        return f"{resource}/{self.type_name}"

    def fetch(self, region: str, name: str, properties):
        return self.api().routes.get(properties["resource_group"], properties["profile_name"],
                                     properties["endpoint_name"], name)

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {**properties, "patterns": sorted(properties.get("patterns") or []),
                "supported_protocols": sorted(properties.get("supported_protocols") or [])}

    def read(self, item) -> dict[str, Any]:
        cache = item.cache_configuration
        return {"endpoint_name": segment(item.id, "afdEndpoints"),
                "origin_group_id": item.origin_group.id if item.origin_group else "",
                "origin_path": item.origin_path or None, "patterns": list(item.patterns_to_match or []),
                "supported_protocols": list(item.supported_protocols or []),
                "forwarding_protocol": item.forwarding_protocol or "", "https_redirect": item.https_redirect or "",
                "link_to_default_domain": item.link_to_default_domain or "",
                "caching": {"query_string": cache.query_string_caching_behavior} if cache else None,
                "enabled_state": item.enabled_state or ""}

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.cdn import models

        p = properties
        return self.api().routes.begin_create(p["resource_group"], p["profile_name"], p["endpoint_name"], p["name"],
                                              models.Route(
            origin_group=models.ResourceReference(id=p["origin_group_id"]), origin_path=p["origin_path"],
            patterns_to_match=list(p["patterns"]), supported_protocols=list(p["supported_protocols"]),
            forwarding_protocol=p["forwarding_protocol"], https_redirect=p["https_redirect"],
            link_to_default_domain=p["link_to_default_domain"], enabled_state=p["enabled_state"],
            cache_configuration=models.AfdRouteCacheConfiguration(
                query_string_caching_behavior=p["caching"]["query_string"]) if p["caching"] else None)).result()

    def remove(self, current: Observed) -> None:
        p = current.properties
        self.api().routes.begin_delete(p["resource_group"], p["profile_name"], p["endpoint_name"], p["name"]).result()


TYPES = [CdnProfileType, AfdEndpointType, AfdOriginGroupType, AfdOriginType, AfdRouteType]
