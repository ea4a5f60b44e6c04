"""The in-memory Compute Engine: resources per (project, location, collection), operations,
request ids. No HTTP here (that is app.py); rules per collection live in spec tables."""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from lepton_cli.sandbox.gcp import errors
from lepton_cli.sandbox.gcp.compute import catalog, refs
from lepton_cli.sandbox.gcp.compute.spec import Collection, RefField
from lepton_cli.sandbox.gcp.errors import GcpError
from lepton_cli.sandbox.gcp.filters import parse_filter

NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
PROJECT = re.compile(r"[a-z][-a-z0-9]{4,28}[a-z0-9]")
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
MAX_RESULTS = 500
# Fields the server owns: ignored in request bodies, kept across update (PUT).
OUTPUT_ONLY = ("kind", "id", "creationTimestamp", "selfLink", "region", "zone", "labelFingerprint")


class AsyncFailure(Exception):
    """Validation the real API only does after accepting the call: the operation fails."""

    def __init__(self, error: GcpError, target: dict | None = None):
        super().__init__(error.message)
        self.error, self.target = error, target or {}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_id() -> str:
    return str(secrets.randbits(63) | (1 << 62))


def new_fingerprint() -> str:
    return base64.b64encode(secrets.token_bytes(8)).decode()


def public(res: dict) -> dict:
    """A resource as the API shows it: a deep copy without the emulator's private `_` keys."""
    if isinstance(res, dict):
        return {k: public(v) for k, v in res.items() if not k.startswith("_")}
    if isinstance(res, list):
        return [public(v) for v in res]
    return res


def walk(obj: Any, path: str) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every value at a dotted path, ``[]`` fanning out over a list."""
    head, _, rest = path.partition(".")
    key = head.removesuffix("[]")
    if not isinstance(obj, dict) or obj.get(key) is None:
        return
    if head.endswith("[]"):
        items = obj[key] if isinstance(obj[key], list) else []
        for i, item in enumerate(items):
            if rest:
                yield from walk(item, rest)
            else:
                yield items, i
    elif rest:
        yield from walk(obj[key], rest)
    else:
        yield obj, key


def merge_patch(target: dict, patch: dict) -> dict:
    """JSON merge patch (RFC 7396), which the Compute PATCH methods follow."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def encode_token(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_token(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise errors.invalid_field("pageToken", token, "The page token is invalid.") from None


class ComputeBackend:
    """All state of one emulator instance, guarded by one lock (the server is threaded)."""

    def __init__(self, specs: dict[tuple[str, str], Collection], running_polls: int = 1):
        self.specs = specs
        self.running_polls = running_polls
        self.lock = threading.RLock()
        self.tables: dict[tuple[str, str, str], dict[str, dict]] = {}
        self.operations: dict[tuple[str, str], dict[str, dict]] = {}
        self.request_ids: dict[tuple[str, str], tuple[str, str]] = {}
        self.next_ip: dict[str, int] = {}

    # --- lookup -----------------------------------------------------------------------------
    def check_project(self, project: str) -> None:
        if not PROJECT.fullmatch(project):
            raise errors.not_found(f"projects/{project}")

    def check_loc(self, project: str, loc: str) -> None:
        kind, _, name = loc.partition("/")
        table = {"regions": catalog.REGIONS, "zones": catalog.ZONES}.get(kind)
        if table is not None and name not in table:
            raise errors.not_found(f"projects/{project}/{loc}")

    def spec(self, loc: str, coll: str) -> Collection:
        spec = self.specs.get((refs.scope_of(loc), coll))
        if spec is None:
            raise GcpError(404, "notFound", f"The requested URL /compute/v1/.../{loc}/{coll} was not found")
        return spec

    def table(self, project: str, loc: str, coll: str) -> dict[str, dict]:
        return self.tables.setdefault((project, loc, coll), {})

    def find(self, ref: refs.Ref) -> dict | None:
        return self.tables.get((ref.project, ref.loc, ref.coll), {}).get(ref.name)

    def find_link(self, link: str) -> dict | None:
        """The resource behind a full URL the emulator produced (None when gone)."""
        ref = refs.parse(link, "link", "", "global", None)
        return self.find(ref)

    def allocate_ip(self, loc: str) -> str:
        """The next external address: 34.x for global, the region's own block otherwise."""
        n = self.next_ip[loc] = self.next_ip.get(loc, 0) + 1
        prefix = "34.120" if loc == "global" else catalog.REGION_IP_PREFIX[loc.split("/")[1]]
        return f"{prefix}.{n // 250 % 250}.{n % 250 + 2}"

    def allocate_private_ip(self, subnet_link: str | None) -> str | None:
        """The next host address of a subnetwork, skipping the four Google reserves (network,
        gateway, second-to-last, broadcast); wraps around, never checks for reuse."""
        subnet = self.find_link(subnet_link) if subnet_link else None
        if subnet is None:
            return None
        n = self.next_ip[subnet_link] = self.next_ip.get(subnet_link, -1) + 1
        cidr = ipaddress.IPv4Network(subnet["ipCidrRange"])
        return str(cidr.network_address + 2 + n % (cidr.num_addresses - 4))

    fingerprint = staticmethod(new_fingerprint)

    def get(self, project: str, loc: str, coll: str, name: str) -> dict:
        res = self.table(project, loc, coll).get(name)
        if res is None:
            raise errors.not_found(refs.Ref(project, loc, coll, name).path)
        return res

    def resources(self, project: str) -> Iterator[tuple[Collection, str, dict]]:
        for (proj, loc, coll), table in list(self.tables.items()):
            spec = self.specs.get((refs.scope_of(loc), coll))
            if proj == project and spec is not None:
                for res in list(table.values()):
                    yield spec, loc, res

    # --- validation -------------------------------------------------------------------------
    def check_name(self, name: Any, field: str = "resource.name") -> None:
        if not name:
            raise errors.required(field)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise errors.invalid_field(
                field, name, "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"
            )

    def check_labels(self, labels: Any, field: str = "resource.labels") -> None:
        if labels is None:
            return
        if not isinstance(labels, dict) or len(labels) > 64:
            raise errors.invalid_field(field, "", "A resource may carry at most 64 labels.")
        for key, value in labels.items():
            if not LABEL_KEY.fullmatch(key):
                raise errors.invalid_field(
                    field, "",
                    f"Label key '{key}' violates format constraints. The key must start with a lowercase "
                    "character, can only contain lowercase letters, numeric characters, underscores and "
                    "dashes. The key can be at most 63 characters long.",
                )
            if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value):
                raise errors.invalid_field(
                    field, "",
                    f"Label value '{value}' violates format constraints. The value can only contain "
                    "lowercase letters, numeric characters, underscores and dashes. The value can be at "
                    "most 63 characters long.",
                )

    def check_required(self, spec: Collection, res: dict) -> None:
        for path in spec.required:
            value: Any = res
            for part in path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value in (None, "", [], {}):
                raise errors.required(f"resource.{path}")

    def resolve(self, project: str, loc: str, field: RefField, value: Any) -> str:
        """A reference as a full URL, once the object it names is known to exist."""
        ref = refs.parse(value, f"resource.{field.path.replace('[]', '')}", project, loc, field.bare)
        if field.bare and "/" not in str(value):
            target_scope = next(s for s, c in field.targets if c == field.bare)
            if target_scope == "global":
                ref = refs.Ref(project, "global", field.bare, ref.name)
        if (ref.scope, ref.coll) not in field.targets:
            raise errors.invalid_field(
                f"resource.{field.path.replace('[]', '')}", value,
                f"The URL does not name a {' or '.join(c for _, c in field.targets)} resource.",
            )
        if self.find(ref) is None:
            raise errors.not_found(ref.path)
        return ref.url

    def resolve_refs(self, spec: Collection, project: str, loc: str, res: dict) -> None:
        for field in spec.refs:
            for container, key in list(walk(res, field.path)):
                container[key] = self.resolve(project, loc, field, container[key])

    def users_of(self, project: str, links: set[str]) -> str | None:
        """The path of some resource that references one of `links`, if any."""
        for spec, _loc, res in self.resources(project):
            for field in spec.refs:
                for container, key in walk(res, field.path) if field.blocks_delete else ():
                    if container[key] in links:
                        return res["selfLink"].removeprefix(refs.BASE + "/")
        return None

    # --- operations -------------------------------------------------------------------------
    def mutate(self, project: str, loc: str, request_id: str | None, op_type: str,
               change: Callable[[], dict]) -> dict:
        """Runs one mutation under the lock and answers its Operation; a repeated requestId
        answers the original operation and changes nothing."""
        with self.lock:
            if request_id:
                try:
                    if uuid.UUID(request_id).int == 0:
                        raise ValueError
                except ValueError:
                    raise errors.invalid_field("requestId", request_id,
                                               "The request ID must be a valid UUID.") from None
                seen = self.request_ids.get((project, request_id))
                if seen:
                    return public(self.operations[(project, seen[0])][seen[1]])
            try:
                target = change()
                error = None
            except AsyncFailure as failure:
                target, error = failure.target, failure.error
            op = self._new_op(project, loc, op_type, target, error)
            if request_id:
                self.request_ids[(project, request_id)] = (loc, op["name"])
            return public(op)

    def _new_op(self, project: str, loc: str, op_type: str, target: dict, error: GcpError | None) -> dict:
        name = f"operation-{int(time.time() * 1000)}-{secrets.token_hex(6)}-{secrets.token_hex(4)}"
        op = {
            "kind": "compute#operation",
            "id": new_id(),
            "name": name,
            "operationType": op_type,
            "targetLink": target.get("selfLink", ""),
            "targetId": target.get("id", ""),
            "status": "RUNNING",
            "user": "sandbox@lepton-sandbox.iam.gserviceaccount.com",
            "progress": 0,
            "insertTime": now(),
            "startTime": now(),
            "selfLink": f"{refs.loc_url(project, loc)}/operations/{name}",
            "_gets": 0,
            "_error": error,
        }
        if loc != "global":
            op[refs.scope_of(loc)] = refs.loc_url(project, loc)
        self.operations.setdefault((project, loc), {})[name] = op
        return op

    def _op(self, project: str, loc: str, name: str) -> dict:
        op = self.operations.get((project, loc), {}).get(name)
        if op is None:
            raise errors.not_found(f"projects/{project}/{loc}/operations/{name}")
        return op

    def _finish(self, op: dict) -> None:
        if op["status"] == "DONE":
            return
        op.update(status="DONE", progress=100, endTime=now())
        error: GcpError | None = op["_error"]
        if error is not None:
            op["error"] = {"errors": [{"code": error.reason.upper(), "message": error.message}]}
            op["httpErrorStatusCode"] = error.code
            op["httpErrorMessage"] = {400: "BAD REQUEST", 404: "NOT FOUND", 409: "CONFLICT",
                                      412: "PRECONDITION FAILED"}.get(error.code, "ERROR")

    def get_operation(self, project: str, loc: str, name: str) -> dict:
        with self.lock:
            op = self._op(project, loc, name)
            op["_gets"] += 1
            if op["_gets"] > self.running_polls:
                self._finish(op)
            return public(op)

    def wait_operation(self, project: str, loc: str, name: str) -> dict:
        with self.lock:
            op = self._op(project, loc, name)
            self._finish(op)
            return public(op)

    def delete_operation(self, project: str, loc: str, name: str) -> None:
        with self.lock:
            self._op(project, loc, name)
            del self.operations[(project, loc)][name]

    def list_operations(self, project: str, loc: str, query: dict) -> dict:
        with self.lock:
            ops = [public(op) for op in self.operations.get((project, loc), {}).values()]
        _, page = paginate(ops, query, key=lambda op: op["name"])
        return {"kind": "compute#operationList", "id": f"projects/{project}/{loc}/operations",
                "selfLink": f"{refs.loc_url(project, loc)}/operations", **page}

    # --- generic CRUD -----------------------------------------------------------------------
    def new_resource(self, spec: Collection, project: str, loc: str, body: dict) -> dict:
        res = copy.deepcopy(spec.defaults)
        res.update({k: copy.deepcopy(v) for k, v in body.items() if k not in OUTPUT_ONLY and k != "fingerprint"})
        self.check_name(res.get("name"))
        res.update(kind=spec.kind, id=new_id(), creationTimestamp=now(),
                   selfLink=refs.Ref(project, loc, spec.coll, res["name"]).url)
        if loc != "global":
            res[refs.scope_of(loc)] = refs.loc_url(project, loc)
        if spec.fingerprint:
            res["fingerprint"] = new_fingerprint()
        if spec.labels:
            self.check_labels(res.get("labels"))
            res["labelFingerprint"] = new_fingerprint()
        if len(res.get("description") or "") > 2048:
            raise errors.invalid_field("resource.description", "...", "The description is too long.")
        return res

    def insert(self, project: str, loc: str, coll: str, body: dict, request_id: str | None) -> dict:
        spec = self.spec(loc, coll)

        def change() -> dict:
            res = self.new_resource(spec, project, loc, body)
            table = self.table(project, loc, coll)
            if res["name"] in table:
                raise errors.already_exists(refs.Ref(project, loc, coll, res["name"]).path)
            self.check_required(spec, res)
            self.resolve_refs(spec, project, loc, res)
            if spec.validate:
                spec.validate(self, project, loc, res)
            if spec.on_insert:
                spec.on_insert(self, project, loc, res)
            table[res["name"]] = res
            return res

        return self.mutate(project, loc, request_id, "insert", change)

    def modify(self, project: str, loc: str, coll: str, name: str, body: dict,
               request_id: str | None, replace: bool) -> dict:
        """PATCH (merge) or PUT (replace); a stale `fingerprint`, when sent, is 412."""
        spec = self.spec(loc, coll)

        def change() -> dict:
            old = self.get(project, loc, coll, name)
            if spec.fingerprint and body.get("fingerprint") not in (None, "", old.get("fingerprint")):
                raise errors.fingerprint_mismatch()
            if body.get("name") not in (None, name):
                raise errors.invalid_field("resource.name", body.get("name"),
                                           "The name of a resource cannot be changed.")
            incoming = {k: v for k, v in body.items() if k not in OUTPUT_ONLY and k != "fingerprint"}
            if replace:
                new = copy.deepcopy(spec.defaults)
                new.update(copy.deepcopy(incoming))
                new.update({k: old[k] for k in (*OUTPUT_ONLY, "name") if k in old})
                new.update({k: v for k, v in old.items() if k.startswith("_")})
            else:
                new = merge_patch(old, incoming)
            new["name"] = name
            if spec.labels:
                self.check_labels(new.get("labels"))
            self.check_required(spec, new)
            self.resolve_refs(spec, project, loc, new)
            if spec.validate:
                spec.validate(self, project, loc, new)
            if spec.on_update:
                spec.on_update(self, project, loc, old, new)
            if spec.fingerprint:
                new["fingerprint"] = new_fingerprint()
            self.table(project, loc, coll)[name] = new
            return new

        return self.mutate(project, loc, request_id, "update" if replace else "patch", change)

    def delete(self, project: str, loc: str, coll: str, name: str, request_id: str | None) -> dict:
        spec = self.spec(loc, coll)

        def change() -> dict:
            res = self.get(project, loc, coll, name)
            links = {res["selfLink"], *(spec.users(self, project, loc, res) if spec.users else ())}
            user = self.users_of(project, links)
            if user:
                raise errors.in_use(spec.noun, res["selfLink"].removeprefix(refs.BASE + "/"), user)
            if spec.on_delete:
                spec.on_delete(self, project, loc, res)
            del self.table(project, loc, coll)[name]
            return res

        return self.mutate(project, loc, request_id, "delete", change)

    def action(self, project: str, loc: str, coll: str, name: str, method: str, body: dict,
               query: dict, request_id: str | None) -> dict:
        """A custom method (setLabels, resize, ...): the handler changes the resource in place
        and answers the operation type, or a plain response dict (listManagedInstances)."""
        spec = self.spec(loc, coll)
        handler = spec.actions.get(method)
        if handler is None:
            raise GcpError(404, "notFound", f"Method '{method}' is not found for {coll}")
        if getattr(handler, "read_only", False):
            with self.lock:
                return handler(self, project, loc, self.get(project, loc, coll, name), body, query)
        op_type = getattr(handler, "op_type", method)

        def change() -> dict:
            res = self.get(project, loc, coll, name)
            handler(self, project, loc, res, body, query)
            return res

        return self.mutate(project, loc, request_id, op_type, change)

    def list(self, project: str, loc: str, coll: str, query: dict) -> dict:
        spec = self.spec(loc, coll)
        with self.lock:
            items = [public(r) for r in self.table(project, loc, coll).values()]
        _, page = paginate(items, query, key=lambda r: r["name"], order=query.get("orderBy"))
        return {"kind": spec.list_kind, "id": f"projects/{project}/{loc}/{coll}",
                "selfLink": f"{refs.loc_url(project, loc)}/{coll}", **page}

    def aggregated(self, project: str, coll: str, query: dict, item_key: str) -> dict:
        """`aggregated/{coll}`: every scope's items, keyed `regions/R` / `global`."""
        specs = [s for (scope, c), s in self.specs.items() if c == coll and scope != "zone"]
        if not specs:
            raise errors.not_found(f"projects/{project}/aggregated/{coll}")
        with self.lock:
            rows = [(loc, public(r)) for (proj, loc, c), table in self.tables.items()
                    if proj == project and c == coll for r in table.values()]
        chunk, page = paginate(rows, query, key=lambda row: [row[0], row[1]["name"]], value=lambda row: row[1])
        # Every scope appears on every page; one without items on this page carries a warning.
        scopes = [*(["global"] if any(s.scope == "global" for s in specs) else []),
                  *(f"regions/{r}" for r in catalog.REGIONS)]
        grouped: dict[str, dict] = {scope: {} for scope in scopes}
        for loc, res in chunk:
            grouped.setdefault(loc, {}).setdefault(item_key, []).append(res)
        for scope, entry in grouped.items():
            if not entry:
                entry["warning"] = {"code": "NO_RESULTS_ON_PAGE",
                                    "message": f"There are no results for scope '{scope}' on this page.",
                                    "data": [{"key": "scope", "value": scope}]}
        page.pop("items", None)
        return {"kind": specs[0].aggregated_kind, "id": f"projects/{project}/aggregated/{coll}",
                "selfLink": f"{refs.BASE}/projects/{project}/aggregated/{coll}", "items": grouped, **page}


def paginate(items: list, query: dict, key: Callable, order: str | None = None,
             value: Callable | None = None) -> tuple[list, dict]:
    """Filter, order and cut one page: `maxResults` (default and max 500), `pageToken`."""
    value = value or (lambda item: item)
    predicate = parse_filter(query.get("filter"))
    try:
        max_results = int(query.get("maxResults", MAX_RESULTS))
    except ValueError:
        raise errors.invalid_field("maxResults", query.get("maxResults"), "Must be an integer.") from None
    if not 0 <= max_results <= MAX_RESULTS:
        raise errors.invalid_field("maxResults", max_results, f"Must be less than or equal to {MAX_RESULTS}")
    if order not in (None, "", "name", "creationTimestamp desc"):
        raise errors.invalid_field("orderBy", order, "Only 'name' and 'creationTimestamp desc' are supported.")
    rows = sorted((i for i in items if predicate(value(i))), key=key)
    if order == "creationTimestamp desc":
        rows.sort(key=lambda i: value(i).get("creationTimestamp", ""), reverse=True)
    start = 0
    if query.get("pageToken"):
        start = decode_token(query["pageToken"])
        if not isinstance(start, int) or start < 0:
            raise errors.invalid_field("pageToken", query["pageToken"], "The page token is invalid.")
    max_results = max_results or MAX_RESULTS
    chunk = rows[start : start + max_results]
    page: dict = {"items": [value(i) for i in chunk]} if chunk else {}
    if start + max_results < len(rows):
        page["nextPageToken"] = encode_token(start + max_results)
    return chunk, page
