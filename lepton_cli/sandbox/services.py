"""The emulated clouds the sandbox runs, as a table: service name -> how to serve it.

Each entry builds a WSGI application; the sandbox serves each on its own free loopback port.
Azure's ARM emulator joins this table with its driver.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
AMIS = DATA / "aws_amis.json"


def aws_app() -> Any:
    """moto's server: every AWS service behind one endpoint, routed by the request's signature.
    It loads the sandbox's AMI catalogue (real owners and names of the images lepton's aliases
    resolve to); MOTO_AMIS_PATH must be set before moto is imported."""
    os.environ.setdefault("MOTO_AMIS_PATH", str(AMIS))
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def gcp_compute_app() -> Any:
    """The project's own Compute Engine v1 REST emulator (sandbox/gcp/compute)."""
    from lepton_cli.sandbox.gcp.compute.app import make_app

    return make_app()


def gcs_app() -> Any:
    """The project's own Cloud Storage JSON API emulator (sandbox/gcp/storage)."""
    from lepton_cli.sandbox.gcp.storage.app import make_app

    return make_app()


SERVICES: dict[str, Callable[[], Any]] = {
    "aws": aws_app,
    "gcp": gcp_compute_app,
    "gcs": gcs_app,
}


class ServiceUnavailable(Exception):
    """A child-process service cannot run on this machine; the message says why and how to fix it."""


def azurite_child(shared: bool) -> Any:
    """Azurite, Azure Blob Storage's emulator (a Node.js program): see sandbox/azurite.py."""
    from lepton_cli.sandbox import azurite

    return azurite.shared() if shared else azurite.start()


# Services that are programs, not WSGI applications: name -> start(shared) returning an object
# with `endpoint`, `details` (merged into the runtime file) and `stop()`, or raising
# ServiceUnavailable. `shared`: one instance for the whole process (in-process test sandboxes).
CHILD_SERVICES: dict[str, Callable[[bool], Any]] = {
    "azblob": azurite_child,
}
