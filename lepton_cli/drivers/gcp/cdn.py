"""`cdn` on Google Cloud: Cloud CDN on a global external Application Load Balancer.

A bucket origin (a GCS bucket of this stack) is served by a backend bucket with Cloud CDN
enabled; a load balancer origin (an http/https balancer of this stack) by a CDN-enabled
backend service on the same instance group, named port and health check as the balancer's
own. Each has its own URL map, target HTTP proxy, global static address and a forwarding rule
on port 80 (the load_balancer module's types, at `<cdn>/...`). `default_ttl` is the CDN
policy's default TTL (cache mode CACHE_ALL_STATIC), patched in place.

Google Cloud has no default certificate (CloudFront's *.cloudfront.net): with no certificate
in the Cdn model, the CDN is served over plain HTTP on its IP address, and `https_only: true`
(the default) cannot be enforced; the plan's summary says so. Origins on another cloud would
need internet network endpoint groups: not supported (a validate error).
"""

from __future__ import annotations

from typing import Any

from lepton_cli.drivers.base import ExpandContext, Primitive, Ref
from lepton_cli.drivers.gcp import load_balancer as lb
from lepton_cli.drivers.gcp.common import GLOBAL
from lepton_cli.drivers.names import physical_name
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Cdn, Stack

ATTRIBUTES = {
    "id": ("gcp.url_map", "id"),
    "name": ("gcp.url_map", "name"),
    "domain": ("gcp.global_address", "address"),  # no DNS name on GCP: the CDN's IP address
}
CACHE_MODE = "CACHE_ALL_STATIC"
MAX_TTL = 86400  # Google's default max TTL (one day); raised to default_ttl when that is longer
PORT = 80
PRIVATE_ORIGIN = ("the origin bucket is not public: Cloud CDN's cache fill reads objects anonymously, so they are "
                  "served only once the bucket is public (public: true)")
HTTP_ONLY = ("Google Cloud gives a CDN no default certificate: lepton serves it over plain HTTP on port 80 "
             "(https_only cannot be enforced without a certificate of your own)")


def needs_network(resource: Cdn) -> bool:
    return False


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource: Cdn = stack.resources[name]
    origin = stack.resources.get(resource.origin)
    path = f"resources.{name}.origin"
    if origin is None:
        return []
    if stack.cloud_of(resource.origin) != "gcp":
        return [Diagnostic(
            summary=f"a CDN on Google Cloud serves an origin on Google Cloud; {resource.origin!r} is on "
                    f"{stack.cloud_of(resource.origin)}", path=path,
            hint="put the CDN on the origin's cloud, or the origin on gcp (internet origins are not supported)")]
    if origin.kind == "load_balancer" and lb.is_tcp(origin):
        return [Diagnostic(summary=f"a CDN serves an http/https load balancer; {resource.origin!r} has tcp listeners",
                           path=path)]
    if origin.kind not in ("bucket", "load_balancer"):
        return [Diagnostic(summary=f"a CDN's origin is a bucket or a load balancer; {resource.origin!r} is a "
                                   f"{origin.kind}", path=path)]
    return []


def cdn_policy(default_ttl: int) -> dict[str, Any]:
    return {"cache_mode": CACHE_MODE, "default_ttl": default_ttl, "client_ttl": default_ttl,
            "max_ttl": max(default_ttl, MAX_TTL)}


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Cdn = stack.resources[name]
    problems = validate(stack, name)
    if problems:
        raise LeptonError(*problems)
    from lepton_cli.drivers.gcp import compute

    origin = stack.resources[resource.origin]
    base = physical_name(stack.stack, name, limit=63)
    if origin.kind == "bucket":
        service = lb.primitive(name, "cdn", "backend_bucket", GLOBAL, {
            "name": base, "bucket_name": ctx.ref(resource.origin, "name"), "enable_cdn": True,
            "cdn_policy": cdn_policy(resource.default_ttl)}, summary=() if origin.public else (PRIVATE_ORIGIN,))
    else:
        service = lb.primitive(name, "cdn", "backend_service", GLOBAL, {
            "name": base, "load_balancing_scheme": "EXTERNAL_MANAGED", "protocol": "HTTP",
            "port_name": compute.named_port(lb.backend_port(origin)),
            "backends": [{"group": Ref(f"{origin.target}/gcp.region_instance_group_manager", "instance_group"),
                          "balancing_mode": "UTILIZATION"}],
            "health_checks": [Ref(f"{resource.origin}/gcp.health_check", "self_link")],
            "enable_cdn": True, "cdn_policy": cdn_policy(resource.default_ttl)})
    summary = (HTTP_ONLY,) if resource.https_only else ()
    return [service, *lb.frontend(stack, name, "cdn", Ref(service.address, "self_link"), [(PORT, None)],
                                  driver.project, summary)]


class BackendBucketType(lb.LbType):
    """A GCS bucket behind the load balancer, with Cloud CDN; patched in place."""

    type_name = "gcp.backend_bucket"
    collection, resource_field, ident_field = "BackendBuckets", "backend_bucket_resource", "backend_bucket"
    noun = "backend bucket"
    property_keys = frozenset({"name", "bucket_name", "enable_cdn", "cdn_policy"})
    update_notes = {"cdn_policy": "patches the CDN cache policy", "bucket_name": "serves another bucket",
                    "enable_cdn": "patches the backend bucket"}

    def body(self, primitive, properties):
        body = {"name": properties["name"], "bucket_name": properties["bucket_name"],
                "enable_cdn": properties["enable_cdn"]}
        if properties["enable_cdn"]:
            body["cdn_policy"] = dict(properties["cdn_policy"])
        return body

    def read(self, item):
        return {"bucket_name": item.bucket_name, "enable_cdn": bool(item.enable_cdn),
                "cdn_policy": lb.cdn_policy_of(item.cdn_policy) if item.enable_cdn else None}


TYPES = [BackendBucketType]
