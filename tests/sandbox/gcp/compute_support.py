"""Helpers for the Compute Engine emulator's conformance tests: serve a fresh emulator on a
free loopback port, and official google-cloud-compute clients (REST) pointed at it."""

from __future__ import annotations

import secrets
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from werkzeug.serving import WSGIRequestHandler, make_server

from lepton_cli.sandbox.gcp.compute.app import make_app
from lepton_cli.sandbox.gcp.compute.clients import compute_client


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
def serve(**app_options: Any) -> Iterator[tuple[str, CountingApp]]:
    app = CountingApp(make_app(**app_options))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        server.server_close()


def new_project() -> str:
    return f"p{secrets.token_hex(6)}x"


class Compute:
    """`compute.networks` etc.: cached SDK clients on one endpoint, plus one test project."""

    def __init__(self, endpoint: str, project: str | None = None):
        self.endpoint, self.project = endpoint, project or new_project()
        self._clients: dict[str, Any] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            self._clients[name] = compute_client(name, self.endpoint)
        return self._clients[name]

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        name = "".join(part.capitalize() for part in attr.split("_")) + "Client"
        return self.client(name)

    def link(self, path: str) -> str:
        return f"https://www.googleapis.com/compute/v1/projects/{self.project}/{path}"
