"""The read-only world (regions, zones, machine types, images), aggregated lists, and the
request rules every list shares (maxResults, filters, projects, locations)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.sandbox.gcp.compute_support import Compute, serve
from tests.sandbox.gcp.compute_world import REGION, World


@pytest.fixture(scope="module")
def compute():
    with serve(running_polls=0) as (url, _app):
        yield Compute(url)


def test_regions_and_zones(compute):
    regions = {r.name: r for r in compute.regions.list(project=compute.project)}
    assert len(regions) == 8 and regions["us-central1"].status == "UP"
    assert [z.rsplit("/", 1)[1] for z in regions["us-central1"].zones] == [
        "us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
    zone = compute.zones.get(project=compute.project, zone="europe-west4-b")
    assert zone.region == compute.link("regions/europe-west4")
    in_region = [z.name for z in compute.zones.list(request={"project": compute.project,
                                                             "filter": f'region eq ".*/{REGION}"'})]
    assert in_region == ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
    with pytest.raises(exceptions.NotFound):
        compute.regions.get(project=compute.project, region="mars-north1")
    with pytest.raises(exceptions.NotFound):
        compute.zones.get(project=compute.project, zone="us-central1-z")


def test_machine_types(compute):
    a100 = compute.machine_types.get(project=compute.project, zone="us-central1-a", machine_type="a2-highgpu-1g")
    assert a100.guest_cpus == 12 and a100.accelerators[0].guest_accelerator_type == "nvidia-tesla-a100"
    assert a100.zone == "us-central1-a"
    l4 = compute.machine_types.get(project=compute.project, zone="us-east4-a", machine_type="g2-standard-24")
    assert l4.accelerators[0].guest_accelerator_count == 2
    e2 = compute.machine_types.get(project=compute.project, zone="us-east1-b", machine_type="e2-standard-4")
    assert (e2.guest_cpus, e2.memory_mb) == (4, 16384)
    names = [m.name for m in compute.machine_types.list(request={
        "project": compute.project, "zone": "us-central1-a", "filter": 'name eq "n1-standard-.*"'})]
    assert "n1-standard-4" in names and all(n.startswith("n1-standard-") for n in names)
    with pytest.raises(exceptions.NotFound):
        compute.machine_types.get(project=compute.project, zone="us-central1-a", machine_type="z9-mega-1")


def test_public_images(compute):
    jammy = compute.images.get_from_family(project="ubuntu-os-cloud", family="ubuntu-2204-lts")
    assert jammy.name == "ubuntu-2204-jammy-v20240614" and jammy.status == "READY"
    images = "https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images"
    assert jammy.self_link == f"{images}/{jammy.name}"
    noble = compute.images.get_from_family(project="ubuntu-os-cloud", family="ubuntu-2404-lts-amd64")
    assert noble.family == "ubuntu-2404-lts-amd64"
    debian = compute.images.get_from_family(project="debian-cloud", family="debian-12")
    assert debian.name.startswith("debian-12-")
    old = compute.images.get(project="debian-cloud", image="debian-12-bookworm-v20240515")
    assert old.deprecated.state == "DEPRECATED" and old.deprecated.replacement == debian.self_link
    assert len(list(compute.images.list(project="ubuntu-os-cloud"))) == 4
    assert not list(compute.images.list(project=compute.project))
    with pytest.raises(exceptions.NotFound):
        compute.images.get_from_family(project="ubuntu-os-cloud", family="windows-95")


def test_list_request_rules(compute):
    with pytest.raises(exceptions.BadRequest):
        list(compute.regions.list(request={"project": compute.project, "max_results": 501}))
    with pytest.raises(exceptions.BadRequest):
        list(compute.networks.list(request={"project": compute.project, "filter": "name = "}))
    with pytest.raises(exceptions.BadRequest):
        list(compute.networks.list(request={"project": compute.project, "page_token": "!!garbage"}))
    with pytest.raises(exceptions.NotFound):
        list(compute.networks.list(project="NOT_A_PROJECT"))
    with pytest.raises(exceptions.NotFound):
        list(compute.subnetworks.list(project=compute.project, region="us-central9"))


def test_aggregated_lists_key_items_by_scope(compute):
    world = World(Compute(compute.endpoint))
    world.need("forwarding_rule")
    world.need("backend_service")
    world.insert("subnetwork", {"name": "east", "network": world.need("network"),
                                "ip_cidr_range": "10.50.0.0/20"}).result()
    project = world.compute.project
    subnets = dict(world.compute.subnetworks.aggregated_list(request={"project": project}))
    assert {k: [s.name for s in v.subnetworks] for k, v in subnets.items() if v.subnetworks} == {
        f"regions/{REGION}": ["east", "subnetwork"]}
    assert len(subnets) == 8  # every region, the empty ones with a warning
    assert subnets["regions/asia-east1"].warning.code == "NO_RESULTS_ON_PAGE"
    services = dict(world.compute.backend_services.aggregated_list(request={"project": project}))
    assert {k: [s.name for s in v.backend_services] for k, v in services.items() if v.backend_services} == {
        "global": ["backend-service"], f"regions/{REGION}": ["region-backend-service"]}
    migs = dict(world.compute.instance_group_managers.aggregated_list(request={"project": project}))
    assert [m.name for m in migs[f"regions/{REGION}"].instance_group_managers] == ["manager"]
    paged = world.compute.subnetworks.aggregated_list(request={"project": project, "max_results": 1})
    assert len(list(paged.pages)) == 2
