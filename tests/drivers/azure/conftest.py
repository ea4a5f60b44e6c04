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
from lepton_cli.state.local import LocalStateStore
from tests.drivers.engine_run import EngineRun

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


@dataclass(kw_only=True)
class Azure(EngineRun):
    endpoints: dict[str, str]
    counter: CallCounter = field(default_factory=CallCounter)
    cloud: str = "azure"
    defaults: str = f"{{cloud: azure, region: {REGION}}}"

    @property
    def group(self) -> str:
        """The stack's resource group in REGION."""
        return resource_group_name(self.stack, REGION)

    def driver(self) -> AzureDriver:
        driver = AzureDriver(DriverConfig(stack=self.stack, endpoints=self.endpoints))
        driver.observers += [self.counter, *self.hooks]
        return driver

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
