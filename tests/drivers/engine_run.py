"""Driving the engine against one cloud's emulator, as every driver's tests do: plan, apply,
converge (apply, then a plan must be empty), destroy, and the API calls of one refresh.

Each cloud's `tests/drivers/<cloud>/conftest.py` subclasses `EngineRun` with how to make its
driver (counting calls, carrying the faults a test injects) and the defaults of its plans."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.drivers.base import Driver
from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.planner import make_plan
from lepton_cli.engine.refresh import refresh
from lepton_cli.spec.loader import load_plan_text
from lepton_cli.state.local import LocalStateStore


@dataclass(kw_only=True)
class EngineRun:
    stack: str
    store: LocalStateStore
    counter: Any  # the cloud's call counter: `calls` (a Counter by operation) and `reset()`
    hooks: list = field(default_factory=list)  # faults a test injects, put on every driver made
    cloud: str = ""
    defaults: str = ""  # the plan's `defaults:` mapping, e.g. "{cloud: gcp, region: us-central1}"

    def driver(self) -> Driver:
        raise NotImplementedError

    def text(self, body: str) -> str:
        return f"stack: {self.stack}\ndefaults: {self.defaults}\n{body}"

    def plan(self, body: str, **kwargs):
        loaded = load_plan_text(self.text(body))
        return make_plan(loaded.stack, {self.cloud: self.driver()}, self.store.read(), plan_digest=loaded.digest,
                         resource_graph=loaded.graph, **kwargs)

    def apply(self, plan):
        return apply_plan(plan, {self.cloud: self.driver()}, self.store, self.store.read())

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
        drivers = {self.cloud: self.driver()}
        desired = expand_stack(loaded.stack, drivers)
        self.counter.reset()
        refresh(drivers, desired, self.store.read())
        return collections.Counter(self.counter.calls)
