"""Official google-cloud-compute clients pointed at an emulator endpoint.

Why: the SDK's ExtendedOperation (``op.result()``) polls through operations clients that the
transport builds itself, with the credentials but NOT the ``client_options`` of the client that
made the call, so they poll compute.googleapis.com. Pre-seeding the transport's operation
services with clients on the same endpoint makes ``op.result()`` poll the emulator."""

from __future__ import annotations

from typing import Any

_OPERATION_SERVICES = {
    "global_operations": "GlobalOperationsClient",
    "region_operations": "RegionOperationsClient",
    "zone_operations": "ZoneOperationsClient",
}


def compute_client(client_class: type | str, endpoint: str, credentials: Any = None) -> Any:
    """`client_class` (e.g. ``compute_v1.NetworksClient`` or "NetworksClient") on `endpoint`
    over REST, anonymous unless `credentials` are given, its operation polling included."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import compute_v1

    cls = getattr(compute_v1, client_class) if isinstance(client_class, str) else client_class
    options = dict(credentials=credentials or AnonymousCredentials(), transport="rest",
                   client_options=ClientOptions(api_endpoint=endpoint))
    client = cls(**options)
    services = getattr(client._transport, "_extended_operations_services", None)
    if isinstance(services, dict):
        for key, name in _OPERATION_SERVICES.items():
            services.setdefault(key, getattr(compute_v1, name)(**options))
    return client
