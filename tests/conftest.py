"""Shared fixtures: a moto server on a free loopback port, in-process (DESIGN §8)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# moto reads its AMI catalogue at import: give it the sandbox's (real owners and names of the
# images lepton's aliases resolve to), exactly as `lepton sandbox start` does.
os.environ.setdefault(
    "MOTO_AMIS_PATH", str(Path(__file__).parent.parent / "lepton_cli/sandbox/data/aws_amis.json")
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """Base URL of an in-process moto server, shared by the whole test session.

    Tests isolate themselves by stack name (every lepton object carries its stack's tag), so
    they can share one server the way users share one account.
    """
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def unique_stack(request) -> str:
    """A stack name unique to the test, valid per DESIGN §3 ([a-z][a-z0-9-]{0,29})."""
    import hashlib

    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    return f"t{digest}"
