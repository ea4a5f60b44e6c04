"""AWS driver tests: the real driver and engine against moto's server, through boto3."""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import pytest

from lepton_cli.drivers.aws.driver import AwsDriver
from lepton_cli.drivers.base import DriverConfig
from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.planner import make_plan
from lepton_cli.engine.refresh import refresh
from lepton_cli.spec.loader import load_plan_text
from lepton_cli.state.local import LocalStateStore
from tests.drivers.aws.harness import sandbox_session


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


@dataclass
class Aws:
    endpoint: str
    stack: str
    store: LocalStateStore
    counter: CallCounter = field(default_factory=CallCounter)
    # (botocore event, handler) registered on every driver's session: faults a test injects.
    hooks: list = field(default_factory=list)

    def driver(self) -> AwsDriver:
        driver = AwsDriver(DriverConfig(stack=self.stack, endpoints={"aws": self.endpoint}))
        driver.session = sandbox_session()  # API models parsed once per test session, not per driver
        driver.session.events.register("before-call", self.counter.before)
        driver.session.events.register("after-call", self.counter.after)
        for event, handler in self.hooks:
            driver.session.events.register(event, handler)
        return driver

    def text(self, body: str) -> str:
        return f"stack: {self.stack}\ndefaults: {{cloud: aws, region: us-east-1}}\n{body}"

    def plan(self, body: str, **kwargs):
        loaded = load_plan_text(self.text(body))
        return make_plan(loaded.stack, {"aws": self.driver()}, self.store.read(), plan_digest=loaded.digest,
                         resource_graph=loaded.graph, **kwargs)

    def apply(self, plan):
        return apply_plan(plan, {"aws": self.driver()}, self.store, self.store.read())

    def converge(self, body: str):
        result = self.apply(self.plan(body))
        assert result.ok, result.failed
        assert not self.plan(body).has_changes, [(c.address, c.diff) for c in self.plan(body).actionable]
        return result

    def destroy(self, body: str):
        result = self.apply(self.plan(body, destroy=True))
        assert result.ok, result.failed

    def refresh_calls(self, body: str) -> collections.Counter:
        """API calls of one refresh (listing every type the plan uses), by operation."""
        from lepton_cli.engine.expand import expand_stack

        loaded = load_plan_text(self.text(body))
        drivers = {"aws": self.driver()}
        desired = expand_stack(loaded.stack, drivers)
        self.counter.reset()
        refresh(drivers, desired, self.store.read())
        return collections.Counter(self.counter.calls)

    def client(self, service: str, region: str = "us-east-1"):
        return self.driver().client(service, region)


@pytest.fixture
def aws(moto_endpoint, unique_stack, tmp_path) -> Aws:
    return Aws(endpoint=moto_endpoint, stack=unique_stack, store=LocalStateStore(tmp_path / ".lepton", unique_stack))
