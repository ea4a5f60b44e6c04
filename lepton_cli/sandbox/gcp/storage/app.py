"""The HTTP layer of the Cloud Storage emulator: the JSON API's paths, uploads and downloads.

Routes on the raw request path, segment by segment, as GCS does: an object name travels
percent-encoded in one segment (`a%2Fb`), so `.../o/a%2Facl` is an object and `.../o/a/acl`
its ACL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from werkzeug.http import parse_options_header
from werkzeug.wrappers import Request, Response

from lepton_cli.sandbox.gcp.storage.errors import StorageError, invalid
from lepton_cli.sandbox.gcp.storage.models import Preconditions, StorageBackend, StoredObject

JSON = "application/json; charset=UTF-8"
PRECONDITIONS = {"ifGenerationMatch": "if_generation_match", "ifGenerationNotMatch": "if_generation_not_match",
                 "ifMetagenerationMatch": "if_metageneration_match",
                 "ifMetagenerationNotMatch": "if_metageneration_not_match"}
SOURCE_PRECONDITIONS = {"ifSourceGenerationMatch": "if_generation_match",
                        "ifSourceGenerationNotMatch": "if_generation_not_match",
                        "ifSourceMetagenerationMatch": "if_metageneration_match",
                        "ifSourceMetagenerationNotMatch": "if_metageneration_not_match"}
CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def make_app() -> Callable:
    """A fresh, empty Cloud Storage emulator as a WSGI application."""
    return StorageApp(StorageBackend())


class StorageApp:
    def __init__(self, backend: StorageBackend) -> None:
        self.backend = backend

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except StorageError as exc:
            response = error_response(exc)
        return response(environ, start_response)

    # -- routing --------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
        path = urlsplit(raw).path if raw else quote(request.path)
        parts = [unquote(p) for p in path.split("/")[1:]]
        method = request.method
        for head, handler in (("upload", self.upload), ("download", self.download)):
            if parts[:3] == [head, "storage", "v1"]:
                return handler(request, parts[3:])
        if parts[:2] != ["storage", "v1"] or not parts[2:3] == ["b"]:
            raise StorageError(404, "notFound", f"Not Found: {request.path}")
        rest = parts[3:]
        if not rest:
            return {"GET": self.list_buckets, "POST": self.insert_bucket}.get(method, not_allowed)(request)
        bucket, rest = rest[0], rest[1:]
        if not rest:
            return self.bucket(request, bucket)
        if rest[0] == "iam":
            return self.iam(request, bucket, rest[1:])
        if rest[0] in ("acl", "defaultObjectAcl"):
            return self.bucket_acl(request, bucket)
        if rest[0] != "o":
            raise StorageError(404, "notFound", f"Not Found: {request.path}")
        if len(rest) == 1:
            return self.list_objects(request, bucket) if method == "GET" else not_allowed(request)
        name, rest = rest[1], rest[2:]
        if not rest:
            return self.object(request, bucket, name)
        if rest[0] == "acl":
            return self.object_acl(request, bucket, name)
        if rest[0] in ("copyTo", "rewriteTo") and len(rest) == 5 and rest[1] == "b" and rest[3] == "o":
            return self.rewrite(request, bucket, name, rest[2], rest[4], rest[0])
        raise StorageError(404, "notFound", f"Not Found: {request.path}")

    # -- buckets --------------------------------------------------------------------------------------
    def insert_bucket(self, request: Request) -> Response:
        body = json_body(request)
        if request.args.get("predefinedAcl") and body.get("iamConfiguration", {}).get(
                "uniformBucketLevelAccess", {}).get("enabled"):
            raise invalid("Cannot use ACL API to set bucket ACLs when uniform bucket-level access is enabled.")
        return self.bucket_json(request, self.backend.insert_bucket(request.args.get("project"), body))

    def list_buckets(self, request: Request) -> Response:
        items, token = self.backend.list_buckets(request.args.get("project"), request.args.get("prefix"),
                                                 int_arg(request, "maxResults"), request.args.get("pageToken"))
        out: dict[str, Any] = {"kind": "storage#buckets", "items": [self.bucket_links(request, b) for b in items]}
        if token:
            out["nextPageToken"] = token
        return json_response(out)

    def bucket(self, request: Request, name: str) -> Response:
        pre = preconditions(request)
        if request.method == "GET":
            return self.bucket_json(request, self.backend.get_bucket(name, pre))
        if request.method in ("PATCH", "PUT"):
            resource = self.backend.patch_bucket(name, json_body(request), pre, replace=request.method == "PUT")
            return self.bucket_json(request, resource)
        if request.method == "DELETE":
            self.backend.delete_bucket(name, pre)
            return Response(status=204)
        return not_allowed(request)

    def iam(self, request: Request, bucket: str, rest: list[str]) -> Response:
        if rest == ["testPermissions"] and request.method == "GET":
            self.backend.get_iam(bucket)  # 404 for a missing bucket
            return json_response({"kind": "storage#testIamPermissionsResponse",
                                  "permissions": request.args.getlist("permissions")})
        if rest:
            raise StorageError(404, "notFound", f"Not Found: {request.path}")
        if request.method == "GET":
            return json_response(self.backend.get_iam(bucket))
        if request.method == "PUT":
            return json_response(self.backend.set_iam(bucket, json_body(request)))
        return not_allowed(request)

    def bucket_acl(self, request: Request, bucket: str) -> Response:
        self.backend.refuse_acl_if_uniform(bucket, "get" if request.method == "GET" else "update")
        raise StorageError(501, "notImplemented", "The sandbox models bucket ACLs only as refused under "
                                                  "uniform bucket-level access.")

    def bucket_json(self, request: Request, resource: dict[str, Any]) -> Response:
        return json_response(self.bucket_links(request, resource))

    @staticmethod
    def bucket_links(request: Request, resource: dict[str, Any]) -> dict[str, Any]:
        return {**resource, "selfLink": f"{request.host_url}storage/v1/b/{resource['name']}"}

    # -- objects --------------------------------------------------------------------------------------
    def list_objects(self, request: Request, bucket: str) -> Response:
        args = request.args
        items, prefixes, token = self.backend.list_objects(
            bucket, args.get("prefix"), args.get("delimiter"), bool_arg(request, "versions"),
            int_arg(request, "maxResults"), args.get("pageToken"), args.get("startOffset"), args.get("endOffset"),
            bool_arg(request, "includeTrailingDelimiter"))
        out: dict[str, Any] = {"kind": "storage#objects", "items": [self.object_links(request, o) for o in items]}
        if prefixes:
            out["prefixes"] = prefixes
        if token:
            out["nextPageToken"] = token
        return json_response(out)

    def object(self, request: Request, bucket: str, name: str) -> Response:
        pre, generation = preconditions(request), int_arg(request, "generation")
        if request.method == "GET":
            if request.args.get("alt") == "media":
                return self.media(request, self.backend.find_object(bucket, name, generation, pre))
            return self.object_json(request, self.backend.get_object(bucket, name, generation, pre))
        if request.method in ("PATCH", "PUT"):
            self.refuse_predefined_acl(request, bucket)
            resource = self.backend.patch_object(bucket, name, generation, json_body(request), pre,
                                                 replace=request.method == "PUT")
            return self.object_json(request, resource)
        if request.method == "DELETE":
            self.backend.delete_object(bucket, name, generation, pre)
            return Response(status=204)
        return not_allowed(request)

    def object_acl(self, request: Request, bucket: str, name: str) -> Response:
        if request.method != "GET":
            self.backend.refuse_acl_if_uniform(bucket, "update")
            raise StorageError(501, "notImplemented", "The sandbox changes object ACLs only through an object "
                                                      "patch of its `acl` field.")
        items = self.backend.object_acl(bucket, name, int_arg(request, "generation"))
        return json_response({"kind": "storage#objectAccessControls", "items": items})

    def rewrite(self, request: Request, source_bucket: str, source: str, bucket: str, name: str,
                verb: str) -> Response:
        if request.method != "POST":
            return not_allowed(request)
        source_pre = preconditions(request, SOURCE_PRECONDITIONS)
        source_generation = int_arg(request, "sourceGeneration")
        self.backend.find_object(source_bucket, source, source_generation, source_pre)
        resource = self.object_links(request, self.backend.rewrite_object(
            source_bucket, source, source_generation, bucket, name, json_body(request), preconditions(request)))
        if verb == "copyTo":
            return json_response(resource)
        return json_response({"kind": "storage#rewriteResponse", "totalBytesRewritten": resource["size"],
                              "objectSize": resource["size"], "done": True, "resource": resource})

    def refuse_predefined_acl(self, request: Request, bucket: str) -> None:
        if request.args.get("predefinedAcl"):
            self.backend.refuse_acl_if_uniform(bucket, "insert")

    def object_json(self, request: Request, resource: dict[str, Any]) -> Response:
        return json_response(self.object_links(request, resource))

    @staticmethod
    def object_links(request: Request, resource: dict[str, Any]) -> dict[str, Any]:
        path = f"b/{resource['bucket']}/o/{quote(resource['name'], safe='')}"
        media = f"{request.host_url}download/storage/v1/{path}?generation={resource['generation']}&alt=media"
        return {**resource, "selfLink": f"{request.host_url}storage/v1/{path}", "mediaLink": media}

    # -- uploads --------------------------------------------------------------------------------------
    def upload(self, request: Request, parts: list[str]) -> Response:
        if len(parts) != 3 or parts[0] != "b" or parts[2] != "o":
            raise StorageError(404, "notFound", f"Not Found: {request.path}")
        bucket = parts[1]
        upload_id = request.args.get("upload_id")
        if upload_id:
            return self.upload_session(request, upload_id)
        if request.method != "POST":
            return not_allowed(request)
        self.refuse_predefined_acl(request, bucket)
        kind, pre = request.args.get("uploadType"), preconditions(request)
        if kind == "media":
            fields = {"contentType": request.headers.get("Content-Type")} if request.headers.get("Content-Type") else {}
            return self.object_json(request, self.backend.insert_object(
                bucket, request.args.get("name"), request.get_data(), fields, pre))
        if kind == "multipart":
            fields, data = multipart(request)
            name = fields.get("name") or request.args.get("name")
            return self.object_json(request, self.backend.insert_object(bucket, name, data, fields, pre))
        if kind == "resumable":
            fields = json_body(request)
            if "contentType" not in fields and request.headers.get("X-Upload-Content-Type"):
                fields["contentType"] = request.headers["X-Upload-Content-Type"]
            upload_id = self.backend.start_upload(bucket, fields.get("name") or request.args.get("name"), fields, pre)
            location = f"{request.host_url}upload/storage/v1/b/{bucket}/o?uploadType=resumable&upload_id={upload_id}"
            return Response(status=200, headers={"Location": location, "Content-Type": JSON})
        raise invalid(f"Invalid upload type: {kind}" if kind else
                      "Upload requests must include an uploadType URL parameter and a URL-encoded object name.")

    def upload_session(self, request: Request, upload_id: str) -> Response:
        if request.method == "DELETE":
            self.backend.cancel_upload(upload_id)
            return Response(status=499)  # what GCS answers a cancelled session
        if request.method not in ("PUT", "POST"):
            return not_allowed(request)
        data = request.get_data()
        header = request.headers.get("Content-Range")
        if header is None:  # the whole object in one request
            start, total = 0, len(data)
        else:
            match = CONTENT_RANGE.fullmatch(header.strip())
            if not match:
                raise invalid(f"Invalid Content-Range header: {header}")
            first, last, size = match.groups()
            total = None if size == "*" else int(size)
            if first is None:
                start = None  # "bytes */N": no data, a status query or the final empty chunk
            else:
                start = int(first)
                if int(last) - start + 1 != len(data):
                    raise invalid("Invalid request. The Content-Range does not match the body's length.")
        persisted, done = self.backend.upload_chunk(upload_id, start, data, total)
        if done is not None:
            return self.object_json(request, done)
        headers = {"Range": f"bytes=0-{persisted - 1}"} if persisted else {}
        return Response(status=308, headers={**headers, "Content-Length": "0"})

    # -- downloads ------------------------------------------------------------------------------------
    def download(self, request: Request, parts: list[str]) -> Response:
        if len(parts) != 4 or parts[0] != "b" or parts[2] != "o":
            raise StorageError(404, "notFound", f"Not Found: {request.path}")
        if request.method != "GET":
            return not_allowed(request)
        found = self.backend.find_object(parts[1], parts[3], int_arg(request, "generation"), preconditions(request))
        return self.media(request, found)

    @staticmethod
    def media(request: Request, found: StoredObject) -> Response:
        resource = found.resource()
        data, status = found.data, 200
        headers = {"Content-Type": resource["contentType"], "ETag": resource["etag"],
                   "X-Goog-Hash": f"crc32c={resource['crc32c']},md5={resource['md5Hash']}",
                   "X-Goog-Generation": resource["generation"], "X-Goog-Metageneration": resource["metageneration"],
                   "X-Goog-Stored-Content-Length": resource["size"], "X-Goog-Stored-Content-Encoding": "identity",
                   "Accept-Ranges": "bytes"}
        wanted = request.headers.get("Range")
        match = RANGE.fullmatch(wanted.strip()) if wanted else None
        if match and any(match.groups()):
            first, last = match.groups()
            size = len(data)
            if first:
                start, end = int(first), min(int(last or size - 1), size - 1)
            else:  # "bytes=-N": the last N bytes
                start, end = max(size - int(last), 0), size - 1
            if start >= size or start > end:
                raise StorageError(416, "requestedRangeNotSatisfiable", "Request range not satisfiable")
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            data, status = data[start:end + 1], 206
        return Response(data, status=status, headers=headers)


# -- request and response helpers ---------------------------------------------------------------------
def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type=JSON)


def error_response(exc: StorageError) -> Response:
    if exc.code == 304:
        return Response(status=304)
    return json_response(exc.body(), exc.code)


def not_allowed(request: Request) -> Response:
    raise StorageError(405, "methodNotAllowed", f"Method {request.method} is not allowed here.")


def json_body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise StorageError(400, "parseError", "Parse Error") from None
    if not isinstance(body, dict):
        raise StorageError(400, "parseError", "Parse Error")
    return body


def int_arg(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(f"Invalid value for {name}: {value}") from None


def bool_arg(request: Request, name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


def preconditions(request: Request, names: dict[str, str] = PRECONDITIONS) -> Preconditions:
    return Preconditions(**{field: int_arg(request, arg) for arg, field in names.items()})


def multipart(request: Request) -> tuple[dict[str, Any], bytes]:
    """A multipart/related upload: the metadata part (JSON), then the media part."""
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary")
    if mimetype != "multipart/related" or not boundary:
        raise invalid("Invalid multipart request: the Content-Type must be multipart/related with a boundary.")
    chunks = request.get_data().split(b"--" + boundary.encode())
    parts = []
    for chunk in chunks[1:-1]:
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(":", 1) for line in head.decode("latin-1").split("\r\n") if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        parts.append((headers, content[:-2] if content.endswith(b"\r\n") else content))
    if len(parts) != 2:
        raise invalid("Invalid multipart request: expected a metadata part and a media part.")
    try:
        fields = json.loads(parts[0][1] or b"{}")
    except ValueError:
        raise StorageError(400, "parseError", "Parse Error") from None
    if "contentType" not in fields and parts[1][0].get("content-type"):
        fields["contentType"] = parts[1][0]["content-type"]
    return fields, parts[1][1]
