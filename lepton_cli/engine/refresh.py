"""Refresh: what exists now. One batched `list` per (cloud, primitive type, region), run
concurrently, for *every* type each driver implements in every region the plan file, the
desired primitives or the state name: an object the stack owns is found (and adopted or
deleted) even when its type was never recorded, as after a run killed mid-create.

Objects are found by the stack's ownership markers. An object a create left without its marker
(killed between creating and tagging) is found only through a pending create journaled in
state naming it (`PrimitiveType.find_unmarked`), never by its name alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lepton_cli.drivers.base import Driver, Observed, Primitive
from lepton_cli.engine.expand import driver_for, primitive_type_for
from lepton_cli.state.model import PendingOperation, State


@dataclass
class Actual:
    """Every object the stack owns, by address, and the cloud each lives on.

    `observed` holds the one object per address that state records (else the oldest found);
    `deposed` holds the others carrying the same address: predecessors of a replace waiting
    for deletion, or duplicates a crashed or retried create left behind. Both are deleted by
    the next apply. `unmarked` names the addresses whose object was found only through a
    pending create: it still needs the stack's marker.
    """

    observed: dict[str, Observed] = field(default_factory=dict)
    deposed: dict[str, list[Observed]] = field(default_factory=dict)
    clouds: dict[str, str] = field(default_factory=dict)
    unmarked: set[str] = field(default_factory=set)


def placements(desired: Iterable[Primitive], state: State | None,
               places: Iterable[tuple[str, str]] = ()) -> dict[str, set[str]]:
    """cloud -> the regions to look in: those the plan file places resources in, those of the
    desired primitives, and every region state records an object or a pending operation in."""
    pairs = [*places, *((p.cloud, p.region) for p in desired)]
    if state is not None:
        pairs += [(r.cloud, r.region) for _, r in state.records()] + [(p.cloud, p.region) for p in state.pending]
    regions: dict[str, set[str]] = {}
    for cloud, region in pairs:
        regions.setdefault(cloud, set()).add(region)
    return regions


def list_keys(drivers: Mapping[str, Driver], regions: Mapping[str, set[str]]) -> list[tuple[str, str, str]]:
    """(cloud, type, region) for every type of every driver in use, wherever it may live."""
    keys = set()
    for cloud, where in regions.items():
        for name, ptype in driver_for(drivers, cloud).primitive_types().items():
            keys |= {(cloud, name, region) for region in ptype.regions(set(where))}
    return sorted(keys)


def refresh(drivers: Mapping[str, Driver], desired: Iterable[Primitive], state: State | None,
            parallelism: int = 10, places: Iterable[tuple[str, str]] = ()) -> Actual:
    """What exists now, served by each driver's discovery (which runs once per region)."""
    desired = list(desired)
    keys = list_keys(drivers, placements(desired, state, places))
    for driver in drivers.values():
        driver.begin_refresh()
    found: dict[str, list[Observed]] = {}
    actual = Actual()
    pending = [p for p in (state.pending if state else []) if p.operation == "create" and p.name]
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="refresh") as pool:
        listed = [(key[0], pool.submit(primitive_type_for(drivers, key[0], key[1]).list, key[2])) for key in keys]
        for cloud, future in listed:
            for observed in future.result():
                _add(found, observed)
                actual.clouds[observed.address] = cloud
        lookups = [(p, pool.submit(_find_unmarked, drivers, p)) for p in pending]
        unmarked: dict[str, str] = {}
        for intent, future in lookups:
            observed = future.result()
            if observed is not None and all(o.id != observed.id for o in found.get(intent.address, [])):
                _add(found, observed)
                actual.clouds[intent.address] = intent.cloud
                unmarked[intent.address] = observed.id
    _choose(found, state, actual)
    # Only a current object needs its marker; an unmarked duplicate is simply deleted.
    actual.unmarked = {a for a, ident in unmarked.items() if a in actual.observed and actual.observed[a].id == ident}
    if state is not None:
        _merge_local_properties(actual, state)
    return actual


def _add(found: dict[str, list[Observed]], observed: Observed) -> None:
    same = found.setdefault(observed.address, [])
    if all(o.id != observed.id for o in same):
        same.append(observed)


def _find_unmarked(drivers: Mapping[str, Driver], intent: PendingOperation) -> Observed | None:
    observed = primitive_type_for(drivers, intent.cloud, intent.type).find_unmarked(
        intent.region, intent.name, intent.address)
    if observed is not None:
        observed.address = intent.address
    return observed


def _choose(found: dict[str, list[Observed]], state: State | None, actual: Actual) -> None:
    """One current object per address: the recorded one, else one not deposed (a successor
    created but not yet recorded), the oldest first. The rest are deposed."""
    recorded = state.primitives if state is not None else {}
    for address, objects in found.items():
        record = recorded.get(address)
        deposed_ids = {r.id for r in (state.deposed.get(address, []) if state else [])}
        objects.sort(key=lambda o: (not (record and o.id == record.id), o.id in deposed_ids, not o.created,
                                    o.created, o.id))
        if objects[0].id in deposed_ids:
            actual.deposed[address] = objects
            continue
        actual.observed[address] = objects[0]
        if objects[1:]:
            actual.deposed[address] = objects[1:]


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
