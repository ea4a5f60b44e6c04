"""Networks, subnetworks, firewalls and addresses through the SDK: custom-mode networks list
their subnetworks, in-use deletes are refused, fingerprints and label rules are enforced."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.sandbox.gcp.compute_support import Compute, new_project, serve
from tests.sandbox.gcp.compute_world import REGION, World


@pytest.fixture(scope="module")
def endpoint():
    with serve(running_polls=0) as (url, _app):
        yield url


@pytest.fixture
def world(endpoint):
    return World(Compute(endpoint, new_project()))


def _reason(err) -> str:
    return err.value.errors[0]["reason"]


def test_a_network_lists_its_subnetworks_and_is_held_by_them(world):
    network = world.need("network")
    subnet = world.need("subnetwork")
    net = world.get("network", "network")
    assert list(net.subnetworks) == [subnet] and net.auto_create_subnetworks is False
    assert net.routing_config.routing_mode == "REGIONAL"
    sub = world.get("subnetwork", "subnetwork")
    assert sub.network == network and sub.gateway_address == "10.101.0.1"
    assert sub.region == world.compute.link(f"regions/{REGION}")
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("network", "network")
    assert _reason(err) == "resourceInUseByAnotherResource"
    assert f"regions/{REGION}/subnetworks/subnetwork" in err.value.message
    world.delete("subnetwork", "subnetwork").result()
    assert not world.get("network", "network").subnetworks
    world.create("firewall", "fw")
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("network", "network")
    assert "global/firewalls/fw" in err.value.message
    world.delete("firewall", "fw").result()
    world.delete("network", "network").result()


def test_instances_hold_their_subnetwork_but_a_template_alone_does_not(world):
    world.need("template")
    world.create("subnetwork", "spare")
    world.create("manager", "mig", size=1)
    with pytest.raises(exceptions.BadRequest) as err:
        world.delete("subnetwork", "subnetwork")
    assert _reason(err) == "resourceInUseByAnotherResource" and "/instances/mig-" in err.value.message
    migs = world.compute.region_instance_group_managers
    migs.resize(project=world.compute.project, region=REGION, instance_group_manager="mig", size=0).result()
    world.delete("subnetwork", "subnetwork").result()


def test_auto_mode_and_bad_ranges_are_refused(world):
    with pytest.raises(exceptions.BadRequest):
        world.insert("network", {"name": "auto", "auto_create_subnetworks": True})
    network = world.need("network")
    for cidr in ("10.0.0.0/33", "8.8.8.0/24", "10.0.0.1/24"):
        with pytest.raises(exceptions.BadRequest):
            world.insert("subnetwork", {"name": "s", "network": network, "ip_cidr_range": cidr})
    world.insert("subnetwork", {"name": "a", "network": network, "ip_cidr_range": "10.1.0.0/16"}).result()
    with pytest.raises(exceptions.BadRequest):  # overlaps
        world.insert("subnetwork", {"name": "b", "network": network, "ip_cidr_range": "10.1.128.0/20"})
    with pytest.raises(exceptions.NotFound):
        world.insert("subnetwork", {"name": "c", "network": "global/networks/ghost", "ip_cidr_range": "10.2.0.0/16"})
    with pytest.raises(exceptions.BadRequest) as err:
        world.insert("subnetwork", {"name": "d", "network": network})
    assert _reason(err) == "required"


def test_subnetwork_patch_checks_its_fingerprint(world):
    world.need("subnetwork")
    subnets = world.compute.subnetworks
    stale = world.get("subnetwork", "subnetwork").fingerprint
    subnets.patch(project=world.compute.project, region=REGION, subnetwork="subnetwork",
                  subnetwork_resource={"private_ip_google_access": True, "fingerprint": stale}).result()
    fresh = world.get("subnetwork", "subnetwork")
    assert fresh.private_ip_google_access and fresh.fingerprint != stale
    with pytest.raises(exceptions.PreconditionFailed) as err:
        subnets.patch(project=world.compute.project, region=REGION, subnetwork="subnetwork",
                      subnetwork_resource={"private_ip_google_access": False, "fingerprint": stale})
    assert _reason(err) == "conditionNotMet"
    assert world.get("subnetwork", "subnetwork").private_ip_google_access


def test_network_patch(world):
    world.need("network")
    world.compute.networks.patch(project=world.compute.project, network="network",
                                 network_resource={"routing_config": {"routing_mode": "GLOBAL"}}).result()
    assert world.get("network", "network").routing_config.routing_mode == "GLOBAL"


def test_firewall_defaults_patch_and_update(world):
    world.need("network")
    world.insert("firewall", {"name": "open", "network": "global/networks/network",
                              "allowed": [{"I_p_protocol": "tcp", "ports": ["22", "8000-8080"]}]}).result()
    fw = world.get("firewall", "open")
    assert fw.network == world.need("network") and fw.direction == "INGRESS" and fw.priority == 1000
    assert list(fw.source_ranges) == ["0.0.0.0/0"]  # the API's default for an ingress rule
    firewalls = world.compute.firewalls
    firewalls.patch(project=world.compute.project, firewall="open",
                    firewall_resource={"source_ranges": ["10.0.0.0/8"], "priority": 900}).result()
    fw = world.get("firewall", "open")
    assert list(fw.source_ranges) == ["10.0.0.0/8"] and fw.priority == 900
    assert [list(a.ports) for a in fw.allowed] == [["22", "8000-8080"]]
    firewalls.update(project=world.compute.project, firewall="open", firewall_resource={
        "name": "open", "network": world.need("network"), "allowed": [{"I_p_protocol": "udp"}],
        "source_ranges": ["192.168.0.0/16"]}).result()
    fw = world.get("firewall", "open")
    assert fw.allowed[0].I_p_protocol == "udp" and fw.priority == 1000
    for bad in ({"allowed": [{"I_p_protocol": "tcp", "ports": ["70000"]}]},
                {"allowed": [{"I_p_protocol": "tcp"}], "denied": [{"I_p_protocol": "tcp"}]},
                {"allowed": [{"I_p_protocol": "tcp"}], "source_ranges": ["not-a-range"]}):
        with pytest.raises(exceptions.BadRequest):
            world.insert("firewall", {"name": "bad", "network": world.need("network"), **bad})


def test_description_and_name_regex_filters(world):
    for name, stack in (("a-one", "abc"), ("a-two", "abc"), ("b-one", "xyz")):
        world.insert("network", {"name": name, "auto_create_subnetworks": False,
                                 "description": f"lepton:stack={stack};lepton:name={name};"}).result()
    names = lambda f: [n.name for n in world.list("network", filter=f)]  # noqa: E731
    assert names('description eq ".*lepton:stack=abc;.*"') == ["a-one", "a-two"]
    assert names('name ne "a-.*"') == ["b-one"]
    assert names('(description eq ".*stack=abc;.*") (name eq ".*two")') == ["a-two"]
    assert names('(name = "a-one") OR (name = "b-one")') == ["a-one", "b-one"]
    assert names('name = "a-one" AND NOT description eq ".*xyz.*"') == ["a-one"]
    with pytest.raises(exceptions.BadRequest):
        names('name ~~ "a"')
    with pytest.raises(exceptions.BadRequest):
        names('(name = "a"')


def test_address_labels_and_label_filter(world):
    world.need("address")
    addresses = world.compute.addresses
    address = world.get("address", "address")
    assert address.address.startswith("35.188.") and address.status == "RESERVED"
    assert [a.name for a in world.list("address", filter='labels.lepton-stack = "abc"')] == ["address"]
    assert not list(world.list("address", filter='labels.lepton-stack = "other"'))
    addresses.set_labels(project=world.compute.project, region=REGION, resource="address",
                         region_set_labels_request_resource={"labels": {"env": "prod"},
                                                             "label_fingerprint": address.label_fingerprint}).result()
    relabelled = world.get("address", "address")
    assert dict(relabelled.labels) == {"env": "prod"} and relabelled.label_fingerprint != address.label_fingerprint
    with pytest.raises(exceptions.PreconditionFailed):
        addresses.set_labels(project=world.compute.project, region=REGION, resource="address",
                             region_set_labels_request_resource={"labels": {},
                                                                 "label_fingerprint": address.label_fingerprint})


@pytest.mark.parametrize("labels", [{"Upper": "x"}, {"k": "Value"}, {"k" * 64: "v"}, {"1k": "v"},
                                    {f"k{i}": "v" for i in range(65)}])
def test_label_rules(world, labels):
    with pytest.raises(exceptions.BadRequest) as err:
        world.insert("global_address", {"name": "ip", "labels": labels})
    assert _reason(err) == "invalid"


def test_sixty_four_labels_are_allowed(world):
    world.insert("global_address", {"name": "ip", "labels": {f"k{i}": "v" for i in range(64)}}).result()
    assert len(world.get("global_address", "ip").labels) == 64
