"""A small world of Compute resources in one test project, built on demand through the SDK,
so each collection's conformance test can create what its objects must reference."""

from __future__ import annotations

from typing import Any, Callable

from google.cloud import compute_v1

from tests.sandbox.gcp.compute_support import Compute

REGION = "us-central1"
CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def network(name: str, w: "World") -> dict:
    return {"name": name, "auto_create_subnetworks": False, "description": "lepton:stack=abc;"}


def subnetwork(name: str, w: "World") -> dict:
    index = w.counter()
    return {"name": name, "network": w.need("network"), "ip_cidr_range": f"10.{100 + index}.0.0/20"}


def firewall(name: str, w: "World") -> dict:
    return {"name": name, "network": w.need("network"), "allowed": [{"I_p_protocol": "tcp", "ports": ["80"]}],
            "source_ranges": ["10.0.0.0/8"], "target_tags": ["web"]}


def template(name: str, w: "World", machine: str = "e2-medium", image: str = "ubuntu-2204-lts") -> dict:
    return {"name": name, "properties": {
        "machine_type": machine,
        "disks": [{"boot": True, "auto_delete": True,
                   "initialize_params": {"source_image": f"projects/ubuntu-os-cloud/global/images/family/{image}"}}],
        "network_interfaces": [{"network": w.need("network"), "subnetwork": w.need("subnetwork")}],
        "labels": {"lepton-stack": "abc"},
    }}


def manager(name: str, w: "World", size: int = 2, **extra: Any) -> dict:
    return {"name": name, "base_instance_name": name, "instance_template": w.need("template"),
            "target_size": size, "named_ports": [{"name": "http", "port": 80}], **extra}


def autoscaler(name: str, w: "World") -> dict:
    target = w.create("manager", f"{name}-mig")
    return {"name": name, "target": target,
            "autoscaling_policy": {"min_num_replicas": 1, "max_num_replicas": 5,
                                   "cpu_utilization": {"utilization_target": 0.6}}}


def health_check(name: str, w: "World") -> dict:
    return {"name": name, "type_": "HTTP", "http_health_check": {"port": 80, "request_path": "/healthz"}}


def region_health_check(name: str, w: "World") -> dict:
    return {"name": name, "type_": "TCP", "tcp_health_check": {"port": 80}}


def backend_service(name: str, w: "World") -> dict:
    return {"name": name, "protocol": "HTTP", "port_name": "http", "load_balancing_scheme": "EXTERNAL_MANAGED",
            "health_checks": [w.need("health_check")], "backends": [{"group": w.need("group")}],
            "description": "lepton:stack=abc;"}


def region_backend_service(name: str, w: "World") -> dict:
    return {"name": name, "protocol": "TCP", "load_balancing_scheme": "EXTERNAL",
            "health_checks": [w.need("region_health_check")], "backends": [{"group": w.need("group")}]}


def backend_bucket(name: str, w: "World") -> dict:
    return {"name": name, "bucket_name": f"{name}-bucket", "enable_cdn": True,
            "cdn_policy": {"default_ttl": 600}}


def url_map(name: str, w: "World") -> dict:
    return {"name": name, "default_service": w.need("backend_service")}


def target_http_proxy(name: str, w: "World") -> dict:
    return {"name": name, "url_map": w.need("url_map")}


def target_https_proxy(name: str, w: "World") -> dict:
    return {"name": name, "url_map": w.need("url_map"), "ssl_certificates": [w.need("ssl_certificate")]}


def ssl_certificate(name: str, w: "World") -> dict:
    return {"name": name, "certificate": CERT, "private_key": KEY}


def global_address(name: str, w: "World") -> dict:
    return {"name": name, "labels": {"lepton-stack": "abc"}}


def address(name: str, w: "World") -> dict:
    return {"name": name, "labels": {"lepton-stack": "abc"}}


def global_forwarding_rule(name: str, w: "World") -> dict:
    return {"name": name, "target": w.need("target_http_proxy"), "port_range": "80",
            "load_balancing_scheme": "EXTERNAL_MANAGED", "labels": {"lepton-stack": "abc"}}


def forwarding_rule(name: str, w: "World") -> dict:
    return {"name": name, "backend_service": w.need("region_backend_service"), "ports": ["80"],
            "labels": {"lepton-stack": "abc"}}


class Kind:
    """How to drive one collection through the SDK."""

    def __init__(self, client: str, field: str, scope: str, body: Callable, collection: str):
        self.client, self.field, self.scope, self.body, self.collection = client, field, scope, body, collection

    def where(self) -> dict:
        return {"region": REGION} if self.scope == "region" else {}

    def path(self, name: str) -> str:
        loc = f"regions/{REGION}" if self.scope == "region" else "global"
        return f"{loc}/{self.collection}/{name}"


KINDS: dict[str, Kind] = {
    "network": Kind("networks", "network", "global", network, "networks"),
    "subnetwork": Kind("subnetworks", "subnetwork", "region", subnetwork, "subnetworks"),
    "firewall": Kind("firewalls", "firewall", "global", firewall, "firewalls"),
    "template": Kind("instance_templates", "instance_template", "global", template, "instanceTemplates"),
    "manager": Kind("region_instance_group_managers", "instance_group_manager", "region", manager,
                    "instanceGroupManagers"),
    "autoscaler": Kind("region_autoscalers", "autoscaler", "region", autoscaler, "autoscalers"),
    "health_check": Kind("health_checks", "health_check", "global", health_check, "healthChecks"),
    "region_health_check": Kind("region_health_checks", "health_check", "region", region_health_check, "healthChecks"),
    "backend_service": Kind("backend_services", "backend_service", "global", backend_service, "backendServices"),
    "region_backend_service": Kind("region_backend_services", "backend_service", "region", region_backend_service,
                                   "backendServices"),
    "backend_bucket": Kind("backend_buckets", "backend_bucket", "global", backend_bucket, "backendBuckets"),
    "url_map": Kind("url_maps", "url_map", "global", url_map, "urlMaps"),
    "target_http_proxy": Kind("target_http_proxies", "target_http_proxy", "global", target_http_proxy,
                              "targetHttpProxies"),
    "target_https_proxy": Kind("target_https_proxies", "target_https_proxy", "global", target_https_proxy,
                               "targetHttpsProxies"),
    "ssl_certificate": Kind("ssl_certificates", "ssl_certificate", "global", ssl_certificate, "sslCertificates"),
    "global_address": Kind("global_addresses", "address", "global", global_address, "addresses"),
    "address": Kind("addresses", "address", "region", address, "addresses"),
    "global_forwarding_rule": Kind("global_forwarding_rules", "forwarding_rule", "global", global_forwarding_rule,
                                   "forwardingRules"),
    "forwarding_rule": Kind("forwarding_rules", "forwarding_rule", "region", forwarding_rule, "forwardingRules"),
}


class World:
    """Creates prerequisites once per project (named after their kind) and remembers links."""

    def __init__(self, compute: Compute):
        self.compute, self.links, self._count = compute, {}, 0

    def counter(self) -> int:
        self._count += 1
        return self._count

    def client(self, kind: str) -> Any:
        return getattr(self.compute, KINDS[kind].client)

    def need(self, kind: str) -> str:
        if kind == "group":
            self.need("manager")
            return self.compute.link(f"regions/{REGION}/instanceGroups/manager")
        if kind not in self.links:
            self.links[kind] = self.create(kind, kind.replace("_", "-"))
        return self.links[kind]

    def create(self, kind: str, name: str, body: dict | None = None, **options: Any) -> str:
        """Creates `name` (from `body`, or the kind's default body with `options`); its link."""
        spec = KINDS[kind]
        body = body or spec.body(name, self, **options)
        done = self.wait(kind, self.insert(kind, body))
        assert not done.error.errors, done.error
        return self.compute.link(spec.path(name))

    def insert(self, kind: str, body: dict, **kwargs: Any) -> Any:
        spec = KINDS[kind]
        return self.client(kind).insert(request={"project": self.compute.project, **spec.where(),
                                                 f"{spec.field}_resource": body, **kwargs})

    def get(self, kind: str, name: str) -> Any:
        spec = KINDS[kind]
        return self.client(kind).get(project=self.compute.project, **spec.where(), **{spec.field: name})

    def delete(self, kind: str, name: str, **kwargs: Any) -> Any:
        spec = KINDS[kind]
        return self.client(kind).delete(request={"project": self.compute.project, **spec.where(), spec.field: name,
                                                 **kwargs})

    def list(self, kind: str, **kwargs: Any) -> Any:
        spec = KINDS[kind]
        return self.client(kind).list(request={"project": self.compute.project, **spec.where(), **kwargs})

    def poll(self, kind: str, op: Any) -> Any:
        """One `operations.get` of `op`."""
        if KINDS[kind].scope == "region":
            return self.compute.region_operations.get(project=self.compute.project, region=REGION, operation=op.name)
        return self.compute.global_operations.get(project=self.compute.project, operation=op.name)

    def wait(self, kind: str, op: Any) -> Any:
        """Waits through the operations client's `wait` method (the other path beside result())."""
        if KINDS[kind].scope == "region":
            return self.compute.region_operations.wait(project=self.compute.project, region=REGION, operation=op.name)
        return self.compute.global_operations.wait(project=self.compute.project, operation=op.name)


__all__ = ["KINDS", "REGION", "World", "compute_v1"]
