"""The common driver interface (DESIGN §6): what every cloud implements, and the value types
the engine moves between drivers.

A `Driver` expands abstract resources (compute, bucket, ...) into `Primitive`s: real cloud
objects with properties that may hold `Ref`s to other primitives' outputs. A `PrimitiveType`
knows one kind of cloud object: how to list the stack's objects of that type in batches, and
how to create, update and delete one. The engine diffs and applies primitives generically; it
never names a cloud.

Addresses: `<resource>/<cloud>.<type>[/<key>]`, e.g. `web/aws.autoscaling_group`,
`web-lb/aws.lb_listener/80`. Implicit per-region network primitives use the resource name
`network-<region>`, e.g. `network-us-east-1/aws.vpc`.
"""

from __future__ import annotations

import abc
import enum
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Tag keys carried by every primitive that supports tags (DESIGN §4): defined in `ownership`,
# re-exported here for existing importers.
from lepton_cli.drivers.ownership import TAG_NAME, TAG_STACK  # noqa: F401


@dataclass(frozen=True)
class Ref:
    """A reference to another primitive's output, resolved when that primitive exists."""

    address: str
    attr: str = "id"

    def __str__(self) -> str:
        return f"${{{self.address}.{self.attr}}}"


@dataclass(frozen=True)
class Template:
    """A string built from literal parts and `Ref`s (a `${name.attr}` inside a string field)."""

    parts: tuple[str | Ref, ...]

    def refs(self) -> list[Ref]:
        return [p for p in self.parts if isinstance(p, Ref)]

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)


class _Marker:
    """A value that stands for something not shown: one instance per subclass, compared by `is`."""

    text = ""
    _instances: dict[type, "_Marker"] = {}

    def __new__(cls) -> "_Marker":
        if cls not in _Marker._instances:
            _Marker._instances[cls] = super().__new__(cls)
        return _Marker._instances[cls]

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


class _Unknown(_Marker):
    """A value known only after apply (an output of a primitive not yet created)."""

    text = "(known after apply)"


class _Sensitive(_Marker):
    """Stands in, in anything shown or saved, for a value built from a sensitive variable."""

    text = "(sensitive)"


UNKNOWN = _Unknown()
SENSITIVE = _Sensitive()


def leaves(value: Any) -> Iterable[Any]:
    """Every scalar inside a property value (through nested dicts, lists and tuples)."""
    if isinstance(value, Mapping):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def iter_refs(value: Any) -> Iterable[Ref]:
    """Every `Ref` inside a property value (nested dicts, lists, templates)."""
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Template):
        yield from value.refs()
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from iter_refs(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from iter_refs(v)


def resolve(value: Any, lookup: Callable[[Ref], Any]) -> Any:
    """Replace every `Ref`/`Template` in `value` using `lookup`; `UNKNOWN` propagates.

    A template containing an unknown part is itself unknown; a list or dict keeps its
    shape with the unknown element in place.
    """
    if isinstance(value, Ref):
        return lookup(value)
    if isinstance(value, Template):
        parts = [lookup(p) if isinstance(p, Ref) else p for p in value.parts]
        if any(p is UNKNOWN for p in parts):
            return UNKNOWN
        return "".join(str(p) for p in parts)
    if isinstance(value, Mapping):
        return {k: resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [resolve(v, lookup) for v in value]
    return value


@dataclass(frozen=True)
class Primitive:
    """A desired cloud object, as a driver's expansion produced it."""

    address: str  # "<resource>/<cloud>.<type>[/<key>]"
    type: str  # "aws.launch_template"; the registry key of its PrimitiveType
    cloud: str
    region: str
    resource: str  # the abstract resource it implements ("web"), or "network-<region>"
    kind: str  # abstract kind: compute | bucket | load_balancer | cdn | network
    properties: Mapping[str, Any]  # JSON-like values, possibly holding Ref/Template
    depends_on: tuple[str, ...] = ()  # addresses it needs beyond those its Refs name
    # Properties set when the object is created but owned by something else afterwards (an
    # autoscaler's desired capacity): never diffed, never updated (Terraform's ignore_changes).
    ignore_changes: frozenset[str] = frozenset()
    # Lines for people about what the driver chose (instance type, price): shown, never diffed.
    summary: tuple[str, ...] = ()

    def dependencies(self) -> set[str]:
        """Addresses this primitive must wait for: its Refs' targets and explicit ones."""
        return {r.address for r in iter_refs(self.properties)} | set(self.depends_on)


@dataclass
class Observed:
    """A cloud object as it exists now: what `list` found, or what `create`/`update` returned.

    `properties` are normalized to the shape of a desired primitive's resolved properties,
    so an unchanged object compares equal key by key. `outputs` are the attributes other
    primitives may reference (always including "id").
    """

    address: str
    type: str
    region: str
    id: str
    properties: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    # The driver's own bookkeeping (ETags, fingerprints, template versions): kept in state and
    # handed back to update/delete, but never diffed and never referenced by a plan.
    private: dict[str, Any] = field(default_factory=dict)
    # When the cloud says it was created (ISO 8601), where the API reports it: of two objects a
    # retried create left at one address, the older is kept.
    created: str = ""


@dataclass(frozen=True)
class ExpandContext:
    """What a driver's `expand` may ask of the rest of the stack.

    `ref(resource, attr)` returns the `Ref` for another resource's abstract attribute (any
    cloud): `ctx.ref("assets", "name")`. `interpolate(text)` turns a string field holding
    `${name.attr}` into a `Template` of Refs (or returns the string unchanged).
    """

    stack: str
    ref: Callable[[str, str], Ref]
    interpolate: Callable[[str], "str | Template"]


@dataclass(frozen=True)
class DriverConfig:
    """How a driver reaches its cloud: real credentials, or the sandbox's emulators.

    `endpoints` names each API's base URL when it is not the cloud's own (the sandbox): one
    per service the driver talks to, e.g. `{"aws": url}`, `{"compute": url, "storage": url}`,
    `{"arm": url, "blob": url}`. Empty means the real cloud.
    """

    stack: str
    endpoints: Mapping[str, str] = field(default_factory=dict)
    project: str | None = None  # GCP project (from the plan, else the environment)
    subscription: str | None = None  # Azure subscription (from the plan, else the environment)
    account_id: str = ""  # AWS account / GCP project / Azure subscription, when known up front

    @property
    def sandbox(self) -> bool:
        return bool(self.endpoints)

    def endpoint(self, service: str) -> str | None:
        return self.endpoints.get(service)


class ReplaceStrategy(str, enum.Enum):
    """How a replaced object makes way for its successor (Terraform's CreateThenDelete /
    DeleteThenCreate)."""

    CREATE_BEFORE_DESTROY = "create_before_destroy"
    DESTROY_BEFORE_CREATE = "destroy_before_create"


class NameScope(str, enum.Enum):
    """Where a physical name must be unique, so the engine knows whether an old and a new
    object with the same name can coexist during a create-before-destroy replacement."""

    GLOBAL = "global"  # S3 buckets, storage accounts: one name in the whole cloud
    REGION = "region"  # load balancers, target groups: one name per account and region
    PARENT = "parent"  # security groups: one name per `name_parent` (the VPC)


class PrimitiveType(abc.ABC):
    """One kind of cloud object: how to find the stack's objects and change one.

    Subclasses declare which properties force replacement (`replace_on`), which are lepton's
    own and never sent to the cloud (`local`, e.g. a bucket's `force_destroy`, kept in state),
    and optional human notes about in-place updates (`update_notes`, e.g. "rolls a new launch
    template version"). Every property not in `replace_on` updates in place.
    """

    type_name: ClassVar[str]
    # Every property a primitive of this type carries, and every output it reports: `list`
    # reads all of them back (the contract suite checks it).
    property_keys: ClassVar[frozenset[str]] = frozenset()
    output_keys: ClassVar[frozenset[str]] = frozenset({"id"})
    replace_on: ClassVar[frozenset[str]] = frozenset()
    local: ClassVar[frozenset[str]] = frozenset()
    update_notes: ClassVar[Mapping[str, str]] = {}
    # Replacement: create the successor first wherever old and new can coexist. A type whose
    # objects never can says DESTROY_BEFORE_CREATE; one whose physical name must be unique
    # names the property (`name_key`) and where it is unique, and the engine creates first
    # only when the successor's name does not collide with the old object's.
    replace_strategy: ClassVar[ReplaceStrategy] = ReplaceStrategy.CREATE_BEFORE_DESTROY
    name_key: ClassVar[str | None] = None
    name_scope: ClassVar[NameScope] = NameScope.REGION
    name_parent: ClassVar[str | None] = None  # with NameScope.PARENT: the property naming the parent

    def __init__(self, driver: "Driver"):
        self.driver = driver

    @abc.abstractmethod
    def list(self, region: str) -> list[Observed]:
        """Every object of this type in `region` carrying this stack's marker, in as few
        calls as the API allows (one paginated, filtered list; never one call per object
        unless the API has no other way, and then concurrently)."""

    @abc.abstractmethod
    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """Create the object from fully resolved `properties`; idempotent: if an object this
        stack owns already exists under the deterministic name, adopt it. If one exists that
        the stack does not own, raise `OwnershipError`."""

    @abc.abstractmethod
    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed,
               changed: set[str]) -> Observed:
        """Change `changed` properties in place; return the object as it now is."""

    @abc.abstractmethod
    def delete(self, current: Observed) -> None:
        """Delete the object; a missing object is success (idempotent)."""

    def regions(self, regions: set[str]) -> set[str]:
        """Where to look for this type's objects, for a stack placed in `regions` (a global
        service's type lists once, in its own pseudo-region)."""
        return regions

    def find_unmarked(self, region: str, name: str, address: str) -> Observed | None:
        """The object named `name` if it exists without any ownership marker: what a create
        killed between making the object and tagging it leaves. Asked only when state holds a
        pending create of `address` with that name; an object with no such intent on record is
        never adopted. Types whose create call carries the marker have nothing to find."""
        return None

    def mark(self, current: Observed, address: str) -> None:
        """Put the stack's ownership marker for `address` on an object `find_unmarked` found,
        keeping any other tags it has."""
        raise NotImplementedError(f"{self.type_name} objects are always created with their marker")

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Resolved desired properties in the canonical shape `list` reports (e.g. rules
        sorted by resolved id), so an unchanged object compares equal."""
        return properties

    def check_delete(self, current: Observed, recorded: Mapping[str, Any]) -> str | None:
        """Why this object must not be deleted now (a non-empty bucket without
        force_destroy), or None. Called for every delete when planning, and again just
        before the delete runs (a saved change set may be applied much later)."""
        return None

    def can_coexist(self, current: Observed, properties: Mapping[str, Any], region: str) -> str | None:
        """None if a successor with `properties` in `region` can exist beside `current`;
        else why not (the engine then destroys first). Decided from the declarations above."""
        if self.replace_strategy is ReplaceStrategy.DESTROY_BEFORE_CREATE:
            return f"{self.type_name} objects cannot coexist with their successor"
        if self.name_key is None or properties.get(self.name_key) != current.properties.get(self.name_key):
            return None
        name = properties.get(self.name_key)
        if self.name_scope is NameScope.REGION and region != current.region:
            return None
        if self.name_scope is NameScope.PARENT and properties.get(self.name_parent) != current.properties.get(
                self.name_parent):
            return None
        where = {NameScope.GLOBAL: "in the whole cloud", NameScope.REGION: "in a region",
                 NameScope.PARENT: f"per {self.name_parent}"}[self.name_scope]
        return f"the successor keeps the name {name!r}, and {self.type_name} names are unique {where}"


class Driver(abc.ABC):
    """One cloud: credentials, regions, sandbox endpoints, and the expansion of abstract
    resources into primitives. Heavy SDKs are imported lazily inside driver modules."""

    cloud: ClassVar[str]
    # The driver's API names -> the sandbox endpoint serving each (`lepton sandbox status`).
    sandbox_services: ClassVar[Mapping[str, str]] = {}
    # The cloud's regions -> their availability zone count, shipped with the driver so that
    # `lepton validate` checks regions without an API call; empty: regions are not checked.
    regions: ClassVar[Mapping[str, int]] = {}

    def __init__(self, config: DriverConfig):
        self.config = config
        self._types: dict[str, PrimitiveType] = {}
        self._discovery_lock = threading.Lock()
        self._discovered: dict[str, Future] = {}

    # -- discovery: one batched look per refresh and region, shared by the types' lists ----------
    def discover(self, region: str) -> Any:
        """Everything this stack owns in `region` that one or a few batched calls can find (on
        AWS: the tagging API and the autoscaling describe; on Azure an ARM query by tag; on GCP
        an aggregated or filtered list). Whatever shape suits the driver's types; the default
        finds nothing and the types list on their own."""
        return None

    def discovery(self, region: str) -> Any:
        """`discover(region)`, run once per refresh however many types (and threads) ask;
        a failure is raised to every caller."""
        with self._discovery_lock:
            future = self._discovered.get(region)
            owner = future is None
            if owner:
                future = self._discovered[region] = Future()
        if owner:
            try:
                future.set_result(self.discover(region))
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter
                future.set_exception(exc)
        return future.result()

    def begin_refresh(self) -> None:
        """Forget what discovery found: the engine calls this before every refresh."""
        with self._discovery_lock:
            self._discovered.clear()

    @abc.abstractmethod
    def primitive_type_classes(self) -> Iterable[type[PrimitiveType]]:
        """Every PrimitiveType class this driver implements."""

    def primitive_types(self) -> Mapping[str, PrimitiveType]:
        """One instance of each of the driver's types, by type name."""
        if not self._types:
            self._types = {cls.type_name: cls(self) for cls in self.primitive_type_classes()}
        return self._types

    def primitive_type(self, type_name: str) -> PrimitiveType:
        return self.primitive_types()[type_name]

    @abc.abstractmethod
    def expand(self, stack: "Stack", names: list[str], ctx: ExpandContext) -> list[Primitive]:
        """Primitives for the named resources (all placed on this cloud), including the
        implicit per-region network they need. Deterministic: the same input, the same list."""

    @abc.abstractmethod
    def attribute_ref(self, stack: "Stack", name: str, attr: str) -> Ref:
        """The primitive output behind a resource's abstract attribute (`web-lb.dns_name`)."""

    def validate(self, stack: "Stack", names: list[str]) -> list["Diagnostic"]:
        """Cloud-specific checks of the named resources (unknown instance type, a load
        balancer targeting another region...), run by `lepton validate` without calling
        any API."""
        return []


# Imported for annotations only; kept at the bottom to avoid import cycles.
from lepton_cli.errors import Diagnostic  # noqa: E402
from lepton_cli.spec.models import Stack  # noqa: E402
