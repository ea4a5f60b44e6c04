"""GCP driver tests: the real driver and engine against the project's Compute Engine and Cloud
Storage emulators (the `gcp_endpoints` session fixture), checked through the official SDKs."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import pytest

from lepton_cli.drivers.base import DriverConfig
from lepton_cli.drivers.gcp.driver import SANDBOX_PROJECT, GcpDriver
from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.planner import make_plan
from lepton_cli.engine.refresh import refresh
from lepton_cli.spec.loader import load_plan_text
from lepton_cli.state.local import LocalStateStore

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


@dataclass
class Gcp:
    endpoints: dict[str, str]
    stack: str
    store: LocalStateStore
    counter: CallCounter = field(default_factory=CallCounter)
    # Observers put on every driver (after the counter): faults a test injects.
    hooks: list = field(default_factory=list)

    def driver(self) -> GcpDriver:
        driver = GcpDriver(DriverConfig(stack=self.stack, endpoints=self.endpoints, project=PROJECT))
        driver.observers += [self.counter, *self.hooks]
        return driver

    def text(self, body: str) -> str:
        return f"stack: {self.stack}\ndefaults: {{cloud: gcp, region: {REGION}, project: {PROJECT}}}\n{body}"

    def plan(self, body: str, **kwargs):
        loaded = load_plan_text(self.text(body))
        return make_plan(loaded.stack, {"gcp": self.driver()}, self.store.read(), plan_digest=loaded.digest,
                         resource_graph=loaded.graph, **kwargs)

    def apply(self, plan):
        return apply_plan(plan, {"gcp": self.driver()}, self.store, self.store.read())

    def converge(self, body: str):
        result = self.apply(self.plan(body))
        assert result.ok, result.failed
        again = self.plan(body)
        assert not again.has_changes, [(c.address, c.action.value, c.diff) for c in again.actionable]
        return result

    def destroy(self, body: str):
        result = self.apply(self.plan(body, destroy=True))
        assert result.ok, result.failed

    def refresh_calls(self, body: str) -> collections.Counter:
        """API calls of one refresh (listing every type the plan uses), by operation."""
        from lepton_cli.engine.expand import expand_stack

        loaded = load_plan_text(self.text(body))
        drivers = {"gcp": self.driver()}
        desired = expand_stack(loaded.stack, drivers)
        self.counter.reset()
        refresh(drivers, desired, self.store.read())
        return collections.Counter(self.counter.calls)

    def compute(self, collection: str):
        """A compute_v1 client on the emulator, straight from the SDK (not lepton's)."""
        from lepton_cli.sandbox.gcp.compute.clients import compute_client

        return compute_client(f"{collection}Client", self.endpoints["compute"])


@pytest.fixture
def gcp(gcp_endpoints, unique_stack, tmp_path) -> Gcp:
    return Gcp(endpoints=gcp_endpoints, stack=unique_stack, store=LocalStateStore(tmp_path / ".lepton", unique_stack))
