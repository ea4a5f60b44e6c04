"""The implicit network on Google Cloud (a custom-mode VPC, a subnetwork per region used) and
the firewall rules of compute groups, against the project's Compute Engine emulator."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.drivers.gcp.conftest import PROJECT, REGION

TWO_REGIONS = """\
resources:
  web:
    kind: compute
    instance_type: e2-small
    count: 0
  eu:
    kind: compute
    instance_type: e2-small
    region: europe-west4
    count: 0
"""

CLOSED = "resources:\n  web:\n    kind: compute\n    instance_type: e2-small\n    count: 0\n    ports: [8080]\n"


def test_one_custom_mode_network_and_one_subnetwork_per_region_used(gcp):
    gcp.converge(TWO_REGIONS)
    net = gcp.compute("Networks").get(project=PROJECT, network=f"{gcp.stack}-net")
    assert net.auto_create_subnetworks is False and net.routing_config.routing_mode == "REGIONAL"
    subnetworks = gcp.compute("Subnetworks")
    ranges = {}
    for region in (REGION, "europe-west4"):
        subnet = subnetworks.get(project=PROJECT, region=region, subnetwork=f"{gcp.stack}-{region}")
        assert subnet.network == net.self_link and subnet.private_ip_google_access
        ranges[region] = subnet.ip_cidr_range
    assert ranges == {REGION: "10.0.0.0/20", "europe-west4": "10.20.0.0/20"}  # fixed per region, disjoint
    # Each group's template uses its own region's subnetwork.
    for name, region in (("web", REGION), ("eu", "europe-west4")):
        mig = gcp.compute("RegionInstanceGroupManagers").get(project=PROJECT, region=region,
                                                             instance_group_manager=f"{gcp.stack}-{name}")
        template = gcp.compute("InstanceTemplates").get(project=PROJECT,
                                                        instance_template=mig.instance_template.rsplit("/", 1)[1])
        assert template.properties.network_interfaces[0].subnetwork.endswith(
            f"/regions/{region}/subnetworks/{gcp.stack}-{region}")
    gcp.destroy(TWO_REGIONS)
    with pytest.raises(exceptions.NotFound):
        gcp.compute("Networks").get(project=PROJECT, network=f"{gcp.stack}-net")


def test_nothing_is_opened_without_allow_from(gcp):
    """`ports` alone opens nothing to the world: a load balancer opens its own ranges."""
    gcp.converge(CLOSED)
    plan = gcp.plan(CLOSED)
    assert not plan.has_changes
    network = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/{gcp.stack}-net"
    assert [r.name for r in gcp.compute("Firewalls").list(project=PROJECT) if r.network == network] == []
    opened = CLOSED + "    allow_from: ['0.0.0.0/0']\n"
    (change,) = gcp.plan(opened).actionable
    assert (change.address, change.action.value) == ("web/gcp.firewall", "create")
    gcp.converge(opened)
    rule = gcp.compute("Firewalls").get(project=PROJECT, firewall=f"{gcp.stack}-web-allow")
    assert (list(rule.source_ranges), list(rule.target_tags)) == (["0.0.0.0/0"], [f"{gcp.stack}-web"])
    gcp.converge(CLOSED)  # removing allow_from removes the rule
    with pytest.raises(exceptions.NotFound):
        gcp.compute("Firewalls").get(project=PROJECT, firewall=f"{gcp.stack}-web-allow")
    gcp.destroy(CLOSED)


def test_a_foreign_network_with_the_wanted_name_is_refused_and_left_alone(gcp):
    networks = gcp.compute("Networks")
    networks.insert(project=PROJECT, network_resource={
        "name": f"{gcp.stack}-net", "description": "someone else's", "auto_create_subnetworks": False,
        "routing_config": {"routing_mode": "GLOBAL"}}).result()
    result = gcp.apply(gcp.plan(CLOSED))
    assert "network-global/gcp.network" in result.failed
    assert "not owned by stack" in result.failed["network-global/gcp.network"]
    net = networks.get(project=PROJECT, network=f"{gcp.stack}-net")
    assert (net.description, net.routing_config.routing_mode) == ("someone else's", "GLOBAL")
    gcp.destroy(CLOSED)  # destroys nothing of someone else's
    assert networks.get(project=PROJECT, network=f"{gcp.stack}-net").description == "someone else's"
    networks.delete(project=PROJECT, network=f"{gcp.stack}-net").result()


def test_a_network_routing_mode_drift_is_repaired_in_place(gcp):
    gcp.converge(CLOSED)
    networks = gcp.compute("Networks")
    networks.patch(project=PROJECT, network=f"{gcp.stack}-net",
                   network_resource={"routing_config": {"routing_mode": "GLOBAL"}}).result()
    (change,) = gcp.plan(CLOSED).actionable
    assert (change.address, change.action.value) == ("network-global/gcp.network", "update")
    assert {k: (d.before, d.after) for k, d in change.diff.items()} == {"routing_mode": ("GLOBAL", "REGIONAL")}
    gcp.converge(CLOSED)
    assert networks.get(project=PROJECT, network=f"{gcp.stack}-net").routing_config.routing_mode == "REGIONAL"
    gcp.destroy(CLOSED)


def test_a_subnetwork_losing_private_google_access_gets_it_back_in_place(gcp):
    gcp.converge(CLOSED)
    subnetworks = gcp.compute("Subnetworks")
    name = f"{gcp.stack}-{REGION}"
    subnet = subnetworks.get(project=PROJECT, region=REGION, subnetwork=name)
    subnetworks.patch(project=PROJECT, region=REGION, subnetwork=name, subnetwork_resource={
        "private_ip_google_access": False, "fingerprint": subnet.fingerprint}).result()
    (change,) = gcp.plan(CLOSED).actionable
    assert (change.address, change.action.value) == (f"network-{REGION}/gcp.subnetwork", "update")
    gcp.converge(CLOSED)
    assert subnetworks.get(project=PROJECT, region=REGION, subnetwork=name).private_ip_google_access
    gcp.destroy(CLOSED)
