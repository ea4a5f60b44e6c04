"""Shared fixtures: a moto server on a free loopback port, in-process (DESIGN §8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# moto reads its AMI catalogue at import: give it the sandbox's (real owners and names of the
# images lepton's aliases resolve to), exactly as `lepton sandbox start` does.
os.environ.setdefault(
    "MOTO_AMIS_PATH", str(Path(__file__).parent.parent / "lepton_cli/sandbox/data/aws_amis.json")
)


@pytest.fixture(scope="session")
def moto_endpoint():
    """Base URL of the sandbox's AWS (moto's server), in-process on a free loopback port,
    shared by the whole test session.

    Tests isolate themselves by stack name (every lepton object carries its stack's tag), so
    they can share one server the way users share one account.
    """
    from lepton_cli.sandbox.server import serve_all

    running = serve_all()
    try:
        yield running.endpoints["aws"]
    finally:
        running.shutdown()


@pytest.fixture
def unique_stack(request) -> str:
    """A stack name unique to the test, valid per DESIGN §3 ([a-z][a-z0-9-]{0,29})."""
    import hashlib

    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    return f"t{digest}"


@pytest.fixture(scope="session")
def gcp_endpoints():
    """The sandbox's Google Cloud emulators in this process, on free loopback ports:
    {"compute": URL, "storage": URL} (the driver's `DriverConfig.endpoints`), shared by the
    session; tests isolate themselves by stack name, as on AWS."""
    import threading

    from werkzeug.serving import make_server

    from lepton_cli.sandbox.gcp.compute.app import make_app as compute_app
    from lepton_cli.sandbox.gcp.storage.app import make_app as storage_app

    servers = {}
    for service, factory in {"compute": compute_app, "storage": storage_app}.items():
        servers[service] = make_server("127.0.0.1", 0, factory(), threaded=True)
        threading.Thread(target=servers[service].serve_forever, daemon=True).start()
    try:
        yield {service: f"http://127.0.0.1:{server.server_port}" for service, server in servers.items()}
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="session")
def azure_endpoints():
    """The sandbox's Azure in this process: the ARM emulator on a free loopback port, handing
    out storage accounts from the pool of the session's shared Azurite. {"arm": URL, "blob": URL}
    (the driver's `DriverConfig.endpoints`)."""
    import threading

    from werkzeug.serving import make_server

    from lepton_cli.sandbox import azurite
    from lepton_cli.sandbox.azure.app import make_app
    from lepton_cli.sandbox.azure.storage import BlobPool

    blob = azurite.shared()
    pool = BlobPool(blob.endpoint, {n: k for n, k in azurite.ACCOUNTS.items() if n != azurite.DEV_ACCOUNT})
    server = make_server("127.0.0.1", 0, make_app(pool), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"arm": f"http://127.0.0.1:{server.server_port}", "blob": blob.endpoint}
    finally:
        server.shutdown()
        server.server_close()
