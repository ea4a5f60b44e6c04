"""Refresh: what exists now. One batched `list` per (cloud, primitive type, region), run
concurrently; objects are found by the stack's ownership tags, so an object created by a run
that crashed before recording it is found (and adopted) rather than created twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lepton_cli.drivers.base import Driver, Observed, Primitive
from lepton_cli.engine.expand import primitive_type_for
from lepton_cli.state.model import State


@dataclass
class Actual:
    """Every object the stack owns, by address, and the cloud each lives on.

    `observed` holds the one object per address that state records (else the one found);
    `deposed` holds the others carrying the same address: predecessors of a replace waiting
    for deletion, or a duplicate a crashed run left behind. Both are deleted by the next apply.
    """

    observed: dict[str, Observed] = field(default_factory=dict)
    deposed: dict[str, list[Observed]] = field(default_factory=dict)
    clouds: dict[str, str] = field(default_factory=dict)


def list_keys(desired: Iterable[Primitive], state: State | None) -> set[tuple[str, str, str]]:
    keys = {(p.cloud, p.type, p.region) for p in desired}
    if state is not None:
        keys |= {(r.cloud, r.type, r.region) for _, r in state.records()}
    return keys


def refresh(drivers: Mapping[str, Driver], desired: Iterable[Primitive], state: State | None,
            parallelism: int = 10) -> Actual:
    """What exists now: one `list` per (cloud, type, region) that the plan or the state uses,
    served by each driver's discovery, which runs once per region."""
    keys = sorted(list_keys(desired, state))
    types = {key: primitive_type_for(drivers, key[0], key[1]) for key in keys}
    for driver in drivers.values():
        driver.begin_refresh()
    found: dict[str, list[Observed]] = {}
    actual = Actual()
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="refresh") as pool:
        futures = [(key, pool.submit(types[key].list, key[2])) for key in keys]
        for (cloud, _type, _region), future in futures:
            for observed in future.result():
                same = found.setdefault(observed.address, [])
                if all(o.id != observed.id for o in same):
                    same.append(observed)
                actual.clouds[observed.address] = cloud
    recorded = state.primitives if state is not None else {}
    for address, objects in found.items():
        record = recorded.get(address)
        deposed_ids = {r.id for r in (state.deposed.get(address, []) if state else [])}
        # The recorded object, else one not deposed (a successor created but not yet recorded).
        objects.sort(key=lambda o: (not (record and o.id == record.id), o.id in deposed_ids, o.id))
        if objects[0].id in deposed_ids:
            actual.deposed[address] = objects
        else:
            actual.observed[address] = objects[0]
            if objects[1:]:
                actual.deposed[address] = objects[1:]
    if state is not None:
        _merge_local_properties(actual, state)
    return actual


def _merge_local_properties(actual: Actual, state: State) -> None:
    """Properties a read cannot report come from state: lepton's own (`local`, never sent to
    the cloud) and write-only ones the API does not return (`list` leaves them out); so does
    the driver's private bookkeeping."""
    by_id = {(address, r.id): r for address, r in state.records()}
    everything = [*actual.observed.values(), *(o for objects in actual.deposed.values() for o in objects)]
    for observed in everything:
        record = by_id.get((observed.address, observed.id))
        if record is None:
            continue
        for key, value in record.properties.items():
            observed.properties.setdefault(key, value)
        for key, value in record.private.items():
            observed.private.setdefault(key, value)
