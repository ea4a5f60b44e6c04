"""AWS driver tests: the real driver and engine against moto's server, through boto3."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import pytest

from lepton_cli.drivers.aws.driver import AwsDriver
from lepton_cli.drivers.base import DriverConfig
from lepton_cli.state.local import LocalStateStore
from tests.drivers.aws.harness import sandbox_session
from tests.drivers.engine_run import EngineRun


class CallCounter:
    """Counts API calls by operation and the most ever in flight at once, via botocore's
    event hooks (registered on the driver's session, so every client it makes reports)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.max_in_flight: collections.Counter[str] = collections.Counter()

    def before(self, model, **_):
        with self.lock:
            self.calls[model.name] += 1
            self.in_flight += 1
            self.max_in_flight[model.name] = max(self.max_in_flight[model.name], self.in_flight)

    def after(self, model, **_):
        with self.lock:
            self.in_flight -= 1

    def reset(self):
        with self.lock:
            self.calls.clear()
            self.max_in_flight.clear()


@dataclass(kw_only=True)
class Aws(EngineRun):
    endpoint: str
    counter: CallCounter = field(default_factory=CallCounter)
    # hooks: (botocore event, handler) registered on every driver's session.
    cloud: str = "aws"
    defaults: str = "{cloud: aws, region: us-east-1}"

    def driver(self) -> AwsDriver:
        driver = AwsDriver(DriverConfig(stack=self.stack, endpoints={"aws": self.endpoint}))
        driver.session = sandbox_session()  # API models parsed once per test session, not per driver
        driver.session.events.register("before-call", self.counter.before)
        driver.session.events.register("after-call", self.counter.after)
        for event, handler in self.hooks:
            driver.session.events.register(event, handler)
        return driver

    def client(self, service: str, region: str = "us-east-1"):
        return self.driver().client(service, region)


@pytest.fixture
def aws(moto_endpoint, unique_stack, tmp_path) -> Aws:
    return Aws(endpoint=moto_endpoint, stack=unique_stack, store=LocalStateStore(tmp_path / ".lepton", unique_stack))
