"""Helpers for the ARM emulator's conformance tests: serve a fresh emulator on a free loopback
port, and official azure-mgmt-* clients pointed at it (endpoint and credential only)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterator

from azure.core.pipeline.policies import SansIOHTTPPolicy
from werkzeug.serving import WSGIRequestHandler, make_server

from lepton_cli.sandbox.azure.app import make_app

SUB = "00000000-0000-0000-0000-000000000000"


class FakeBearer(SansIOHTTPPolicy):
    """The sandbox's fake token over plain http on loopback (replaces azure-core's bearer policy)."""

    def on_request(self, request: Any) -> None:
        request.http_request.headers["Authorization"] = "Bearer sandbox"


class FakeCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("sandbox", 2**31)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class CountingApp:
    """Wraps the WSGI app to count requests per (method, path), so tests can assert calls."""

    def __init__(self, app: Any):
        self.app, self.calls = app, []

    def __call__(self, environ: dict, start_response: Any) -> Any:
        self.calls.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return self.app(environ, start_response)


@contextmanager
def serve(**options: Any) -> Iterator[tuple[str, CountingApp]]:
    app = CountingApp(make_app(**options))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        server.server_close()


def client(cls: Any, endpoint: str, **kwargs: Any) -> Any:
    return cls(credential=FakeCredential(), subscription_id=SUB, base_url=endpoint,
               authentication_policy=FakeBearer(), polling_interval=0, **kwargs)


class Clients:
    """Lazily built SDK clients on one emulator endpoint: `clients.resource`, `.network` ..."""

    _CLASSES = {
        "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
        "network": ("azure.mgmt.network", "NetworkManagementClient"),
        "compute": ("azure.mgmt.compute", "ComputeManagementClient"),
        "storage": ("azure.mgmt.storage", "StorageManagementClient"),
        "cdn": ("azure.mgmt.cdn", "CdnManagementClient"),
        "monitor": ("azure.mgmt.monitor", "MonitorManagementClient"),
    }

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def __getattr__(self, name: str) -> Any:
        if name not in self._CLASSES:
            raise AttributeError(name)
        import importlib

        module, cls = self._CLASSES[name]
        built = client(getattr(importlib.import_module(module), cls), self.endpoint)
        setattr(self, name, built)
        return built
