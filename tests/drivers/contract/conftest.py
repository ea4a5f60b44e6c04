"""Wiring of the driver contract suite: every cloud with a `tests/drivers/<cloud>/harness.py`
(a module attribute `HARNESS`, a `DriverHarness` subclass) runs every contract test, per
primitive type of its driver. Adding a cloud adds a harness file; nothing here changes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.drivers.contract.harness import DriverHarness


def _harnesses() -> dict[str, type[DriverHarness]]:
    found = {}
    for path in sorted(Path(__file__).parent.parent.glob("*/harness.py")):
        if path.parent.name == "contract":
            continue
        module = importlib.import_module(f"tests.drivers.{path.parent.name}.harness")
        harness = module.HARNESS
        found[harness.cloud] = harness
    return found


HARNESSES = _harnesses()


def pytest_generate_tests(metafunc):
    if "type_name" in metafunc.fixturenames:
        cases = [(cloud, t) for cloud, h in HARNESSES.items() for t in h.type_names()]
        metafunc.parametrize(["harness", "type_name"], cases, indirect=["harness"],
                             ids=[f"{cloud}:{t}" for cloud, t in cases])
    elif "scenario" in metafunc.fixturenames:
        cases = [(cloud, s) for cloud, h in HARNESSES.items() for s in h.replacement_scenarios()]
        metafunc.parametrize(["harness", "scenario"], cases, indirect=["harness"],
                             ids=[f"{cloud}:{s.name}" for cloud, s in cases])


@pytest.fixture
def harness(request) -> DriverHarness:
    return HARNESSES[request.param].start(request)


@pytest.fixture
def other_stack(unique_stack) -> str:
    """A second stack beside the test's own, sharing the emulator."""
    return f"{unique_stack}-b"
