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
