"""The emulated clouds the sandbox runs, as a table: service name -> how to serve it.

Each entry builds a WSGI application; the sandbox serves each on its own free loopback port.
GCP and Azure emulators join this table with their drivers.
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


SERVICES: dict[str, Callable[[], Any]] = {
    "aws": aws_app,
}
