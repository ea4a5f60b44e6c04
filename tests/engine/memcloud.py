"""An in-memory cloud for engine tests: a real Driver with a few primitive types whose objects
live in a dict, carry ownership tags, and can be told to fail or to take time. It counts calls
and the most operations ever in flight at once (never wall-clock time)."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.drivers.base import (TAG_NAME, TAG_STACK, Driver, DriverConfig, ExpandContext, NameScope,
                                     Observed, Primitive, PrimitiveType, Ref)
from lepton_cli.errors import CloudError


@dataclass
class Cloud:
    """The emulated cloud's contents, shared by every driver instance pointed at it."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {type, region, tags, props}
    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, address)
    fail: set[tuple[str, str]] = field(default_factory=set)  # (operation, address) to refuse
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    on_operation: Any = None  # callable(operation, address) run inside each mutating call

    def owned(self, type_name: str, region: str, stack: str) -> list[tuple[str, dict[str, Any]]]:
        return [(i, o) for i, o in self.objects.items()
                if o["type"] == type_name and o["region"] == region and o["tags"].get(TAG_STACK) == stack]

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)


class MemType(PrimitiveType):
    outputs: tuple[str, ...] = ("id", "name")

    @property
    def cloud(self) -> Cloud:
        return self.driver.cloud_state

    def _operation(self, operation: str, address: str):
        cloud = self.cloud
        with cloud.lock:
            cloud.calls.append((operation, address))
            cloud.in_flight += 1
            cloud.max_in_flight = max(cloud.max_in_flight, cloud.in_flight)
        try:
            if cloud.delay:
                time.sleep(cloud.delay)
            if cloud.on_operation:
                cloud.on_operation(operation, address)
            if (operation, address) in cloud.fail:
                raise CloudError(f"the cloud refused to {operation} {address}")
        finally:
            with cloud.lock:
                cloud.in_flight -= 1

    def _observed(self, ident: str, obj: dict[str, Any]) -> Observed:
        props = {k: v for k, v in obj["props"].items() if k not in self.local}
        return Observed(obj["tags"][TAG_NAME], self.type_name, obj["region"], ident, props,
                        {"id": ident, "name": obj["props"].get("name", ident)})

    def list(self, region: str) -> list[Observed]:
        with self.cloud.lock:
            self.cloud.calls.append(("list", self.type_name))
            found = self.cloud.owned(self.type_name, region, self.driver.config.stack)
        return [self._observed(i, o) for i, o in found]

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        self._operation("create", primitive.address)
        ident = f"{self.type_name.split('.')[1]}-{next(self.cloud.ids)}"
        with self.cloud.lock:
            self.cloud.objects[ident] = {
                "type": self.type_name, "region": primitive.region, "props": dict(properties),
                "tags": {TAG_STACK: self.driver.config.stack, TAG_NAME: primitive.address}}
            return self._observed(ident, self.cloud.objects[ident])

    def update(self, primitive, properties, current, changed) -> Observed:
        self._operation("update", primitive.address)
        with self.cloud.lock:
            obj = self.cloud.objects[current.id]
            obj["props"].update({k: properties[k] for k in changed})
            return self._observed(current.id, obj)

    def delete(self, current: Observed) -> None:
        self._operation("delete", current.address)
        with self.cloud.lock:
            # As real clouds do: an object another one still uses cannot be deleted.
            users = sorted(o["tags"][TAG_NAME] for i, o in self.cloud.objects.items()
                           if i != current.id and _mentions(o["props"], current.id))
            if users:
                raise CloudError(f"ResourceInUse: {current.id} is in use by {', '.join(users)}")
            self.cloud.objects.pop(current.id, None)


def _mentions(value: Any, ident: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, ident) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, ident) for v in value)
    return value == ident


class NetworkType(MemType):
    type_name = "mem.network"
    replace_on = frozenset({"cidr"})


class GroupType(MemType):
    type_name = "mem.group"
    replace_on = frozenset({"machine"})
    update_notes = {"count": "changes desired capacity"}


class BucketType(MemType):
    """Bucket names are global, as on S3: a replace that keeps the name must destroy first."""

    type_name = "mem.bucket"
    local = frozenset({"force_destroy"})
    name_key = "name"
    name_scope = NameScope.GLOBAL

    def check_delete(self, current, recorded):
        with self.cloud.lock:
            obj = self.cloud.objects.get(current.id, {})
        if obj.get("props", {}).get("objects") and not recorded.get("force_destroy"):
            return f"bucket {current.id} is not empty"
        return None


class BalancerType(MemType):
    type_name = "mem.balancer"


class MemDriver(Driver):
    cloud = "aws"  # stands in for a cloud name in plan files; the engine never looks

    def __init__(self, config: DriverConfig, cloud_state: Cloud):
        super().__init__(config)
        self.cloud_state = cloud_state

    def primitive_type_classes(self):
        return [NetworkType, GroupType, BucketType, BalancerType]

    def expand(self, stack, names, ctx: ExpandContext) -> list[Primitive]:
        prims: list[Primitive] = []
        regions = set()
        for name in names:
            resource = stack.resources[name]
            region = stack.region_of(name)

            def prim(type_, props):
                return Primitive(f"{name}/{type_}", type_, "aws", region, name, resource.kind, props)

            if resource.kind == "compute":
                regions.add(region)
                prims.append(prim("mem.group", {
                    "name": f"{stack.stack}-{name}", "machine": resource.instance_type or "small",
                    "count": resource.desired_count, "network": Ref(f"network-{region}/mem.network", "id"),
                    "user_data": ctx.interpolate(resource.user_data or "")}))
            elif resource.kind == "bucket":
                prims.append(prim("mem.bucket", {"name": f"{stack.stack}-{name}", "versioning": resource.versioning,
                                                 "force_destroy": resource.force_destroy}))
            elif resource.kind == "load_balancer":
                prims.append(prim("mem.balancer", {"name": f"{stack.stack}-{name}",
                                                   "group": ctx.ref(resource.target, "id")}))
        for region in sorted(regions):
            prims.append(Primitive(f"network-{region}/mem.network", "mem.network", "aws", region, f"network-{region}",
                                   "network", {"cidr": "10.0.0.0/16"}))
        return prims

    def attribute_ref(self, stack, name, attr) -> Ref:
        type_ = {"compute": "mem.group", "bucket": "mem.bucket", "load_balancer": "mem.balancer"}[stack.resources[name].kind]
        return Ref(f"{name}/{type_}", "name" if attr in ("name", "dns_name", "url") else "id")
