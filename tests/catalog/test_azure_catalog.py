"""The Azure catalog: sane data, `size` resolving to the documented VM sizes (GPUs: NCasT4_v3
for T4, NC A100 v4 for one to four A100 80GB, ND for eight), and the image aliases."""

from __future__ import annotations

import pytest

from lepton_cli.catalog.resolver import catalog, choose_size, describe
from lepton_cli.drivers.azure import images
from lepton_cli.drivers.azure.compute import instance_choice
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Compute, Size


def test_the_azure_catalog_has_every_shipped_family_with_sane_figures():
    names = [t.name for t in catalog("azure")]
    assert len(names) == len(set(names))
    for prefix in ("Standard_B", "Standard_D2s_v5", "Standard_D32s_v5", "Standard_D2as_v5", "Standard_E2s_v5",
                   "Standard_F2s_v2", "Standard_NC4as_T4_v3", "Standard_NC64as_T4_v3", "Standard_NC24ads_A100_v4",
                   "Standard_NC96ads_A100_v4", "Standard_ND96asr_v4", "Standard_ND96amsr_A100_v4"):
        assert any(n.startswith(prefix) for n in names), prefix
    for t in catalog("azure"):
        assert t.name.startswith("Standard_") and t.arch == "x86_64", t
        assert t.cpus >= 1 and t.memory_gb > 0 and t.price_hour > 0, t
        assert (t.gpu_count > 0) == bool(t.gpu_name), t
    assert {t.gpu_name for t in catalog("azure") if t.gpu_name} == {"T4", "A100", "A100-80GB"}
    # Within a family, price grows with the size.
    dsv5 = sorted((t for t in catalog("azure") if t.name.endswith("s_v5") and t.name.startswith("Standard_D")
                   and "as_" not in t.name), key=lambda t: t.cpus)
    assert [t.price_hour for t in dsv5] == sorted(t.price_hour for t in dsv5)


@pytest.mark.parametrize("gpus, chosen, notes", [
    ("T4:1", "Standard_NC4as_T4_v3", 0),
    ("T4:4", "Standard_NC64as_T4_v3", 0),
    ("T4:2", "Standard_NC64as_T4_v3", 1),
    ("A100-80GB:1", "Standard_NC24ads_A100_v4", 0),
    ("A100-80GB:2", "Standard_NC48ads_A100_v4", 0),
    ("A100-80GB:8", "Standard_ND96amsr_A100_v4", 0),
    ("A100:8", "Standard_ND96asr_v4", 0),
    ("A100:1", "Standard_ND96asr_v4", 1),  # Azure sells the 40 GB A100 only by eight
])
def test_gpu_sizes_pick_nc_and_nd_sizes(gpus, chosen, notes):
    itype, said = choose_size("azure", Size(gpus=gpus))
    assert (itype.name, len(said)) == (chosen, notes)


def test_the_cheapest_fitting_size_is_chosen_and_priced():
    assert choose_size("azure", Size(cpus=2, memory_gb=4))[0].name == "Standard_B2s"
    assert choose_size("azure", Size(cpus=8, memory_gb=64))[0].name == "Standard_E8s_v5"
    lines = describe(choose_size("azure", Size(cpus=2, memory_gb=8))[0], 3)
    assert lines[0].startswith("instance type: Standard_B2ms (2 vCPUs, 8 GiB memory")


def test_instance_types_by_name_or_map_case_insensitive_with_did_you_mean():
    def compute(instance_type):
        return Compute(kind="compute", instance_type=instance_type)

    assert instance_choice(compute("standard_d4s_v5"))[0].name == "Standard_D4s_v5"
    assert instance_choice(compute({"aws": "t3.micro", "azure": "Standard_F4s_v2"}))[0].name == "Standard_F4s_v2"
    with pytest.raises(LeptonError) as raised:
        instance_choice(compute({"aws": "t3.micro"}))
    assert raised.value.diagnostics[0].summary == "instance_type names no size for azure"
    with pytest.raises(LeptonError) as raised:
        instance_choice(compute("Standard_D4s_v4"))
    assert raised.value.diagnostics[0].hint == "did you mean 'Standard_D4s_v5'?"


def test_image_aliases_urns_and_ids():
    assert images.resolve("ubuntu-22.04") == {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                                              "sku": "22_04-lts-gen2", "version": "latest"}
    assert images.resolve("ubuntu-24.04") == {"publisher": "Canonical", "offer": "ubuntu-24_04-lts",
                                              "sku": "server", "version": "latest"}
    assert images.resolve("debian-12") == {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                           "version": "latest"}
    assert images.resolve("Canonical:ubuntu-24_04-lts:server:24.04.202501010")["version"] == "24.04.202501010"
    gallery = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/images/providers/"
               "Microsoft.Compute/galleries/g/images/web/versions/1.0.0")
    assert images.resolve(gallery) == {"id": gallery}
    with pytest.raises(LeptonError) as raised:
        images.resolve("ubuntu-2204")
    assert raised.value.diagnostics[0].hint == "did you mean 'ubuntu-22.04'?"
    assert not images.is_known("Canonical:jammy")
