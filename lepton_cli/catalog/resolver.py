"""The instance catalog: plain data (a CSV per cloud) filtered by pure functions.

`size: {cpus, memory_gb, gpus}` resolves to the cheapest type that meets every bound; a type
named outright is checked against the catalog. Misspelt names get a "did you mean".
`choose_size` also says when a GPU count could only be met by a larger type, and `describe`
words the choice and its price for the plan. The data and its source: data/README.md.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Size
from lepton_cli.spec.suggest import did_you_mean

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class InstanceType:
    name: str
    cpus: int
    memory_gb: float
    gpu_name: str | None
    gpu_count: int
    arch: str  # x86_64 | arm64
    price_hour: float  # on-demand USD per hour in the reference region


@cache
def catalog(cloud: str) -> tuple[InstanceType, ...]:
    path = DATA / f"{cloud}_instance_types.csv"
    if not path.exists():
        raise LeptonError(f"lepton has no instance catalog for cloud {cloud!r} yet")
    with path.open(newline="") as handle:
        return tuple(
            InstanceType(name=row["name"], cpus=int(row["cpus"]), memory_gb=float(row["memory_gb"]),
                         gpu_name=row["gpu_name"] or None, gpu_count=int(row["gpu_count"]), arch=row["arch"],
                         price_hour=float(row["price_hour"]))
            for row in csv.DictReader(handle)
        )


def gpu_names(cloud: str) -> list[str]:
    return sorted({t.gpu_name for t in catalog(cloud) if t.gpu_name})


HOURS_PER_MONTH = 730  # the cloud providers' own convention for a monthly price


def resolve_size(cloud: str, size: Size) -> InstanceType:
    return choose_size(cloud, size)[0]


def choose_size(cloud: str, size: Size) -> tuple[InstanceType, list[str]]:
    """The chosen type and notes on the choice: with GPUs, a type with exactly the count asked
    when the catalog has one, else the nearest larger one and a note saying so."""
    chosen = _cheapest(cloud, size)
    if size.gpu_name and chosen.gpu_count != size.gpu_count:
        return chosen, [f"no {cloud} instance type has exactly {size.gpu_count} {chosen.gpu_name} GPU"
                        f"{'s' * (size.gpu_count != 1)}; the nearest, {chosen.name}, has {chosen.gpu_count}"]
    return chosen, []


def describe(itype: InstanceType, count: int | tuple[int, int]) -> list[str]:
    """Lines for a plan: the type's shape and what the group (`count`, or autoscale's
    (min, max)) costs per hour and per month."""
    gpus = f", {itype.gpu_count} × {itype.gpu_name} GPU" if itype.gpu_name else ""
    low, high = count if isinstance(count, tuple) else (count, count)

    def money(hours: int, digits: int) -> str:
        amounts = sorted({low, high})
        return "–".join(f"${itype.price_hour * n * hours:,.{digits}f}" for n in amounts)

    return [f"instance type: {itype.name} ({itype.cpus} vCPUs, {itype.memory_gb:g} GiB memory{gpus}, "
            f"{itype.arch}) at ${itype.price_hour:g}/h",
            f"cost: {low if low == high else f'{low}–{high}'} × {itype.name} = {money(1, 4)}/h, "
            f"{money(HOURS_PER_MONTH, 2)}/month ({HOURS_PER_MONTH} h, on-demand list price)"]


def _cheapest(cloud: str, size: Size) -> InstanceType:
    """The cheapest type with at least the asked cpus and memory and exactly the GPU model
    asked for (exactly that many where one fits, else at least that many). Portable sizes
    resolve to x86_64 types, so the same image and user_data run on every cloud; name an Arm
    type with `instance_type`."""
    types = tuple(t for t in catalog(cloud) if t.arch == "x86_64")
    if size.gpu_name:
        known = {n.lower(): n for n in gpu_names(cloud)}
        if size.gpu_name.lower() not in known:
            raise LeptonError(Diagnostic(
                summary=f"no {cloud} instance type has {size.gpu_name} GPUs",
                hint=did_you_mean(size.gpu_name, known.values()) or f"known GPUs: {', '.join(known.values())}"))
        gpu = known[size.gpu_name.lower()]
        most = max((t for t in types if t.gpu_name == gpu), key=lambda t: t.gpu_count, default=None)
        if most is not None and most.gpu_count < size.gpu_count:
            raise LeptonError(Diagnostic(
                summary=f"no {cloud} instance type has {size.gpu_count} {gpu} GPUs",
                hint=f"the most on one instance is {most.gpu_count} ({most.name}); ask for fewer, "
                     f"or run more instances with `count`"))
        types = tuple(t for t in types if t.gpu_name == gpu and t.gpu_count >= size.gpu_count)
    else:
        types = tuple(t for t in types if not t.gpu_name)
    fits = [t for t in types if t.cpus >= (size.cpus or 0) and t.memory_gb >= (size.memory_gb or 0)]
    if not fits:
        asked = ", ".join(f"{k}={v}" for k, v in size.model_dump(exclude_none=True).items())
        raise LeptonError(Diagnostic(summary=f"no {cloud} instance type fits size {{{asked}}}",
                                     hint="ask for less, or name an instance_type"))
    return min(fits, key=lambda t: (t.gpu_count != size.gpu_count, t.price_hour, t.cpus, t.memory_gb, t.name))


def check_instance_type(cloud: str, name: str) -> InstanceType:
    for candidate in catalog(cloud):
        if candidate.name == name:
            return candidate
    raise LeptonError(Diagnostic(summary=f"unknown {cloud} instance type {name!r}",
                                 hint=did_you_mean(name, [t.name for t in catalog(cloud)])))
