"""Foreign load-balancing objects for the contract suite: made with the google-cloud-compute SDK
directly, without lepton's marker, beside the stack's own prerequisites.

Each is the stack's wanted object under another name (or the wanted name), with no
description and no labels. Forwarding rules listen on another port of the same address, so a
look-alike never collides with the stack's own rule (GCP refuses two rules on one IP:port).
"""

from __future__ import annotations

import uuid
from typing import Any

from google.api_core import exceptions

from lepton_cli.drivers.gcp.common import GLOBAL, path_of
from lepton_cli.drivers.gcp.driver import SANDBOX_PROJECT
from lepton_cli.sandbox.gcp.compute.clients import compute_client
from tests.drivers.contract.harness import Built, ForeignObject

FOREIGN_PORT = "8089"  # a port no plan of the contract suite listens on


def _where(built: Built) -> dict[str, str]:
    ptype = built.ptype
    where = {"project": SANDBOX_PROJECT}
    if ptype.scope != GLOBAL:
        where["region"] = built.region
    return where


def _body(built: Built, name: str) -> dict[str, Any]:
    body = dict(built.ptype.body(built.primitive, dict(built.properties)))
    body["name"] = name
    if "port_range" in body:
        body["port_range"] = FOREIGN_PORT
    if "ports" in body and built.primitive.type.endswith("forwarding_rule"):
        body["ports"] = [FOREIGN_PORT]
    return body


def make(harness, built: Built, same_name: bool) -> ForeignObject:
    """The built primitive's object, made by someone else (no marker)."""
    ptype = built.ptype
    client = compute_client(f"{ptype.collection}Client", harness.endpoints["compute"])
    where = _where(built)
    name = built.properties["name"] if same_name else f"foreign-{uuid.uuid4().hex[:10]}"
    client.insert(request={**where, ptype.resource_field: _body(built, name)}).result(timeout=60)

    def snapshot() -> Any:
        item = client.get(request={**where, ptype.ident_field: name})
        return type(item).to_dict(item)

    def cleanup() -> None:
        try:
            client.delete(request={**where, ptype.ident_field: name}).result(timeout=60)
        except exceptions.NotFound:
            pass

    return ForeignObject(path_of(snapshot()["self_link"]), snapshot, cleanup)


FOREIGN = {type_name: make for type_name in (
    "gcp.health_check", "gcp.region_health_check", "gcp.backend_service", "gcp.region_backend_service",
    "gcp.url_map", "gcp.target_http_proxy", "gcp.target_https_proxy", "gcp.global_address", "gcp.address",
    "gcp.global_forwarding_rule", "gcp.forwarding_rule", "gcp.backend_bucket")}


# -- the contract plan for gcp.target_https_proxy: an https listener on a certificate that exists --
CERTIFICATE = "contract-cert"
_PEM = {"certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"}


def https_body(endpoints: dict[str, str], body: str) -> str:
    """`body` (the harness's plan) with an https listener beside lb's http one, its certificate
    made (once per emulator) through the SDK."""
    client = compute_client("SslCertificatesClient", endpoints["compute"])
    try:
        client.insert(request={"project": SANDBOX_PROJECT, "ssl_certificate_resource": {
            "name": CERTIFICATE, **_PEM}}).result(timeout=60)
    except exceptions.Conflict:
        pass
    http = "listeners: [{port: 80, protocol: http, target_port: 8080}]"
    assert http in body
    return body.replace(http, http[:-1] + f", {{port: 443, protocol: https, target_port: 8080, "
                                          f"certificate: {CERTIFICATE}}}]")
