"""The in-memory Cloud Storage backend: buckets (global names), object generations, resumable
upload sessions and bucket IAM policies. No HTTP here: `app` turns requests into these calls.

Resources are returned as JSON API dicts without the links, which depend on the endpoint the
client used (`app` adds them).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.sandbox.gcp.storage import rules
from lepton_cli.sandbox.gcp.storage.errors import (StorageError, conflict, invalid, no_bucket, no_object, not_met,
                                                   required)

UBLA_LOCK = dt.timedelta(days=90)  # uniform access can be turned off again for 90 days
DEFAULT_PAGE = 1000
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
MEMBER_PREFIXES = ("user:", "serviceAccount:", "group:", "domain:", "projectOwner:", "projectEditor:",
                   "projectViewer:", "principal://", "principalSet://", "deleted:")
# Bucket fields a client may write, beyond those checked one by one below: kept as given.
OPAQUE_BUCKET_FIELDS = {"cors", "website", "logging", "billing", "retentionPolicy", "defaultEventBasedHold",
                        "autoclass", "rpo", "customPlacementConfig", "softDeletePolicy", "hierarchicalNamespace",
                        "objectRetention"}
OBJECT_FIELDS = {"contentType", "contentEncoding", "contentDisposition", "contentLanguage", "cacheControl",
                 "metadata", "customTime", "temporaryHold", "eventBasedHold", "storageClass"}
UBLA_ACL_MESSAGE = ("Cannot {verb} legacy ACL for an object when uniform bucket-level access is enabled. "
                    "Read more at https://cloud.google.com/storage/docs/uniform-bucket-level-access")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def rfc3339(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def project_number(project: str) -> str:
    """A stable 12-digit number per project id, as a real project has."""
    return str(100000000000 + int(hashlib.sha256(project.encode()).hexdigest(), 16) % 900000000000)


def etag(*parts: Any) -> str:
    return base64.b64encode(":".join(map(str, parts)).encode()).decode()


def checksums(data: bytes) -> tuple[str, str]:
    """(md5Hash, crc32c), base64 of the big-endian digests, as GCS reports them."""
    import google_crc32c

    crc = google_crc32c.value(data).to_bytes(4, "big")
    return base64.b64encode(hashlib.md5(data).digest()).decode(), base64.b64encode(crc).decode()


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON API patch semantics: nested objects merge, a null removes, anything else replaces."""
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def page_token(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def read_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise invalid("Invalid page token.") from None


def paginate(entries: list[tuple[Any, Any]], max_results: int | None,
             token: str | None) -> tuple[list[Any], str | None]:
    """`entries` are (sort key, item) in order; resume after the token's key."""
    after = read_token(token)
    if after is not None:
        entries = [entry for entry in entries if _key(entry[0]) > _key(after)]
    limit = DEFAULT_PAGE if max_results is None else max_results
    if limit < 0:
        raise invalid("Invalid value for maxResults.")
    limit = min(limit or DEFAULT_PAGE, DEFAULT_PAGE)
    page = entries[:limit]
    more = len(entries) > limit
    return [item for _, item in page], page_token(page[-1][0]) if more else None


def _key(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


@dataclass
class Preconditions:
    """ifGenerationMatch & co, as query parameters give them (None: not given)."""
    if_generation_match: int | None = None
    if_generation_not_match: int | None = None
    if_metageneration_match: int | None = None
    if_metageneration_not_match: int | None = None

    def check(self, generation: int | None, metageneration: int | None, read: bool = True) -> None:
        """`generation` None: no live object (ifGenerationMatch=0 holds only then). A read whose
        "not match" condition fails is 304 Not Modified, a write's is 412."""
        current = 0 if generation is None else generation
        if self.if_generation_match is not None and self.if_generation_match != current:
            raise not_met()
        if self.if_generation_not_match is not None and self.if_generation_not_match == current:
            raise StorageError(304, "notModified", "Not Modified") if read and generation is not None else not_met()
        if self.if_metageneration_match is not None and self.if_metageneration_match != metageneration:
            raise not_met()
        if self.if_metageneration_not_match is not None and self.if_metageneration_not_match == metageneration:
            raise StorageError(304, "notModified", "Not Modified") if read else not_met()

    def check_write(self, live: StoredObject | None) -> None:
        """A write's preconditions apply to the live object it replaces."""
        self.check(live.generation if live else None, live.metageneration if live else None, read=False)


@dataclass
class StoredObject:
    bucket: str
    name: str
    generation: int
    data: bytes
    fields: dict[str, Any]
    created: dt.datetime
    metageneration: int = 1
    updated: dt.datetime | None = None
    deleted: dt.datetime | None = None  # set once noncurrent
    acl: list[dict[str, Any]] = field(default_factory=list)

    def resource(self) -> dict[str, Any]:
        md5, crc = checksums(self.data)
        out = {
            "kind": "storage#object", "id": f"{self.bucket}/{self.name}/{self.generation}",
            "name": self.name, "bucket": self.bucket, "generation": str(self.generation),
            "metageneration": str(self.metageneration),
            "contentType": self.fields.get("contentType") or "application/octet-stream",
            "storageClass": self.fields.get("storageClass", "STANDARD"), "size": str(len(self.data)),
            "md5Hash": md5, "crc32c": crc, "etag": etag(self.generation, self.metageneration),
            "timeCreated": rfc3339(self.created), "updated": rfc3339(self.updated or self.created),
            "timeStorageClassUpdated": rfc3339(self.created),
            **{k: v for k, v in self.fields.items() if k in OBJECT_FIELDS and k not in ("contentType", "storageClass")},
        }
        if self.deleted:
            out["timeDeleted"] = rfc3339(self.deleted)
        return out


@dataclass
class Bucket:
    name: str
    project: str
    fields: dict[str, Any]  # the writable metadata as stored (labels, versioning, lifecycle, ...)
    created: dt.datetime
    location: str
    location_type: str
    metageneration: int = 1
    updated: dt.datetime | None = None
    live: dict[str, StoredObject] = field(default_factory=dict)
    noncurrent: dict[str, list[StoredObject]] = field(default_factory=dict)
    policy: dict[str, Any] = field(default_factory=dict)
    policy_version: int = 1

    @property
    def versioned(self) -> bool:
        return bool(self.fields.get("versioning", {}).get("enabled"))

    @property
    def uniform(self) -> bool:
        return bool(self.fields["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"])

    @property
    def public_access_prevention(self) -> str:
        return self.fields["iamConfiguration"]["publicAccessPrevention"]

    def empty(self) -> bool:
        return not self.live and not any(self.noncurrent.values())

    def resource(self) -> dict[str, Any]:
        out = {
            "kind": "storage#bucket", "id": self.name, "name": self.name,
            "projectNumber": project_number(self.project), "metageneration": str(self.metageneration),
            "location": self.location, "locationType": self.location_type,
            "etag": etag(self.name, self.metageneration), "timeCreated": rfc3339(self.created),
            "updated": rfc3339(self.updated or self.created),
            **copy.deepcopy(self.fields),
        }
        if not out.get("labels"):
            out.pop("labels", None)
        if not out.get("lifecycle", {}).get("rule"):
            out.pop("lifecycle", None)
        return out

    def generations(self, name: str) -> list[StoredObject]:
        found = list(self.noncurrent.get(name, []))
        if name in self.live:
            found.append(self.live[name])
        return found


@dataclass
class UploadSession:
    bucket: str
    name: str
    fields: dict[str, Any]
    preconditions: Preconditions
    data: bytearray = field(default_factory=bytearray)
    done: dict[str, Any] | None = None


class StorageBackend:
    """One emulated Cloud Storage: bucket names are global across its projects."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.buckets: dict[str, Bucket] = {}
        self.sessions: dict[str, UploadSession] = {}
        self._last_generation = 0

    def _generation(self) -> int:
        """Increasing, microseconds since the epoch as GCS's are."""
        self._last_generation = max(self._last_generation + 1, int(now().timestamp() * 1_000_000))
        return self._last_generation

    def bucket(self, name: str) -> Bucket:
        try:
            return self.buckets[name]
        except KeyError:
            raise no_bucket() from None

    # -- buckets ------------------------------------------------------------------------------------
    def insert_bucket(self, project: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if not project:
            raise required("Required parameter: project")
        name = rules.check_bucket_name(body.get("name"))
        fields = self._bucket_fields({}, body, created=now())
        location, location_type = rules.location(body.get("location"))
        with self.lock:
            existing = self.buckets.get(name)
            if existing:
                raise conflict("Your previous request to create the named bucket succeeded and you already own it."
                               if existing.project == project else
                               "The requested bucket name is not available. The bucket namespace is shared by all "
                               "users of the system. Please select a different name and try again.")
            bucket = Bucket(name, project, fields, fields.pop("_created"), location, location_type)
            bucket.policy = self._default_policy(project)
            self.buckets[name] = bucket
            return bucket.resource()

    @staticmethod
    def _default_policy(project: str) -> dict[str, Any]:
        number = project_number(project)
        return {"bindings": [
            {"role": "roles/storage.legacyBucketOwner",
             "members": [f"projectEditor:{project}", f"projectOwner:{project}"]},
            {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project}"]},
        ], "_number": number}

    def _bucket_fields(self, current: dict[str, Any], body: dict[str, Any], created: dt.datetime,
                       replace: bool = False) -> dict[str, Any]:
        """The bucket's writable metadata after `body` (patch semantics unless `replace`), checked."""
        given = {k: v for k, v in body.items()
                 if k in OPAQUE_BUCKET_FIELDS or k in ("labels", "versioning", "lifecycle", "iamConfiguration",
                                                       "encryption", "storageClass")}
        base = {} if replace else current
        iam_before = current.get("iamConfiguration", {})
        fields = merge(base, given)
        if "labels" in fields:
            rules.check_labels(fields["labels"])
        if "versioning" in fields and not isinstance(fields["versioning"].get("enabled", False), bool):
            raise invalid("Invalid argument.")
        if "lifecycle" in fields:
            rules.check_lifecycle(fields["lifecycle"])
        if "encryption" in fields and not isinstance(fields["encryption"], dict):
            raise invalid("Invalid argument.")
        fields["storageClass"] = rules.storage_class(fields.get("storageClass"))
        fields["iamConfiguration"] = self._iam_configuration(iam_before, fields.get("iamConfiguration", {}), created)
        fields["_created"] = created
        return fields

    @staticmethod
    def _iam_configuration(before: dict[str, Any], wanted: dict[str, Any], moment: dt.datetime) -> dict[str, Any]:
        """uniformBucketLevelAccess (and its legacy alias bucketPolicyOnly) and publicAccessPrevention."""
        ubla = wanted.get("uniformBucketLevelAccess") or wanted.get("bucketPolicyOnly") or {}
        enabled = ubla.get("enabled", False)
        if not isinstance(enabled, bool):
            raise invalid("Invalid argument.")
        was = before.get("uniformBucketLevelAccess", {})
        state: dict[str, Any] = {"enabled": enabled}
        if enabled:
            state["lockedTime"] = was.get("lockedTime") if was.get("enabled") else rfc3339(moment + UBLA_LOCK)
        elif was.get("enabled") and was.get("lockedTime") and was["lockedTime"] < rfc3339(moment):
            raise invalid("Uniform bucket-level access can no longer be disabled: its lock time has passed.")
        pap = rules.check_public_access_prevention(wanted.get("publicAccessPrevention", "inherited"))
        return {"bucketPolicyOnly": dict(state), "uniformBucketLevelAccess": dict(state),
                "publicAccessPrevention": pap}

    def get_bucket(self, name: str, pre: Preconditions) -> dict[str, Any]:
        with self.lock:
            bucket = self.bucket(name)
            pre.check(None, bucket.metageneration)
            return bucket.resource()

    def list_buckets(self, project: str | None, prefix: str | None, max_results: int | None,
                     token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        if not project:
            raise required("Required parameter: project")
        with self.lock:
            entries = [(name, bucket.resource()) for name, bucket in sorted(self.buckets.items())
                       if bucket.project == project and name.startswith(prefix or "")]
        return paginate(entries, max_results, token)

    def patch_bucket(self, name: str, body: dict[str, Any], pre: Preconditions,
                     replace: bool = False) -> dict[str, Any]:
        with self.lock:
            bucket = self.bucket(name)
            pre.check(None, bucket.metageneration, read=False)
            moment = now()
            fields = self._bucket_fields(bucket.fields, body, moment, replace=replace)
            fields.pop("_created")
            bucket.fields = fields
            bucket.metageneration += 1
            bucket.updated = moment
            return bucket.resource()

    def delete_bucket(self, name: str, pre: Preconditions) -> None:
        with self.lock:
            bucket = self.bucket(name)
            pre.check(None, bucket.metageneration, read=False)
            if not bucket.empty():
                raise conflict("The bucket you tried to delete is not empty.")
            del self.buckets[name]

    # -- bucket IAM ---------------------------------------------------------------------------------
    def get_iam(self, name: str) -> dict[str, Any]:
        with self.lock:
            bucket = self.bucket(name)
            return self._policy_resource(bucket)

    @staticmethod
    def _policy_resource(bucket: Bucket) -> dict[str, Any]:
        return {"kind": "storage#policy", "resourceId": f"projects/_/buckets/{bucket.name}",
                "version": bucket.policy_version,
                "etag": etag("policy", bucket.name, bucket.metageneration),
                "bindings": copy.deepcopy(bucket.policy["bindings"])}

    def set_iam(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        bindings = body.get("bindings", [])
        if not isinstance(bindings, list):
            raise invalid("Invalid argument.")
        for binding in bindings:
            role, members = (binding or {}).get("role"), (binding or {}).get("members")
            if not isinstance(role, str) or not role.startswith(("roles/", "projects/", "organizations/")):
                raise invalid(f"Role ({role}) does not exist in the resource's hierarchy.")
            if not isinstance(members, list) or not members:
                raise invalid("Invalid argument: a binding needs at least one member.")
            for member in members:
                known = member in PUBLIC_MEMBERS or isinstance(member, str) and member.startswith(MEMBER_PREFIXES)
                if not known:
                    raise invalid(f"Invalid argument: member {member!r} is not a valid principal.")
        with self.lock:
            bucket = self.bucket(name)
            current = self._policy_resource(bucket)
            if body.get("etag") and body["etag"] != current["etag"]:
                raise StorageError(412, "conditionNotMet", "The etag given does not match the policy's.",
                                   locationType="header", location="If-Match")
            self._refuse_public_under_prevention(bucket, [m for binding in bindings for m in binding["members"]])
            bucket.policy = {**bucket.policy, "bindings": copy.deepcopy(bindings)}
            bucket.policy_version = int(body.get("version") or 1)
            bucket.metageneration += 1
            bucket.updated = now()
            return self._policy_resource(bucket)

    @staticmethod
    def _refuse_public_under_prevention(bucket: Bucket, members: list[Any]) -> None:
        """Public access prevention refuses allUsers/allAuthenticatedUsers in IAM and ACLs (412)."""
        if bucket.public_access_prevention == "enforced" and PUBLIC_MEMBERS & set(members):
            raise StorageError(412, "conditionNotMet",
                               "The member bindings allUsers and allAuthenticatedUsers are not allowed since "
                               "public access prevention is enforced.", locationType="header", location="If-Match")

    def refuse_acl_if_uniform(self, name: str, verb: str) -> Bucket:
        with self.lock:
            bucket = self.bucket(name)
            if bucket.uniform:
                raise invalid(UBLA_ACL_MESSAGE.format(verb=verb))
            return bucket

    # -- objects ------------------------------------------------------------------------------------
    def insert_object(self, bucket_name: str, name: str | None, data: bytes, fields: dict[str, Any],
                      pre: Preconditions) -> dict[str, Any]:
        if not name:
            raise required("Required")
        rules.check_object_name(name)
        self._check_given_checksums(fields, data)
        with self.lock:
            bucket = self.bucket(bucket_name)
            if "acl" in fields and bucket.uniform:
                raise invalid(UBLA_ACL_MESSAGE.format(verb="insert"))
            live = bucket.live.get(name)
            pre.check_write(live)
            moment = now()
            kept = {k: v for k, v in fields.items() if k in OBJECT_FIELDS}
            if "storageClass" not in kept:
                kept["storageClass"] = bucket.fields["storageClass"]
            stored = StoredObject(bucket_name, name, self._generation(), bytes(data), kept, moment,
                                  acl=list(fields.get("acl", [])))
            if live is not None:
                self._retire(bucket, live, moment)
            bucket.live[name] = stored
            return stored.resource()

    @staticmethod
    def _check_given_checksums(fields: dict[str, Any], data: bytes) -> None:
        md5, crc = checksums(data)
        if fields.get("crc32c") and fields["crc32c"] != crc:
            raise invalid(f"Provided CRC32C \"{fields['crc32c']}\" doesn't match calculated CRC32C \"{crc}\".")
        if fields.get("md5Hash") and fields["md5Hash"] != md5:
            raise invalid(f"Provided MD5 hash \"{fields['md5Hash']}\" doesn't match calculated MD5 hash \"{md5}\".")

    @staticmethod
    def _retire(bucket: Bucket, live: StoredObject, moment: dt.datetime) -> None:
        """A replaced or deleted live object: kept as noncurrent when versioning is on, else gone."""
        del bucket.live[live.name]
        if bucket.versioned:
            live.deleted = moment
            bucket.noncurrent.setdefault(live.name, []).append(live)

    def find_object(self, bucket_name: str, name: str, generation: int | None, pre: Preconditions,
                    read: bool = True) -> StoredObject:
        with self.lock:
            bucket = self.bucket(bucket_name)
            if generation is None:
                found = bucket.live.get(name)
            else:
                found = next((o for o in bucket.generations(name) if o.generation == generation), None)
            if found is None:
                raise no_object(bucket_name, name)
            pre.check(found.generation, found.metageneration, read)
            return found

    def get_object(self, bucket_name: str, name: str, generation: int | None, pre: Preconditions) -> dict[str, Any]:
        with self.lock:
            return self.find_object(bucket_name, name, generation, pre).resource()

    def list_objects(self, bucket_name: str, prefix: str | None, delimiter: str | None, versions: bool,
                     max_results: int | None, token: str | None, start_offset: str | None = None,
                     end_offset: str | None = None, include_trailing_delimiter: bool = False,
                     ) -> tuple[list[dict[str, Any]], list[str], str | None]:
        prefix = prefix or ""
        with self.lock:
            bucket = self.bucket(bucket_name)
            objects = ([o for name in bucket.live.keys() | bucket.noncurrent.keys() for o in bucket.generations(name)]
                       if versions else list(bucket.live.values()))
        entries: dict[tuple[str, int], tuple[str, Any]] = {}
        for obj in objects:
            if not obj.name.startswith(prefix) or (start_offset and obj.name < start_offset) \
                    or (end_offset and obj.name >= end_offset):
                continue
            rest = obj.name[len(prefix):]
            if delimiter and delimiter in rest:
                common = prefix + rest[:rest.index(delimiter) + len(delimiter)]
                entries[(common, -1)] = ("prefix", common)
                if not (include_trailing_delimiter and obj.name == common):
                    continue
            entries[(obj.name, obj.generation)] = ("object", obj.resource())
        page, next_token = paginate([(list(key), entries[key]) for key in sorted(entries)], max_results, token)
        return ([item for kind, item in page if kind == "object"],
                [item for kind, item in page if kind == "prefix"], next_token)

    def delete_object(self, bucket_name: str, name: str, generation: int | None, pre: Preconditions) -> None:
        """Without a generation the live object goes (noncurrent if versioned); a named
        generation, live or not, is deleted for good."""
        with self.lock:
            bucket = self.bucket(bucket_name)
            target = self.find_object(bucket_name, name, generation, pre, read=False)
            if target.deleted is None and generation is None:
                self._retire(bucket, target, now())
            elif target.deleted is None:
                del bucket.live[name]
            else:
                bucket.noncurrent[name].remove(target)
                if not bucket.noncurrent[name]:
                    del bucket.noncurrent[name]

    def patch_object(self, bucket_name: str, name: str, generation: int | None, body: dict[str, Any],
                     pre: Preconditions, replace: bool = False) -> dict[str, Any]:
        with self.lock:
            bucket = self.bucket(bucket_name)
            target = self.find_object(bucket_name, name, generation, pre, read=False)
            if "acl" in body:
                if bucket.uniform:
                    raise invalid(UBLA_ACL_MESSAGE.format(verb="update"))
                self._refuse_public_under_prevention(bucket, [e.get("entity") for e in body["acl"] or []])
                target.acl = list(body["acl"] or [])
            given = {k: v for k, v in body.items() if k in OBJECT_FIELDS - {"storageClass"}}
            if "metadata" in given and given["metadata"] is not None and not isinstance(given["metadata"], dict):
                raise invalid("Invalid argument.")
            target.fields = ({"storageClass": target.fields.get("storageClass", "STANDARD"), **given}
                             if replace else merge(target.fields, given))
            target.metageneration += 1
            target.updated = now()
            return target.resource()

    def object_acl(self, bucket_name: str, name: str, generation: int | None) -> list[dict[str, Any]]:
        bucket = self.refuse_acl_if_uniform(bucket_name, "get")
        with self.lock:
            target = self.find_object(bucket_name, name, generation, Preconditions())
            number = project_number(bucket.project)
            return target.acl or [{"kind": "storage#objectAccessControl", "entity": f"project-owners-{number}",
                                   "role": "OWNER", "projectTeam": {"projectNumber": number, "team": "owners"}}]

    def rewrite_object(self, source_bucket: str, source_name: str, source_generation: int | None,
                       bucket_name: str, name: str, body: dict[str, Any], pre: Preconditions) -> dict[str, Any]:
        with self.lock:
            source = self.find_object(source_bucket, source_name, source_generation, Preconditions())
            fields = {**{k: v for k, v in source.fields.items() if k != "storageClass"}, **(body or {})}
            for key in ("md5Hash", "crc32c", "name", "bucket"):
                fields.pop(key, None)
            return self.insert_object(bucket_name, name, source.data, fields, pre)

    # -- resumable uploads ----------------------------------------------------------------------------
    def start_upload(self, bucket_name: str, name: str | None, fields: dict[str, Any], pre: Preconditions) -> str:
        if not name:
            raise required("Required")
        rules.check_object_name(name)
        with self.lock:
            bucket = self.bucket(bucket_name)
            if "acl" in fields and bucket.uniform:
                raise invalid(UBLA_ACL_MESSAGE.format(verb="insert"))
            pre.check_write(bucket.live.get(name))
            upload_id = uuid.uuid4().hex
            self.sessions[upload_id] = UploadSession(bucket_name, name, dict(fields), pre)
            return upload_id

    def upload_chunk(self, upload_id: str, start: int | None, data: bytes, total: int | None,
                     ) -> tuple[int, dict[str, Any] | None]:
        """Append a chunk at `start` (None: a status query); (bytes persisted, object once complete)."""
        with self.lock:
            session = self.sessions.get(upload_id)
            if session is None:
                raise StorageError(404, "notFound", "No such upload session.")
            if session.done is not None:
                return len(session.data), session.done
            if start is not None:
                if start > len(session.data):
                    raise StorageError(503, "backendError", "Invalid request. There were gaps in the uploaded data.")
                session.data[start:] = data  # an overlapping retry rewrites what it resends
            if total is not None and len(session.data) >= total:
                if len(session.data) != total:
                    raise invalid("Invalid request. The upload's size does not match the Content-Range total.")
                session.done = self.insert_object(session.bucket, session.name, bytes(session.data),
                                                  session.fields, session.preconditions)
            return len(session.data), session.done

    def cancel_upload(self, upload_id: str) -> None:
        with self.lock:
            if self.sessions.pop(upload_id, None) is None:
                raise StorageError(404, "notFound", "No such upload session.")
