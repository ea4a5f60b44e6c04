"""Refresh on Azure makes one paged list per type and resource group: the calls do not grow with
the number of compute groups beyond the list's pages (the emulator serves small pages, with
`nextLink`, to exercise paging). Calls are counted with the driver's observers (the SDK's
`raw_response_hook`), never timed."""

from __future__ import annotations

import math

PAGE = 2  # the test emulator's page size (tests/conftest.py: make_app's default): real ARM pages are far larger


def groups(n: int) -> str:
    return "resources:\n" + "".join(
        f"  g{i}:\n    kind: compute\n    instance_type: Standard_B1s\n    count: 0\n    ports: [80]\n"
        f"    allow_from: ['10.0.0.0/8']\n" for i in range(n))


def scaled(n: int) -> str:
    return "resources:\n" + "".join(
        f"  g{i}:\n    kind: compute\n    instance_type: Standard_B1s\n    autoscale: {{min: 0, max: 2}}\n"
        for i in range(n))


def lists(calls, tail: str) -> int:
    return sum(n for op, n in calls.items() if op.startswith("GET ") and op.lower().endswith(tail.lower()))


def check(one, many, n: int, tails: list[str]) -> None:
    # The same calls, whatever the number of groups: no read per object ...
    assert set(one) == set(many), set(one) ^ set(many)
    # ... and each of the kind's lists is one call per page of its n objects.
    for tail in tails:
        assert lists(one, tail) == 1, (tail, one)
        assert lists(many, tail) <= math.ceil(n / PAGE) + 1, (tail, many)


def test_compute_refresh_calls_do_not_grow_with_the_number_of_groups(azure):
    azure.converge(groups(1))
    one = azure.refresh_calls(groups(1))
    azure.converge(groups(6))
    many = azure.refresh_calls(groups(6))
    # (Subnets come inline in the VNet list: the VNet and subnet types list VNets once each.)
    check(one, many, 6, ["/networkSecurityGroups", "/virtualMachineScaleSets", "/resourcegroups"])
    assert lists(many, "/virtualNetworks") == 2, many
    azure.destroy(groups(6))


def test_autoscale_refresh_calls_do_not_grow_with_the_number_of_groups(azure):
    azure.converge(scaled(1))
    one = azure.refresh_calls(scaled(1))
    azure.converge(scaled(6))
    many = azure.refresh_calls(scaled(6))
    check(one, many, 6, ["/microsoft.insights/autoscalesettings", "/virtualMachineScaleSets"])
    azure.destroy(scaled(6))
