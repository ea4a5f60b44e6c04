"""The Google Cloud driver: google-cloud-compute (REST transport) and google-cloud-storage
clients, for a real project (application default credentials) or the sandbox's emulators
(anonymous credentials). Its kinds are the modules of this package (`drivers/modular.py`);
`network` exposes `expand_network(driver, stack, regions)`, `firewall` the firewall rules that
compute and load balancer expansions make. google.* is imported only inside functions.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from lepton_cli.drivers.base import Primitive
from lepton_cli.drivers.gcp.regions import REGIONS
from lepton_cli.drivers.modular import ModularDriver
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Stack

SANDBOX_PROJECT = "lepton-sandbox"  # DESIGN §8
PROJECT_VARIABLES = ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT", "GCLOUD_PROJECT")
OPERATION_WAITS = 60  # `wait` calls on one operation (each returns within 2 minutes on Google)


class _Observing:
    """A compute_v1 REST interceptor (the SDK's own hook: `transport(interceptor=...)`) that
    tells the driver's observers of every call answered, as `Collection.method`. It changes
    nothing: `pre_*` and `post_*` hand the request and response back as they are."""

    def __init__(self, driver: "GcpDriver", collection: str):
        self._driver, self._collection = driver, collection

    def __getattr__(self, name: str):
        if name.startswith("pre_"):
            return lambda request, metadata: (request, metadata)
        if name.startswith("post_") and name.endswith("_with_metadata"):
            return lambda response, metadata: (response, metadata)
        if name.startswith("post_"):
            method = name.removeprefix("post_")

            def post(response):
                self._driver.observe(f"{self._collection}.{method}")
                return response
            return post
        raise AttributeError(name)


class GcpDriver(ModularDriver):
    cloud = "gcp"
    package = "lepton_cli.drivers.gcp"
    # The driver's APIs -> the sandbox endpoint serving each (`lepton sandbox status`).
    sandbox_services = {"compute": "gcp", "storage": "gcs"}
    regions = REGIONS

    # Observers hear "Collection.method" (compute interceptors) or "storage.METHOD path" (the
    # storage session's response hook).

    # -- project and credentials ------------------------------------------------------------------
    @cached_property
    def project(self) -> str:
        """The plan's `defaults.project`, else the environment's, else the credentials'."""
        if self.config.project:
            return self.config.project
        if self.config.sandbox:
            return SANDBOX_PROJECT
        for variable in PROJECT_VARIABLES:
            if os.environ.get(variable):
                return os.environ[variable]
        _, project = self._default_credentials
        if not project:
            raise LeptonError(Diagnostic(
                summary="no Google Cloud project: the plan names none and the environment has none",
                hint="set defaults.project in the plan file, or GOOGLE_CLOUD_PROJECT"))
        return project

    @cached_property
    def _default_credentials(self) -> tuple[Any, str | None]:
        from lepton_cli.drivers.gcp.errors import translate

        import google.auth

        with translate("finding Google Cloud credentials"):
            return google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])

    @cached_property
    def credentials(self) -> Any:
        if self.config.sandbox:
            from google.auth.credentials import AnonymousCredentials

            return AnonymousCredentials()
        return self._default_credentials[0]

    @cached_property
    def retry(self) -> Any:
        """The SDK's retry policy for every call: transient failures (429, 500, 502, 503, 504)
        are retried with jittered exponential backoff. Mutations are safe to retry because
        each carries a requestId (`common.ComputeType.call`)."""
        from google.api_core import exceptions, retry

        return retry.Retry(
            predicate=retry.if_exception_type(exceptions.TooManyRequests, exceptions.InternalServerError,
                                              exceptions.BadGateway, exceptions.ServiceUnavailable,
                                              exceptions.GatewayTimeout),
            initial=0.2, maximum=10.0, multiplier=2.0, timeout=180.0)

    # -- clients -------------------------------------------------------------------------------------
    def compute(self, collection: str) -> Any:
        """A cached compute_v1 `<collection>Client` on the REST transport (thread-safe once
        made), pointed at the sandbox's emulator when there is one."""
        def make() -> Any:
            from google.api_core.client_options import ClientOptions
            from google.cloud import compute_v1

            client_class = getattr(compute_v1, f"{collection}Client")
            transport_class = client_class.get_transport_class("rest")
            interceptor = _Observing(self, collection)
            endpoint = self.config.endpoint("compute")
            return client_class(credentials=self.credentials,
                                client_options=ClientOptions(api_endpoint=endpoint) if endpoint else None,
                                transport=lambda **kwargs: transport_class(interceptor=interceptor, **kwargs))
        return self.cached_client(collection, make)

    @cached_property
    def storage(self) -> Any:
        """The google-cloud-storage client, on a session whose response hook tells the
        observers of every answered call."""
        from google.auth.transport.requests import AuthorizedSession
        from google.cloud import storage

        session = AuthorizedSession(self.credentials)
        session.hooks["response"].append(
            lambda response, *args, **kwargs: self.observe(f"storage.{response.request.method} {response.request.path_url}"))
        endpoint = self.config.endpoint("storage")
        client = storage.Client(project=self.project, credentials=self.credentials, _http=session,
                                client_options={"api_endpoint": endpoint} if endpoint else None)
        # 3.17 reads each bucket it is asked about again, in a background thread, for tracing
        # attributes lepton does not use: extra calls outside the observers' order. Off.
        client._bucket_metadata_cache = None
        return client

    def wait(self, operation: Any) -> Any:
        """Wait for a Compute operation with the operations API's own `wait` (no polling
        sleeps); raise the operation's error the way the SDK does (`from_http_status`)."""
        from google.api_core import exceptions

        if getattr(operation, "zone", ""):
            client, where = self.compute("ZoneOperations"), {"zone": operation.zone.rsplit("/", 1)[-1]}
        elif getattr(operation, "region", ""):
            client, where = self.compute("RegionOperations"), {"region": operation.region.rsplit("/", 1)[-1]}
        else:
            client, where = self.compute("GlobalOperations"), {}
        project = operation.self_link.split("/projects/", 1)[1].split("/", 1)[0] if operation.self_link \
            else self.project
        for _ in range(OPERATION_WAITS):
            if operation.status == operation.Status.DONE:
                break
            operation = client.wait(request={"project": project, "operation": operation.name, **where},
                                    retry=self.retry)
        else:
            raise LeptonError(f"the Compute operation {operation.name} did not finish")
        if operation.error and operation.error.errors:
            errors = [{"reason": e.code, "message": e.message} for e in operation.error.errors]
            raise exceptions.from_http_status(
                operation.http_error_status_code or 400,
                operation.http_error_message or "; ".join(e["message"] for e in errors), errors=errors)
        return operation

    # -- the implicit network ----------------------------------------------------------------------
    def expand_network(self, stack: Stack, names: list[str]) -> list[Primitive]:
        regions = self.network_regions(stack, names)
        return self.module("network").expand_network(self, stack, regions) if regions else []
