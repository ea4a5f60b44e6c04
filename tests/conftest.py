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
def sandbox_services():
    """The sandbox's emulated clouds in this process, on free loopback ports, shared by the whole
    test session (one moto, one Compute Engine and one Cloud Storage emulator, one ARM emulator
    and one Azurite, whose storage accounts only that ARM emulator hands out).

    Tests isolate themselves by stack name (every lepton object carries its stack's marker), so
    they can share one sandbox the way users share one account."""
    from lepton_cli.sandbox.server import serve_all

    running = serve_all(shared_children=True)
    try:
        yield running
    finally:
        running.shutdown()


@pytest.fixture(scope="session")
def moto_endpoint(sandbox_services) -> str:
    """Base URL of the sandbox's AWS (moto's server)."""
    return sandbox_services.endpoints["aws"]


@pytest.fixture
def unique_stack(request) -> str:
    """A stack name unique to the test, valid per DESIGN §3 ([a-z][a-z0-9-]{0,29})."""
    import hashlib

    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    return f"t{digest}"


@pytest.fixture(scope="session")
def gcp_endpoints(sandbox_services) -> dict[str, str]:
    """The sandbox's Google Cloud emulators as the GCP driver's `DriverConfig.endpoints`."""
    return {"compute": sandbox_services.endpoints["gcp"], "storage": sandbox_services.endpoints["gcs"]}


@pytest.fixture(scope="session")
def azure_endpoints(sandbox_services) -> dict[str, str]:
    """The sandbox's ARM emulator and Azurite as the Azure driver's `DriverConfig.endpoints`."""
    return {"arm": sandbox_services.endpoints["azure"], "blob": sandbox_services.endpoints["azblob"]}
