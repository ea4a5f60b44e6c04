"""The shared driver contract suite's view of one cloud (DESIGN §6: "every driver passes one
shared contract suite against its emulator").

A cloud joins the suite by adding `tests/drivers/<cloud>/harness.py` with a module attribute
`HARNESS`: a `DriverHarness` subclass that knows how to reach that cloud's emulator, which
plan builds a primitive of each of its types, and how to make an object *not* owned by any
stack (through the cloud's API directly). Everything else — building prerequisites, the checks,
driving the engine — is generic and lives in this package.
"""

from __future__ import annotations

import abc
import graphlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lepton_cli.drivers.base import Driver, Observed, Primitive, PrimitiveType, Ref, resolve
from lepton_cli.engine.expand import expand_stack
from lepton_cli.spec.loader import load_plan_text


@dataclass
class ForeignObject:
    """An object made through the cloud's API without lepton's markers (someone else's)."""

    id: str
    snapshot: Callable[[], Any]  # its observable state: must not change whatever lepton does
    cleanup: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class ReplaceScenario:
    """A change that replaces an object something else still uses, driven through the engine.

    `before` and `after` are `resources:` blocks of a plan. `patch`, when the plan language
    cannot reach the change directly, edits the expanded primitives of `after` (the driver's
    expansion, as a newer lepton or driver might produce it). `replaced`: the addresses the plan
    must replace; `referrers`: addresses that use a replaced object and must end up using its
    successor.
    """

    name: str
    before: str
    after: str
    replaced: tuple[str, ...]
    referrers: tuple[str, ...] = ()
    patch: Callable[[list[Primitive]], list[Primitive]] | None = None


class DriverHarness(abc.ABC):
    """One cloud's driver against its emulator, as the contract suite needs it."""

    cloud: ClassVar[str]
    # Types whose objects hold a name exclusively (in a region, a parent or the whole cloud):
    # a foreign object holding the wanted name makes `create` raise OwnershipError. For the
    # others (names are mere labels, or the object lives inside an owned parent) a foreign
    # look-alike is simply left alone.
    unique_name_types: ClassVar[frozenset[str]] = frozenset()
    # Properties the emulator cannot return for a type (the real cloud does): `list` must then
    # leave them out, and refresh keeps state's values. Every entry is a known emulator gap.
    read_gaps: ClassVar[Mapping[str, frozenset[str]]] = {}
    # Types whose create reports a lost answer as a failure (the next apply adopts the object)
    # instead of recovering itself. Every entry is a known gap.
    lost_answer_fails: ClassVar[frozenset[str]] = frozenset()

    # -- collection time (no emulator) ------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def type_names(cls) -> list[str]:
        """Every primitive type the cloud's driver implements."""

    @classmethod
    def replacement_scenarios(cls) -> list[ReplaceScenario]:
        return []

    # -- run time -----------------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def start(cls, request) -> "DriverHarness":
        """The harness for one test, its emulator started (by fixture: `request.getfixturevalue`)."""

    @abc.abstractmethod
    def driver(self, stack: str) -> Driver:
        """A fresh driver of `stack` pointed at the emulator."""

    @abc.abstractmethod
    def plan_text(self, stack: str, body: str) -> str:
        """A whole plan file: `stack`, defaults placing resources on this cloud, and `body`."""

    @abc.abstractmethod
    def body_for(self, type_name: str) -> str:
        """A `resources:` block whose expansion holds a primitive of `type_name`."""

    def address_for(self, type_name: str, primitives: list[Primitive]) -> str:
        """Which primitive of the expansion the type's checks use: by default the first."""
        return next(p.address for p in primitives if p.type == type_name)

    # -- faults, injected through the SDK's own hooks (never by patching it) --------------------------
    @abc.abstractmethod
    def after_calls(self, driver: Driver, hook: Callable[[str], None]) -> None:
        """Call `hook(operation)` after each API call `driver` makes has been answered: the cloud
        has done the work, the caller has not seen the answer yet. Raising from the hook stands
        for a kill at that moment, or a lost answer."""

    @abc.abstractmethod
    def mutating(self, operation: str) -> bool:
        """Whether an operation changes the cloud (not a read)."""

    @abc.abstractmethod
    def lost_answer(self, operation: str) -> Exception:
        """The SDK's error for a server failure (HTTP 500) of `operation`."""

    @abc.abstractmethod
    def make_foreign(self, type_name: str, built: "Built", *, same_name: bool) -> ForeignObject:
        """An object of `type_name` that no stack owns, made beside `built`'s prerequisites.
        `same_name`: holding the name (or Name tag, comment, ...) `built.properties` asks for,
        where the type has one; else any look-alike (the object lepton wants may exist too)."""


# -- building a primitive with its prerequisites, generically -----------------------------------------
@dataclass
class Built:
    """A desired primitive whose prerequisites exist: what a type's `create` is handed."""

    stack: str
    driver: Driver
    primitive: Primitive
    properties: dict[str, Any]  # resolved
    prerequisites: dict[str, Observed]  # address -> the object created for it
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def ptype(self) -> PrimitiveType:
        return self.driver.primitive_type(self.primitive.type)

    @property
    def region(self) -> str:
        return self.primitive.region

    def create(self) -> Observed:
        return self.ptype.create(self.primitive, dict(self.properties))

    def listed(self, type_name: str | None = None, region: str | None = None) -> list[Observed]:
        """A fresh `list` (a new refresh: the driver forgets what discovery found before)."""
        self.driver.begin_refresh()
        return self.driver.primitive_type(type_name or self.primitive.type).list(region or self.region)

    def at_address(self) -> list[Observed]:
        return [o for o in self.listed() if o.address == self.primitive.address]


def dependency_order(primitives: Iterable[Primitive]) -> list[Primitive]:
    by_address = {p.address: p for p in primitives}
    order = graphlib.TopologicalSorter({a: p.dependencies() & by_address.keys() for a, p in by_address.items()})
    return [by_address[a] for a in order.static_order()]


def closure(primitives: list[Primitive], address: str) -> set[str]:
    """`address` and every address it depends on, transitively."""
    by_address = {p.address: p for p in primitives}
    seen: set[str] = set()
    todo = [address]
    while todo:
        current = todo.pop()
        if current not in seen and current in by_address:
            seen.add(current)
            todo.extend(by_address[current].dependencies())
    return seen


def build(harness: DriverHarness, stack: str, type_name: str) -> Built:
    """Expand the harness's plan for `type_name` in `stack`, create the prerequisites of the
    chosen primitive (its dependency closure, in order, through the driver's own types) and
    resolve its properties. The caller must run `teardown(built)`."""
    driver = harness.driver(stack)
    loaded = load_plan_text(harness.plan_text(stack, harness.body_for(type_name)))
    primitives = expand_stack(loaded.stack, {harness.cloud: driver})
    target = harness.address_for(type_name, primitives)
    needed = closure(primitives, target) - {target}
    created: dict[str, Observed] = {}
    built = Built(stack, driver, next(p for p in primitives if p.address == target), {}, created)

    def lookup(ref: Ref) -> Any:
        return created[ref.address].outputs[ref.attr]

    try:
        for primitive in dependency_order(primitives):
            if primitive.address in needed:
                ptype = driver.primitive_type(primitive.type)
                created[primitive.address] = ptype.create(primitive, resolve(dict(primitive.properties), lookup))
                built.cleanups.append(_deleter(driver, created[primitive.address]))
        built.properties = resolve(dict(built.primitive.properties), lookup)
    except BaseException:
        teardown(built)
        raise
    built.cleanups.append(lambda: _delete_at(built))
    return built


def _deleter(driver: Driver, observed: Observed) -> Callable[[], None]:
    return lambda: driver.primitive_type(observed.type).delete(observed)


def _delete_at(built: Built) -> None:
    for observed in built.at_address():
        built.ptype.delete(observed)


def teardown(*built: Built) -> None:
    """Delete what the builds made (latest first); cleanup is best effort, never a verdict."""
    for item in built:
        for cleanup in reversed(item.cleanups):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - the test's own assertions already ran
                pass
        item.cleanups.clear()
