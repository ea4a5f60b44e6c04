from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from lepton_cli.drivers.base import DriverConfig
from lepton_cli.engine.executor import apply_plan
from lepton_cli.engine.planner import make_plan
from lepton_cli.spec.loader import load_plan_text
from lepton_cli.state.local import LocalStateStore
from tests.engine.memcloud import Cloud, MemDriver


@dataclass
class Harness:
    """Plans and applies plan-file text against the in-memory cloud, with real local state."""

    cloud: Cloud
    store: LocalStateStore
    events: list = field(default_factory=list)

    def drivers(self, stack_name: str):
        return {"aws": MemDriver(DriverConfig(stack=stack_name), self.cloud)}

    def plan(self, text: str, **kwargs):
        loaded = load_plan_text(text)
        return make_plan(loaded.stack, self.drivers(loaded.stack.stack), self.store.read(),
                         plan_digest=loaded.digest, resource_graph=loaded.graph, **kwargs)

    def apply(self, plan, **kwargs):
        return apply_plan(plan, self.drivers(plan.stack), self.store, self.store.read(),
                          on_event=self.events.append, **kwargs)

    def converge(self, text: str, **kwargs):
        result = self.apply(self.plan(text))
        assert result.ok, result.failed
        return result


@pytest.fixture
def harness(tmp_path) -> Harness:
    return Harness(cloud=Cloud(), store=LocalStateStore(tmp_path / ".lepton", "shop"))
