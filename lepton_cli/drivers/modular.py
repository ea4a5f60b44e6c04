"""A driver whose kinds are modules of one package (`lepton_cli/drivers/<cloud>/<kind>.py`):
the dispatch GCP and Azure share, so a new cloud writes only its clients and its modules.

Each kind module (`compute`, `bucket`, `load_balancer`, `cdn`) exposes:
- `TYPES`: the PrimitiveType classes it implements;
- `expand(driver, stack, name, region, ctx) -> list[Primitive]`;
- `ATTRIBUTES`: abstract attribute -> (address suffix after "<name>/", output key), or an
  `attribute_ref(stack, name, attr) -> Ref` where it depends on the resource;
- optionally `validate(stack, name) -> list[Diagnostic]` (no API calls) and
  `needs_network(resource) -> bool`.
The support modules (`network`, `firewall`) expose `TYPES`; the driver's `expand_network` makes
the implicit per-region network. Modules are imported on first use: none imports a cloud SDK at
load time.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, ClassVar

from lepton_cli.drivers.base import Driver, DriverConfig, ExpandContext, Primitive, PrimitiveType, Ref
from lepton_cli.errors import Diagnostic
from lepton_cli.spec.models import Stack

KINDS = ("compute", "bucket", "load_balancer", "cdn")


class ModularDriver(Driver):
    package: ClassVar[str]  # "lepton_cli.drivers.gcp"
    support_modules: ClassVar[tuple[str, ...]] = ("network", "firewall")

    def __init__(self, config: DriverConfig):
        super().__init__(config)
        # Called with a description of each API call once it is answered, before the caller sees
        # the answer (tests inject faults and count calls here, through the SDKs' own hooks).
        self.observers: list[Callable[[str], None]] = []
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def cached_client(self, key: str, make: Callable[[], Any]) -> Any:
        """The SDK client `make()` builds, made once per driver (clients are thread-safe once
        made; making them is not)."""
        with self._clients_lock:
            if key not in self._clients:
                self._clients[key] = make()
            return self._clients[key]

    def observe(self, operation: str) -> None:
        for observer in list(self.observers):
            observer(operation)

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def kind_of(self, stack: Stack, name: str) -> ModuleType:
        return self.module(stack.resources[name].kind)

    def primitive_type_classes(self) -> Iterable[type[PrimitiveType]]:
        for name in (*self.support_modules, *KINDS):
            yield from self.module(name).TYPES

    def network_regions(self, stack: Stack, names: list[str]) -> list[str]:
        """The regions where one of `names` needs the implicit network."""
        return sorted({stack.region_of(n) for n in names
                       if getattr(self.kind_of(stack, n), "needs_network", lambda _r: False)(stack.resources[n])})

    def expand_network(self, stack: Stack, names: list[str]) -> list[Primitive]:
        """The implicit per-region network of the named resources."""
        raise NotImplementedError

    def expand(self, stack: Stack, names: list[str], ctx: ExpandContext) -> list[Primitive]:
        primitives: list[Primitive] = []
        for name in names:
            primitives += self.kind_of(stack, name).expand(self, stack, name, stack.region_of(name), ctx)
        return primitives + self.expand_network(stack, names)

    def attribute_ref(self, stack: Stack, name: str, attr: str) -> Ref:
        module = self.kind_of(stack, name)
        if hasattr(module, "attribute_ref"):  # attributes that depend on the resource (a tcp balancer is regional)
            return module.attribute_ref(stack, name, attr)
        suffix, output = module.ATTRIBUTES[attr]
        return Ref(f"{name}/{suffix}", output)

    def validate(self, stack: Stack, names: list[str]) -> list[Diagnostic]:
        diagnostics: list[Diagnostic] = []
        for name in names:
            check = getattr(self.kind_of(stack, name), "validate", None)
            if check is not None:
                diagnostics += check(stack, name)
            region, zones = stack.region_of(name), getattr(stack.resources[name], "zones", None) or 0
            most = max(1, self.regions.get(region, zones))  # a region without zones still runs one
            if zones > most:
                diagnostics.append(Diagnostic(
                    summary=f"region {region} has {self.regions[region]} availability zones; {name!r} asks for {zones}",
                    path=f"resources.{name}.zones", hint=f"use zones: {most} or less, or a region with more zones"))
        return diagnostics
