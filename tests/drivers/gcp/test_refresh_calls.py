"""Refresh on Google Cloud makes one filtered, paginated list per type and location: the calls
do not grow with the number of compute groups. Calls are counted with the driver's observers
(the SDK's REST interceptors), never timed."""

from __future__ import annotations


def groups(n: int) -> str:
    return "resources:\n" + "".join(
        f"  g{i}:\n    kind: compute\n    instance_type: e2-micro\n    count: 0\n    ports: [80]\n"
        f"    allow_from: ['10.0.0.0/8']\n" for i in range(n))


def test_compute_refresh_calls_do_not_grow_with_the_number_of_groups(gcp):
    gcp.converge(groups(1))
    one = gcp.refresh_calls(groups(1))
    gcp.converge(groups(6))
    many = gcp.refresh_calls(groups(6))
    assert one == many
    # Each of the compute kind's types is listed once, in its one location, whatever the count.
    for operation in ("Networks.list", "Subnetworks.list", "Firewalls.list", "InstanceTemplates.list",
                      "RegionInstanceGroupManagers.list", "RegionAutoscalers.list"):
        assert many[operation] == 1, (operation, many)
    assert not any(operation.endswith(".get") for operation in many), many
    gcp.destroy(groups(6))
