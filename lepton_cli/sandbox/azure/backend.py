"""The in-memory ARM backend: resource groups, resources by id (case-insensitive, case kept),
long-running operations, and the generic PUT/PATCH/GET/DELETE/list every type shares."""

from __future__ import annotations

import copy
import itertools
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from lepton_cli.sandbox.azure import errors, regions
from lepton_cli.sandbox.azure.errors import ArmError
from lepton_cli.sandbox.azure.spec import ResourceType

GROUP_TYPE = "Microsoft.Resources/resourceGroups"
# ARM's resource-group rule: 1-90 of alphanumerics, underscore, parentheses, hyphen, period
# (not ending in a period), Unicode letters allowed.
_GROUP_CHARS = set("_-.()")


def check_group_name(name: str) -> None:
    if not (1 <= len(name) <= 90) or name.endswith(".") or not all(c.isalnum() or c in _GROUP_CHARS for c in name):
        raise errors.invalid(f"Resource group name '{name}' is invalid. The name can be up to 90 characters long, "
                             "may contain alphanumerics, underscores, parentheses, hyphens and periods, and must "
                             "not end in a period.", "InvalidResourceGroupName")


def normalise_location(location: str) -> str:
    return location.replace(" ", "").lower()


def new_guid() -> str:
    return str(uuid.uuid4())


@dataclass
class Operation:
    """One long-running operation: InProgress for `polls` status reads, then done (`finish`)."""

    id: str
    provider: str
    location: str
    method: str
    resource_id: str
    finish: Callable[[], None]
    polls: int = 1
    status: str = "InProgress"
    error: dict | None = None


@dataclass
class Ctx:
    """Where a request points: subscription, group, type spec, and the id segments."""

    sub: str
    group: str | None
    spec: ResourceType | None
    id: str  # the resource id as the caller spelled it
    names: list[str] = field(default_factory=list)  # names along the id (parent first)


def public(record: Mapping[str, Any]) -> dict:
    """The record as served: private keys (`_...`) removed, deep-copied."""
    return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}


def merge(old: Any, patch: Any) -> Any:
    """JSON merge-patch (RFC 7386), as ARM's PATCH applies it: objects merge, null removes."""
    if not isinstance(patch, dict) or not isinstance(old, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(old)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(out.get(k), v)
    return out


class ArmBackend:
    def __init__(self, types: Mapping[str, ResourceType], blob: Any = None, page_size: int = 2, polls: int = 1):
        self.types = dict(types)
        self.blob = blob
        self.page_size = page_size
        self.polls = polls
        self.lock = threading.RLock()
        self.groups: dict[tuple[str, str], dict] = {}
        self.resources: dict[str, dict] = {}  # lower-case id -> record
        self.ops: dict[str, Operation] = {}
        self.counter = itertools.count(1)
        self.state: dict[str, Any] = {}  # per-provider extras (pool assignments, IP counters ...)

    def request_id(self) -> str:
        return new_guid()

    # ---- resource groups -------------------------------------------------------------
    def group(self, sub: str, name: str) -> dict:
        found = self.groups.get((sub.lower(), name.lower()))
        if found is None:
            raise errors.group_not_found(name)
        return found

    def put_group(self, sub: str, name: str, body: dict) -> tuple[int, dict]:
        check_group_name(name)
        if not body.get("location"):
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        key = (sub.lower(), name.lower())
        old = self.groups.get(key)
        if old is not None and old["properties"]["provisioningState"] == "Deleting":
            raise ArmError(409, "ResourceGroupBeingDeleted",
                           f"The resource group '{name}' is in deprovisioning state and cannot perform this operation.")
        location = normalise_location(body["location"])
        regions.check_location(location, GROUP_TYPE)
        if old is not None and old["location"] != location:
            raise ArmError(409, "InvalidResourceGroupLocation",
                           f"Invalid resource group location '{location}'. The Resource group already exists in "
                           f"location '{old['location']}'.")
        record = {"id": old["id"] if old else f"/subscriptions/{sub}/resourceGroups/{name}",
                  "name": old["name"] if old else name, "type": GROUP_TYPE, "location": location,
                  "tags": dict(body.get("tags") or {}), "properties": {"provisioningState": "Succeeded"}}
        if body.get("managedBy"):
            record["managedBy"] = body["managedBy"]
        self.groups[key] = record
        return (200 if old else 201), public(record)

    def delete_group(self, sub: str, name: str) -> Operation:
        """The group and everything in it, once the operation completes (a second DELETE
        while it runs answers with the same operation)."""
        record = self.group(sub, name)
        prefix = record["id"].lower() + "/"
        for op in list(self.ops.values()):
            if op.status == "InProgress" and op.resource_id.lower().startswith(prefix):
                self.complete(op)
            if op.status == "InProgress" and op.resource_id == record["id"]:
                return op
        record["properties"]["provisioningState"] = "Deleting"

        def finish() -> None:
            # children first, so in-use hooks see their users gone
            for key in sorted((k for k in self.resources if k.startswith(prefix)), key=lambda k: -k.count("/")):
                self.drop(key)
            self.groups.pop((sub.lower(), name.lower()), None)

        return self.start_op("Microsoft.Resources", record["location"], "DELETE", record["id"], finish)

    # ---- operations ----------------------------------------------------------------
    def start_op(self, provider: str, location: str, method: str, resource_id: str,
                 finish: Callable[[], None]) -> Operation:
        op = Operation(new_guid(), provider, location or "global", method, resource_id, finish, polls=self.polls)
        self.ops[op.id] = op
        return op

    def complete(self, op: Operation) -> None:
        if op.status == "InProgress":
            op.status = "Succeeded"
            try:
                op.finish()
            except ArmError as exc:
                op.status, op.error = "Failed", exc.body()["error"]

    def poll(self, op_id: str) -> Operation:
        op = self.ops.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
        if op.status == "InProgress":
            if op.polls > 0:
                op.polls -= 1
            else:
                self.complete(op)
        return op

    def settle(self, resource_id: str) -> None:
        """Finish what is still running on this resource before a new mutation on it."""
        key = resource_id.lower()
        for op in list(self.ops.values()):
            if op.status == "InProgress" and op.resource_id.lower() == key:
                self.complete(op)

    # ---- resources ------------------------------------------------------------------
    def get(self, resource_id: str) -> dict | None:
        return self.resources.get(resource_id.lower())

    def require(self, ctx: Ctx) -> dict:
        self.group(ctx.sub, ctx.group)
        self.check_parent(ctx)
        record = self.get(ctx.id)
        if record is None:
            raise errors.not_found(ctx.spec.type, "/".join(ctx.names), ctx.group)
        return record

    def check_parent(self, ctx: Ctx) -> dict | None:
        if ctx.spec.depth < 2:
            return None
        parent_id = ctx.id.rsplit("/", 2)[0]
        parent = self.get(parent_id)
        if parent is None:
            raise errors.parent_not_found("/".join(ctx.names[:-1]))
        return parent

    def of_type(self, type_key: str, prefix: str = "") -> list[dict]:
        prefix = prefix.lower()
        return [r for k, r in self.resources.items() if r["_type"] == type_key and k.startswith(prefix)]

    def put(self, ctx: Ctx, body: dict, patch: bool = False) -> tuple[int, dict, Operation | None]:
        spec = ctx.spec
        self.group(ctx.sub, ctx.group)
        parent = self.check_parent(ctx)
        name = ctx.names[-1]
        if spec.singleton and name.lower() != spec.singleton:
            raise errors.invalid(f"The resource name '{name}' is invalid: only '{spec.singleton}' is supported.",
                                 "InvalidResourceName")
        if spec.name_rule and (message := spec.name_rule.check(name)):
            raise ArmError(400, spec.name_rule.code, message.format(name=name))
        self.settle(ctx.id)
        old = self.get(ctx.id)
        if patch:
            if old is None:
                raise errors.not_found(spec.type, "/".join(ctx.names), ctx.group)
            body = merge({k: v for k, v in public(old).items() if k not in ("id", "name", "type", "etag")}, body)
        record = self.build(ctx, body, old, parent)
        if spec.prepare:
            spec.prepare(self, record, old)
        created = old is None
        if spec.etag:
            record["etag"] = f'W/"{new_guid()}"'
        lro = (spec.lro if not patch else spec.patch == "lro") and not (spec.accepted and old is not None)
        props = record.setdefault("properties", {})
        if lro or spec.lro:
            props["provisioningState"] = ("Creating" if created else "Updating") if lro else "Succeeded"
        self.store(record)
        if spec.after_put:
            spec.after_put(self, record, old)
        op = None
        if lro:
            def finish(rid: str = record["id"]) -> None:
                """Done: the resource, and the inline children written with it (subnets)."""
                prefix = rid.lower() + "/"
                for key, current in self.resources.items():
                    props = current.get("properties") or {}
                    if key == rid.lower() or (key.startswith(prefix) and self.types[current["_type"]].inline
                                              and props.get("provisioningState") in ("Creating", "Updating")):
                        current.setdefault("properties", {})["provisioningState"] = "Succeeded"
            op = self.start_op(spec.provider, record.get("location") or "global", "PATCH" if patch else "PUT",
                               record["id"], finish)
        return (spec.create_status if created and not patch else 200), self.show(record), op

    def build(self, ctx: Ctx, body: dict, old: dict | None, parent: dict | None) -> dict:
        spec = ctx.spec
        if not isinstance(body.get("properties", {}), dict):
            raise errors.invalid("The request content was invalid: 'properties' must be an object.",
                                 "InvalidRequestContent")
        record: dict[str, Any] = {"id": old["id"] if old else ctx.id, "name": old["name"] if old else ctx.names[-1],
                                  "type": spec.type}
        if spec.location == "required":
            if not body.get("location"):
                raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
            location = normalise_location(body["location"])
            if spec.regional:
                regions.check_location(location, spec.type)
                regions.check_zones(location, body.get("zones"), spec.type)
            if old is not None and normalise_location(old.get("location") or "") != location:
                raise ArmError(400, "InvalidResourceLocation",
                               f"The resource '{record['name']}' already exists in location '{old['location']}' in "
                               f"resource group '{ctx.group}'. A resource with the same name cannot be created in "
                               f"location '{location}'. Please select a new resource name.")
            record["location"] = location
        if spec.location != "none" and spec.depth == 1:
            record["tags"] = dict(body.get("tags") or {})
        for key in ("sku", "zones", "kind", "identity", "plan"):
            if body.get(key) is not None:
                record[key] = copy.deepcopy(body[key])
        record["properties"] = copy.deepcopy(body.get("properties") or {})
        record["properties"].pop("provisioningState", None)
        record["_type"], record["_sub"], record["_group"] = spec.key, ctx.sub, ctx.group
        record["_parent"] = parent["id"] if parent else None
        if old is not None:
            for k, v in old.items():
                if k.startswith("_") and k not in record:
                    record[k] = v
        return record

    def store(self, record: dict) -> None:
        spec = self.types[record["_type"]]
        self.resources[record["id"].lower()] = record
        if spec.inline:
            self.sync_inline(record["_parent"], spec)

    def sync_inline(self, parent_id: str, spec: ResourceType) -> None:
        """Inline children (subnets) are served inside their parent's properties too."""
        parent = self.get(parent_id)
        if parent is not None:
            parent.setdefault("properties", {})[spec.inline] = [
                self.show(r, inline=True) for r in self.of_type(spec.key, parent["id"] + "/")]

    def show(self, record: dict, inline: bool = False) -> dict:
        spec = self.types[record["_type"]]
        out = spec.public(self, record) if spec.public else public(record)
        if inline:
            out.pop("location", None)
        return out

    def delete(self, ctx: Ctx) -> tuple[bool, Operation | None]:
        """DELETE: refused while in use; otherwise 'Deleting' until the operation completes.
        Answers whether it existed, and the operation (None: done already)."""
        self.group(ctx.sub, ctx.group)
        self.check_parent(ctx)
        self.settle(ctx.id)
        record = self.get(ctx.id)
        if record is None:
            return False, None
        spec = ctx.spec
        if spec.check_delete:
            spec.check_delete(self, record)
        if not spec.deletes_async:
            self.remove(record["id"].lower())
            return True, None
        record.setdefault("properties", {})["provisioningState"] = "Deleting"

        def finish(key: str = record["id"].lower()) -> None:
            self.remove(key)

        return True, self.start_op(spec.provider, record.get("location") or "global", "DELETE", record["id"], finish)

    def remove(self, key: str) -> None:
        """A resource and its children (deepest first)."""
        for child in sorted((k for k in self.resources if k.startswith(key + "/")), key=lambda k: -k.count("/")):
            self.drop(child)
        self.drop(key)

    def drop(self, key: str) -> None:
        record = self.resources.pop(key, None)
        if record is None:
            return
        spec = self.types[record["_type"]]
        if spec.inline:
            self.sync_inline(record["_parent"], spec)
        if spec.on_deleted:
            spec.on_deleted(self, record)

