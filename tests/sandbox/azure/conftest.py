from __future__ import annotations

from typing import Iterator

import pytest

from tests.sandbox.azure.support import Clients, serve


@pytest.fixture
def arm() -> Iterator[tuple[Clients, object]]:
    """A fresh emulator (no blob pool): SDK clients on it, and the request-counting app."""
    with serve() as (endpoint, app):
        yield Clients(endpoint), app


@pytest.fixture
def c(arm: tuple[Clients, object]) -> Clients:
    return arm[0]
