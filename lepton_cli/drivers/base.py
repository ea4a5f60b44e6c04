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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

# Tag keys carried by every primitive that supports tags (DESIGN §4).
TAG_STACK = "lepton-stack"
TAG_NAME = "lepton-name"


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


class _Unknown:
    """A value known only after apply (an output of a primitive not yet created)."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    __str__ = __repr__


UNKNOWN = _Unknown()


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
    """How a driver reaches its cloud: real credentials, or the sandbox's endpoints."""

    stack: str
    sandbox_endpoint: str | None = None  # base URL of the local emulator, when in the sandbox
    project: str | None = None  # GCP project
    subscription: str | None = None  # Azure subscription
    account_key: str = ""  # account / project / subscription id, for globally unique names


class PrimitiveType(abc.ABC):
    """One kind of cloud object: how to find the stack's objects and change one.

    Subclasses declare which properties force replacement (`replace_on`), which are lepton's
    own and never sent to the cloud (`local`, e.g. a bucket's `force_destroy`, kept in state),
    and optional human notes about in-place updates (`update_notes`, e.g. "rolls a new launch
    template version"). Every property not in `replace_on` updates in place.
    """

    type_name: ClassVar[str]
    replace_on: ClassVar[frozenset[str]] = frozenset()
    local: ClassVar[frozenset[str]] = frozenset()
    update_notes: ClassVar[Mapping[str, str]] = {}

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

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Resolved desired properties in the canonical shape `list` reports (e.g. rules
        sorted by resolved id), so an unchanged object compares equal."""
        return properties

    def check_delete(self, current: Observed, recorded: Mapping[str, Any]) -> str | None:
        """Why this object must not be deleted now (a non-empty bucket without
        force_destroy), or None. Called for every delete before any delete runs."""
        return None


class Driver(abc.ABC):
    """One cloud: credentials, regions, sandbox endpoints, and the expansion of abstract
    resources into primitives. Heavy SDKs are imported lazily inside driver modules."""

    cloud: ClassVar[str]

    def __init__(self, config: DriverConfig):
        self.config = config
        self._types: dict[str, PrimitiveType] = {}

    @abc.abstractmethod
    def primitive_type_classes(self) -> Iterable[type[PrimitiveType]]:
        """Every PrimitiveType class this driver implements."""

    def primitive_type(self, type_name: str) -> PrimitiveType:
        if not self._types:
            self._types = {cls.type_name: cls(self) for cls in self.primitive_type_classes()}
        return self._types[type_name]

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
