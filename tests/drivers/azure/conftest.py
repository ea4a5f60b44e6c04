"""Azure driver tests: the real driver and engine against the project's ARM emulator and Azurite
(the `azure_endpoints` session fixture), checked through the official azure-mgmt SDKs."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import pytest

from lepton_cli.drivers.azure.common import resource_group_name
from lepton_cli.drivers.azure.driver import SANDBOX_SUBSCRIPTION, AzureDriver, sandbox_token_policy
from lepton_cli.drivers.base import DriverConfig
from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.planner import make_plan
from lepton_cli.engine.refresh import refresh
from lepton_cli.spec.loader import load_plan_text
from lepton_cli.state.local import LocalStateStore

REGION = "eastus"
SUBSCRIPTION = SANDBOX_SUBSCRIPTION


class CallCounter:
    """Counts answered API calls by operation ("GET subscriptions/.../virtualNetworks"), as the
    driver's observers see them, with the ids in the path kept."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] += 1

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()

    def matching(self, method: str, tail: str) -> int:
        """How many `method` calls hit a path ending in `tail` (case-insensitive)."""
        return sum(n for op, n in self.calls.items()
                   if op.split(" ", 1)[0] == method and op.split(" ", 1)[1].lower().endswith(tail.lower()))


@dataclass
class Azure:
    endpoints: dict[str, str]
    stack: str
    store: LocalStateStore
    counter: CallCounter = field(default_factory=CallCounter)
    # Observers put on every driver (after the counter): faults a test injects.
    hooks: list = field(default_factory=list)

    @property
    def group(self) -> str:
        """The stack's resource group in REGION."""
        return resource_group_name(self.stack, REGION)

    def driver(self) -> AzureDriver:
        driver = AzureDriver(DriverConfig(stack=self.stack, endpoints=self.endpoints))
        driver.observers += [self.counter, *self.hooks]
        return driver

    def text(self, body: str) -> str:
        return f"stack: {self.stack}\ndefaults: {{cloud: azure, region: {REGION}}}\n{body}"

    def plan(self, body: str, **kwargs):
        loaded = load_plan_text(self.text(body))
        return make_plan(loaded.stack, {"azure": self.driver()}, self.store.read(), plan_digest=loaded.digest,
                         resource_graph=loaded.graph, **kwargs)

    def apply(self, plan):
        return apply_plan(plan, {"azure": self.driver()}, self.store, self.store.read())

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
        drivers = {"azure": self.driver()}
        desired = expand_stack(loaded.stack, drivers)
        self.counter.reset()
        refresh(drivers, desired, self.store.read())
        return collections.Counter(self.counter.calls)

    def client(self, name: str):
        """An azure-mgmt client on the emulator, straight from the SDK (not lepton's driver):
        "resource", "network", "compute", "storage", "cdn" or "monitor"."""
        import importlib

        from lepton_cli.drivers.azure.driver import CLIENTS

        module, cls = CLIENTS[name]
        client_class = getattr(importlib.import_module(module), cls)
        return client_class(_Credential(), SUBSCRIPTION, base_url=self.endpoints["arm"],
                            authentication_policy=sandbox_token_policy(), polling_interval=0)


class _Credential:
    def get_token(self, *scopes, **kwargs):  # never called: the sandbox token policy signs requests
        raise AssertionError("the sandbox clients sign with the sandbox token")


@pytest.fixture
def azure(azure_endpoints, unique_stack, tmp_path) -> Azure:
    return Azure(endpoints=azure_endpoints, stack=unique_stack,
                 store=LocalStateStore(tmp_path / ".lepton", unique_stack))
