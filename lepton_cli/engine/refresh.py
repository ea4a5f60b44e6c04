"""Refresh: what exists now. One batched `list` per (cloud, primitive type, region), run
concurrently; objects are found by the stack's ownership tags, so an object created by a run
that crashed before recording it is found (and adopted) rather than created twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lepton_cli.drivers.base import Driver, Observed, Primitive
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.state.model import State


@dataclass
class Actual:
    """Every object the stack owns, by address, and the cloud each lives on."""

    observed: dict[str, Observed] = field(default_factory=dict)
    clouds: dict[str, str] = field(default_factory=dict)


def list_keys(desired: Iterable[Primitive], state: State | None) -> set[tuple[str, str, str]]:
    keys = {(p.cloud, p.type, p.region) for p in desired}
    if state is not None:
        keys |= {(r.cloud, r.type, r.region) for r in state.primitives.values()}
    return keys


def refresh(drivers: Mapping[str, Driver], desired: Iterable[Primitive], state: State | None,
            parallelism: int = 10) -> Actual:
    keys = sorted(list_keys(desired, state))
    actual = Actual()
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="refresh") as pool:
        futures = [(key, pool.submit(drivers[key[0]].primitive_type(key[1]).list, key[2])) for key in keys]
        for (cloud, type_name, _region), future in futures:
            for found in future.result():
                if found.address in actual.observed and actual.observed[found.address].id != found.id:
                    other = actual.observed[found.address]
                    raise LeptonError(Diagnostic(
                        summary=f"two {type_name} objects carry the same lepton address",
                        address=found.address, detail=f"ids {other.id} and {found.id}",
                        hint="delete the one that should not exist, then run lepton again"))
                actual.observed[found.address] = found
                actual.clouds[found.address] = cloud
    if state is not None:
        _merge_local_properties(drivers, actual, state)
    return actual


def _merge_local_properties(drivers: Mapping[str, Driver], actual: Actual, state: State) -> None:
    """Properties a read cannot report come from state: lepton's own (`local`, never sent to
    the cloud) and write-only ones the API does not return (`list` leaves them out)."""
    for address, observed in actual.observed.items():
        record = state.primitives.get(address)
        if record is None:
            continue
        for key, value in record.properties.items():
            observed.properties.setdefault(key, value)
