"""The HTTP layer of the ARM emulator: URL dispatch, api-version and bearer checks, pagination
with `nextLink`, long-running-operation headers and status URLs, over the in-memory backend
(werkzeug WSGI, served on loopback by the sandbox and the tests)."""

from __future__ import annotations

import json
import re
from typing import Any, Callable
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from lepton_cli.sandbox.azure import errors, filters, versions
from lepton_cli.sandbox.azure.backend import ArmBackend, Ctx, Operation, public
from lepton_cli.sandbox.azure.errors import ArmError
from lepton_cli.sandbox.azure.specs import SUBSCRIPTION_ACTIONS, TYPES
from lepton_cli.sandbox.azure.storage import BlobPool

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_POLLS = {"operations", "operationresults", "asyncoperations"}


class ArmApp:
    """One emulator: a fresh, empty backend per instance."""

    def __init__(self, blob: BlobPool | None = None, page_size: int = 2, polls: int = 1):
        self.backend = ArmBackend(TYPES, blob=blob, page_size=page_size, polls=polls)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        headers: dict[str, str] = {}
        try:
            status, payload, headers = self.dispatch(request)
        except ArmError as exc:
            status, payload = exc.status, exc.body()
            if status == 401:
                headers = {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                               'error="invalid_token"'}
        data = b"" if payload is None or request.method == "HEAD" else json.dumps(payload).encode()
        response = Response(data, status=status, headers=headers,
                            content_type="application/json; charset=utf-8")
        response.headers["x-ms-request-id"] = self.backend.request_id()
        return response(environ, start_response)

    # ---- routing ----------------------------------------------------------------------
    def dispatch(self, request: Request) -> tuple[int, Any, dict]:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
                           if not auth else "Authentication failed. The 'Authorization' header is not a bearer token.")
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for '{request.path}'.")
        sub, rest = parts[1], parts[2:]
        if not _GUID.fullmatch(sub):
            raise ArmError(400, "InvalidSubscriptionId", f"The provided subscription identifier '{sub}' is malformed "
                           "or invalid.")
        version = request.args.get("api-version")
        if not version:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        low = [p.lower() for p in rest]
        with self.backend.lock:
            if low and low[0] == "providers" and len(low) == 6 and low[2] == "locations" and low[4] in _POLLS:
                return self.poll(request, low[4], rest[5])
            if low == ["resources"]:
                return self.generic_list(request, sub, None, version)
            if low and low[0] == "resourcegroups":
                if len(low) == 1:
                    return self.list_groups(request, sub, version)
                if len(low) == 2:
                    return self.group(request, sub, rest[1], version)
                if len(low) == 3 and low[2] == "resources":
                    return self.generic_list(request, sub, rest[1], version)
                if len(low) >= 5 and low[2] == "providers":
                    return self.provider(request, sub, rest[1], rest[3], rest[4:], version)
            if low and low[0] == "providers" and len(low) == 3:
                return self.subscription_scope(request, sub, rest[1], rest[2], version)
        raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for '{request.path}'.")

    @staticmethod
    def check_version(version: str, allowed: frozenset[str], type_: str) -> None:
        if version not in allowed:
            raise ArmError(400, "InvalidApiVersionParameter",
                           f"The api-version '{version}' is invalid. The supported versions for resource type "
                           f"'{type_}' are '{', '.join(sorted(allowed, reverse=True))}'.")

    def spec_for(self, ns: str, types: list[str], path: str) -> Any:
        spec = TYPES.get("/".join([ns, *types]).lower())
        if spec is None:
            raise ArmError(404, "InvalidResourceType" if len(types) == 1 else "NotFound",
                           f"The resource type '{'/'.join(types)}' could not be found in the namespace '{ns}' "
                           f"for this api version ({path}).")
        return spec

    # ---- resource groups -------------------------------------------------------------
    def list_groups(self, request: Request, sub: str, version: str) -> tuple[int, Any, dict]:
        self.check_version(version, versions.RESOURCES, "resourceGroups")
        if request.method != "GET":
            raise _bad_method(request)
        match = filters.parse(request.args.get("$filter"), ("tagName", "tagValue"))
        found = [public(g) for (s, _), g in sorted(self.backend.groups.items()) if s == sub.lower() and match(g)]
        return self.page(request, found)

    def group(self, request: Request, sub: str, name: str, version: str) -> tuple[int, Any, dict]:
        self.check_version(version, versions.RESOURCES, "resourceGroups")
        backend, method = self.backend, request.method
        if method == "PUT":
            status, body = backend.put_group(sub, name, self.body(request))
            return status, body, {}
        if method == "HEAD":
            found = backend.groups.get((sub.lower(), name.lower()))
            return (204 if found else 404), None, {}
        if method == "GET":
            return 200, public(backend.group(sub, name)), {}
        if method == "PATCH":
            record = backend.group(sub, name)
            body = self.body(request)
            if "tags" in body:
                record["tags"] = dict(body["tags"] or {})
            return 200, public(record), {}
        if method == "DELETE":
            op = backend.delete_group(sub, name)
            return 202, None, self.op_headers(request, op, version, location=True, async_=False)
        raise _bad_method(request)

    # ---- provider resources ------------------------------------------------------------
    def provider(self, request: Request, sub: str, group: str, ns: str, seg: list[str], version: str):
        backend, method = self.backend, request.method
        types, names = seg[0::2], seg[1::2]
        base = f"/subscriptions/{sub}/resourceGroups/{group}/providers/{ns}"
        if len(seg) % 2 == 1:
            key = "/".join([ns, *types]).lower()
            if method == "GET" and key in TYPES:
                spec = TYPES[key]
                self.check_version(version, spec.versions, spec.type)
                backend.group(sub, group)
                if len(types) == 1:
                    found = [r for r in backend.of_type(spec.key) if r["_group"].lower() == group.lower()
                             and r["_sub"].lower() == sub.lower()]
                else:
                    parent_spec = self.spec_for(ns, types[:-1], request.path)
                    parent_ctx = Ctx(sub, group, parent_spec, base + "/" + "/".join(seg[:-1]), names)
                    parent = backend.require(parent_ctx)
                    if spec.reader:
                        return self.page(request, spec.reader(backend, parent, None))
                    found = backend.of_type(spec.key, parent["id"] + "/")
                return self.page(request, [backend.show(r) for r in sorted(found, key=lambda r: r["id"].lower())])
            if method == "POST" and len(types) >= 2:
                spec = self.spec_for(ns, types[:-1], request.path)
                verb = types[-1].lower()
                if verb not in spec.actions:
                    raise ArmError(404, "NotFound", f"The action '{types[-1]}' is not supported on '{spec.type}'.")
                self.check_version(version, spec.versions, spec.type)
                ctx = Ctx(sub, group, spec, base + "/" + "/".join(seg[:-1]), names)
                record = backend.require(ctx)
                backend.settle(record["id"])
                status, payload, op = spec.actions[verb](backend, record, self.body(request), ctx)
                headers = self.op_headers(request, op, version, location=True) if op else {}
                return status, payload, headers
            raise _bad_method(request)
        spec = self.spec_for(ns, types, request.path)
        self.check_version(version, spec.versions, spec.type)
        ctx = Ctx(sub, group, spec, base + "/" + "/".join(seg), names)
        if spec.reader:
            if method != "GET":
                raise _bad_method(request)
            parent = backend.require(Ctx(sub, group, self.spec_for(ns, types[:-1], request.path),
                                         ctx.id.rsplit("/", 2)[0], names[:-1]))
            found = spec.reader(backend, parent, names[-1])
            if found is None:
                raise errors.not_found(spec.type, "/".join(names), group)
            return 200, found, {}
        if method == "GET":
            return 200, backend.show(backend.require(ctx)), {}
        if method == "HEAD":  # resources.check_existence(_by_id)
            backend.group(sub, group)
            return (204 if backend.get(ctx.id) is not None else 404), None, {}
        if method in ("PUT", "PATCH"):
            if method == "PATCH" and not spec.patch:
                raise _bad_method(request)
            status, payload, op = backend.put(ctx, self.body(request), patch=method == "PATCH")
            if op is not None and spec.accepted:
                return 202, None, self.op_headers(request, op, version, location=True, async_=False)
            return status, payload, self.op_headers(request, op, version) if op else {}
        if method == "DELETE":
            existed, op = backend.delete(ctx)
            if op is None:
                return (200 if existed else 204), None, {}
            return 202, None, self.op_headers(request, op, version, location=True)
        raise _bad_method(request)

    def subscription_scope(self, request: Request, sub: str, ns: str, type_: str, version: str):
        key = f"{ns}/{type_}".lower()
        if request.method == "POST" and key in SUBSCRIPTION_ACTIONS:
            allowed, action = SUBSCRIPTION_ACTIONS[key]
            self.check_version(version, allowed, f"{ns}/{type_}")
            return 200, action(self.backend, self.body(request)), {}
        spec = self.spec_for(ns, [type_], request.path)
        self.check_version(version, spec.versions, spec.type)
        if request.method != "GET" or not spec.lists_in_subscription:
            raise _bad_method(request)
        found = [r for r in self.backend.of_type(spec.key) if r["_sub"].lower() == sub.lower()]
        return self.page(request, [self.backend.show(r) for r in sorted(found, key=lambda r: r["id"].lower())])

    def generic_list(self, request: Request, sub: str, group: str | None, version: str):
        self.check_version(version, versions.RESOURCES, "resources")
        if request.method != "GET":
            raise _bad_method(request)
        if group is not None:
            self.backend.group(sub, group)
        match = filters.parse(request.args.get("$filter"), ("tagName", "tagValue", "resourceType", "name"))
        found = []
        for record in sorted(self.backend.resources.values(), key=lambda r: r["id"].lower()):
            spec = TYPES[record["_type"]]
            if not spec.generic or spec.depth != 1 or record["_sub"].lower() != sub.lower():
                continue
            if group is not None and record["_group"].lower() != group.lower():
                continue
            if match(record):
                found.append({k: v for k, v in public(record).items()
                              if k in ("id", "name", "type", "location", "tags", "sku", "kind", "zones", "identity")})
        return self.page(request, found)

    # ---- long-running operations ---------------------------------------------------------
    def op_headers(self, request: Request, op: Operation, version: str, location: bool = False,
                   async_: bool = True) -> dict:
        sub = request.path.split("/")[2]
        root = f"{request.host_url}subscriptions/{sub}/providers/{op.provider}/locations/{op.location}"
        query = urlencode({"api-version": version})
        headers = {}
        if async_:
            headers["Azure-AsyncOperation"] = f"{root}/operations/{op.id}?{query}"
        if location:
            headers["Location"] = f"{root}/operationResults/{op.id}?{query}"
        return headers

    def poll(self, request: Request, kind: str, op_id: str) -> tuple[int, Any, dict]:
        if request.method != "GET":
            raise _bad_method(request)
        op = self.backend.poll(op_id)
        if kind != "operationresults":
            body = {"id": request.path, "name": op.id, "status": op.status}
            if op.error:
                body["error"] = op.error
            return 200, body, {}
        if op.status == "InProgress":
            return 202, None, {"Location": request.url}
        if op.status == "Failed":
            return 400, {"error": op.error}, {}
        if op.method in ("PUT", "PATCH"):
            record = self.backend.get(op.resource_id)
            return 200, (self.backend.show(record) if record else None), {}
        return 204, None, {}

    # ---- helpers ------------------------------------------------------------------------------
    def page(self, request: Request, items: list[dict]) -> tuple[int, Any, dict]:
        try:
            skip = int(request.args.get("$skiptoken", "0"))
            size = int(request.args.get("$top") or self.backend.page_size)
        except ValueError:
            raise ArmError(400, "InvalidParameter", "$skiptoken and $top must be integers.") from None
        if size < 1:
            raise ArmError(400, "InvalidParameter", "$top must be a positive integer.")
        body: dict[str, Any] = {"value": items[skip:skip + size]}
        if skip + size < len(items):
            query = {k: v for k, v in request.args.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(skip + size)
            body["nextLink"] = f"{request.base_url}?{urlencode(query)}"
        return 200, body, {}

    @staticmethod
    def body(request: Request) -> dict:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                           "deserialized: not valid JSON.") from None
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid: expected a JSON object.")
        return body


def _bad_method(request: Request) -> ArmError:
    return ArmError(405, "MethodNotAllowed" if request.method != "GET" else "NotFound",
                    f"The requested resource does not support http method '{request.method}'.")


def make_app(blob: BlobPool | None = None, page_size: int = 2, polls: int = 1) -> ArmApp:
    """A fresh, empty ARM emulator (a WSGI application).

    `blob`: Azurite's endpoint and the pool of accounts it knows; storage accounts take one each
    (without it, blob endpoints are placeholders). `page_size`: list pages (`nextLink` beyond).
    `polls`: how many async-operation reads answer InProgress before the operation completes."""
    return ArmApp(blob=blob, page_size=page_size, polls=polls)
