"""The HTTP layer of the Compute Engine emulator: URL dispatch and JSON in/out over the
in-memory backend (werkzeug WSGI, served on loopback by the sandbox and the tests)."""

from __future__ import annotations

import json
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from lepton_cli.sandbox.gcp import errors
from lepton_cli.sandbox.gcp.compute import groups, reads
from lepton_cli.sandbox.gcp.compute.backend import ComputeBackend, public
from lepton_cli.sandbox.gcp.compute.specs import AGGREGATED_KEYS, SPECS
from lepton_cli.sandbox.gcp.errors import GcpError

_PREFIX = ("compute", "v1", "projects")
# Custom methods the real API serves without `global/` in the path.
_UNSCOPED = {"targetHttpProxies", "targetHttpsProxies"}


class ComputeApp:
    """One emulator: a fresh, empty backend per instance."""

    def __init__(self, running_polls: int = 1):
        self.backend = ComputeBackend(SPECS, running_polls=running_polls)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        try:
            status, payload = self.dispatch(request)
        except GcpError as exc:
            status, payload = exc.code, exc.body()
        except HTTPException as exc:
            status = exc.code or 400
            payload = errors.GcpError(status, "invalid", exc.description or "Bad request").body()
        response = Response(json.dumps(payload), status=status, content_type="application/json; charset=UTF-8")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> tuple[int, dict]:
        parts = [p for p in request.path.split("/") if p]
        if tuple(parts[:3]) != _PREFIX or len(parts) < 5:
            raise GcpError(404, "notFound", f"The requested URL {request.path} was not found on this server.")
        project, rest = parts[3], parts[4:]
        backend = self.backend
        backend.check_project(project)
        query = {k: v for k, v in request.args.items()}
        method = request.method
        if rest[0] in ("regions", "zones") and len(rest) <= 2:
            return 200, reads.regions_or_zones(project, rest, query, method)
        if rest[0] == "aggregated" and len(rest) == 2 and method == "GET":
            if rest[1] not in AGGREGATED_KEYS:
                raise errors.not_found(f"projects/{project}/aggregated/{rest[1]}")
            return 200, backend.aggregated(project, rest[1], query, AGGREGATED_KEYS[rest[1]])
        if rest[0] == "global":
            loc, tail = "global", rest[1:]
        elif rest[0] in ("regions", "zones"):
            loc, tail = f"{rest[0]}/{rest[1]}", rest[2:]
            backend.check_loc(project, loc)
        elif rest[0] in _UNSCOPED and len(rest) == 3:
            loc, tail = "global", rest
        else:
            raise GcpError(404, "notFound", f"The requested URL {request.path} was not found on this server.")
        if not tail:
            raise errors.not_found(f"projects/{project}/{loc}")
        coll, name, verb = tail[0], (tail[1] if len(tail) > 1 else None), (tail[2] if len(tail) > 2 else None)
        if len(tail) > 3 and not (coll == "images" and name == "family"):
            raise GcpError(404, "notFound", f"The requested URL {request.path} was not found on this server.")
        if coll == "operations":
            return 200, self.operations(project, loc, name, verb, method, query)
        if coll in reads.READ_ONLY:
            return 200, reads.read(project, loc, tail, query, method)
        if coll == "instances":
            return 200, groups.read_instances(backend, project, loc, tail, query, method)
        body = self.body(request)
        request_id = query.get("requestId")
        spec = backend.spec(loc, coll)
        if name is None and spec.name_in_query and method in ("PATCH", "PUT"):
            name = query.get(spec.name_in_query)
            if not name:
                raise errors.required(spec.name_in_query)
        if name is None:
            if method == "GET":
                return 200, backend.list(project, loc, coll, query)
            if method == "POST" and "insert" in spec.methods:
                return 200, backend.insert(project, loc, coll, body, request_id)
        elif verb is None:
            if method == "GET":
                with backend.lock:
                    return 200, public(backend.get(project, loc, coll, name))
            if method == "DELETE" and "delete" in spec.methods:
                return 200, backend.delete(project, loc, coll, name, request_id)
            if method in ("PATCH", "PUT") and ({"PATCH": "patch", "PUT": "update"}[method] in spec.methods):
                return 200, backend.modify(project, loc, coll, name, body, request_id, replace=method == "PUT")
        elif method == "POST":
            return 200, backend.action(project, loc, coll, name, verb, body, query, request_id)
        raise errors.bad_method(method, request.path)

    def operations(self, project: str, loc: str, name: str | None, verb: str | None,
                   method: str, query: dict) -> dict:
        backend = self.backend
        if name is None and method == "GET":
            return backend.list_operations(project, loc, query)
        if name is not None and verb is None and method == "GET":
            return backend.get_operation(project, loc, name)
        if name is not None and verb is None and method == "DELETE":
            backend.delete_operation(project, loc, name)
            return {}
        if name is not None and verb == "wait" and method == "POST":
            return backend.wait_operation(project, loc, name)
        raise errors.bad_method(method, f"operations/{name}/{verb}")

    @staticmethod
    def body(request: Request) -> dict:
        raw = request.get_data()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise errors.invalid("Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise errors.invalid("Invalid JSON payload received. Expected an object.")
        return body


def make_app(running_polls: int = 1) -> ComputeApp:
    """A fresh, empty Compute Engine emulator (a WSGI application).

    `running_polls`: how many `operations.get` calls still read RUNNING before DONE (the
    mutation itself always answers RUNNING; `wait` always answers DONE). The default 1 is the
    real API's shape; 0 makes the first poll DONE, so the SDK's `op.result()` never sleeps
    (api-core's polling waits about a second before its second poll)."""
    return ComputeApp(running_polls=running_polls)
