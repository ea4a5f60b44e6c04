"""The emulated clouds the sandbox runs, as a table: service name -> how to serve it.

Each entry builds a WSGI application from the child-process services already running (name ->
the running child: Azure's ARM emulator hands out the Azurite accounts); the sandbox serves each
on its own free loopback port.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
AMIS = DATA / "aws_amis.json"


def aws_app(children: Mapping[str, Any]) -> Any:
    """moto's server: every AWS service behind one endpoint, routed by the request's signature.
    It loads the sandbox's AMI catalogue (real owners and names of the images lepton's aliases
    resolve to); MOTO_AMIS_PATH must be set before moto is imported."""
    os.environ.setdefault("MOTO_AMIS_PATH", str(AMIS))
    from moto.server import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def gcp_compute_app(children: Mapping[str, Any]) -> Any:
    """The project's own Compute Engine v1 REST emulator (sandbox/gcp/compute)."""
    from lepton_cli.sandbox.gcp.compute.app import make_app

    return make_app()


def gcs_app(children: Mapping[str, Any]) -> Any:
    """The project's own Cloud Storage JSON API emulator (sandbox/gcp/storage)."""
    from lepton_cli.sandbox.gcp.storage.app import make_app

    return make_app()


def azure_app(children: Mapping[str, Any]) -> Any:
    """The project's own Azure Resource Manager emulator (sandbox/azure); its storage accounts are
    Azurite's pool accounts when Azurite runs (else they have no data plane)."""
    from lepton_cli.sandbox import azurite
    from lepton_cli.sandbox.azure.app import make_app
    from lepton_cli.sandbox.azure.storage import BlobPool

    blob = children.get("azblob")
    return make_app(BlobPool(blob.endpoint, azurite.POOL) if blob is not None else None)


SERVICES: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "aws": aws_app,
    "gcp": gcp_compute_app,
    "gcs": gcs_app,
    "azure": azure_app,
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
