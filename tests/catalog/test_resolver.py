"""The instance catalog: the data is sane and the resolver's choice is the documented one."""

from __future__ import annotations

import pytest

from lepton_cli.catalog.resolver import catalog, check_instance_type, choose_size, describe
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Size


def test_every_current_family_is_in_the_aws_catalog_with_sane_figures():
    names = {t.name for t in catalog("aws")}
    for family in ("m5", "m6i", "m7i", "c5", "c6i", "c7i", "r5", "r6i", "r7i", "t3", "t4g", "g4dn", "g5", "g6",
                   "p3", "p4d", "p5", "m7g", "c7g"):
        assert f"{family}.large" in names or any(n.startswith(f"{family}.") for n in names), family
    assert len(names) == len(catalog("aws"))  # no duplicate rows
    for t in catalog("aws"):
        assert t.cpus >= 1 and t.memory_gb > 0 and t.price_hour > 0, t
        assert t.arch in ("x86_64", "arm64") and (t.gpu_count > 0) == bool(t.gpu_name), t
    assert {t.arch for t in catalog("aws") if t.name.split(".")[0] in ("m7g", "c7g", "t4g")} == {"arm64"}


@pytest.mark.parametrize("gpus, chosen", [("T4:1", "g4dn.xlarge"), ("A10G:1", "g5.xlarge"), ("L4:1", "g6.xlarge"),
                                          ("V100:1", "p3.2xlarge"), ("A10G:4", "g5.12xlarge")])
def test_a_gpu_count_the_catalog_has_is_met_exactly_without_a_note(gpus, chosen):
    itype, notes = choose_size("aws", Size(gpus=gpus))
    assert itype.name == chosen and itype.gpu_count == int(gpus.split(":")[1]) and notes == []


def test_one_a100_gets_the_nearest_type_and_a_note_saying_it_has_eight():
    itype, notes = choose_size("aws", Size(gpus="A100:1"))
    assert itype.name == "p4d.24xlarge"
    assert notes == ["no aws instance type has exactly 1 A100 GPU; the nearest, p4d.24xlarge, has 8"]


def test_more_gpus_than_any_type_has_is_an_error_naming_the_most():
    with pytest.raises(LeptonError) as raised:
        choose_size("aws", Size(gpus="H100:16"))
    (d,) = raised.value.diagnostics
    assert d.summary == "no aws instance type has 16 H100 GPUs" and "8 (p5.48xlarge)" in d.hint


def test_the_cheapest_fitting_cpu_type_is_chosen():
    assert choose_size("aws", Size(cpus=2, memory_gb=4)) == (check_instance_type("aws", "t3.medium"), [])
    assert choose_size("aws", Size(cpus=64, memory_gb=512))[0].name == "r5.16xlarge"


def test_an_unknown_type_gets_did_you_mean():
    with pytest.raises(LeptonError, match="did you mean 'c7i.xlarge'"):
        check_instance_type("aws", "c7i.xlarg")


def test_describe_gives_shape_and_group_price_per_hour_and_month():
    shape, cost = describe(check_instance_type("aws", "g5.xlarge"), 3)
    assert shape == "instance type: g5.xlarge (4 vCPUs, 16 GiB memory, 1 × A10G GPU, x86_64) at $1.006/h"
    assert cost == "cost: 3 × g5.xlarge = $3.0180/h, $2,203.14/month (730 h, on-demand list price)"
    _, scaling = describe(check_instance_type("aws", "t3.medium"), (1, 4))
    assert scaling.startswith("cost: 1–4 × t3.medium = $0.0416–$0.1664/h, $30.37–$121.47/month")
