"""GCP driver tests: the real driver and engine against the project's Compute Engine and Cloud
Storage emulators (the `gcp_endpoints` session fixture), checked through the official SDKs."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import pytest

from lepton_cli.drivers.base import DriverConfig
from lepton_cli.drivers.gcp.driver import SANDBOX_PROJECT, GcpDriver
from lepton_cli.state.local import LocalStateStore
from tests.drivers.engine_run import EngineRun

REGION = "us-central1"
PROJECT = SANDBOX_PROJECT


class CallCounter:
    """Counts answered API calls by operation ("Collection.method", "storage.GET /path"), as
    the driver's observers see them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] += 1

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()


@dataclass(kw_only=True)
class Gcp(EngineRun):
    endpoints: dict[str, str]
    counter: CallCounter = field(default_factory=CallCounter)
    cloud: str = "gcp"
    defaults: str = f"{{cloud: gcp, region: {REGION}, project: {PROJECT}}}"

    def driver(self) -> GcpDriver:
        driver = GcpDriver(DriverConfig(stack=self.stack, endpoints=self.endpoints, project=PROJECT))
        driver.observers += [self.counter, *self.hooks]
        return driver

    def compute(self, collection: str):
        """A compute_v1 client on the emulator, straight from the SDK (not lepton's)."""
        from lepton_cli.sandbox.gcp.compute.clients import compute_client

        return compute_client(f"{collection}Client", self.endpoints["compute"])


@pytest.fixture
def gcp(gcp_endpoints, unique_stack, tmp_path) -> Gcp:
    return Gcp(endpoints=gcp_endpoints, stack=unique_stack, store=LocalStateStore(tmp_path / ".lepton", unique_stack))
