"""`bucket` on Google Cloud: a GCS bucket with ownership labels, versioning, uniform
bucket-level access (always), public access prevention (unless `public: true`, which instead
grants allUsers `roles/storage.objectViewer` in the bucket's IAM policy) and lifecycle rules.

GCS takes labels, versioning, lifecycle and the IAM configuration in the insert itself, so a
bucket never exists without its marker. One bucket list (prefix `<stack>-`) finds the stack's
buckets with every setting; only a bucket whose public access prevention is off has its IAM
policy read (one call per such bucket, concurrently), since that policy alone says whether it
is public. Bucket names are global across GCS: they carry a short hash of stack, resource and
project, so a retried create finds the same name.

Google-managed encryption is always on in GCS: `encryption: false` cannot turn it off; the
plan says so in the resource's summary, and the property reads `google-managed` (a
customer-managed default key set by someone else shows as drift and is removed).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lepton_cli.drivers.base import ExpandContext, NameScope, Observed, Primitive, PrimitiveType
from lepton_cli.drivers.gcp.errors import google_error, is_not_found, status_code, translate
from lepton_cli.drivers.names import unique_name
from lepton_cli.drivers.ownership import label_markers, owned_address_from_labels, owner_from_labels
from lepton_cli.errors import Diagnostic, LeptonError, OwnershipError
from lepton_cli.spec.models import Bucket, Stack

TYPE = "gcp.storage_bucket"
ATTRIBUTES = {"id": (TYPE, "id"), "name": (TYPE, "name"), "url": (TYPE, "url")}
PUBLIC_ROLE, PUBLIC_MEMBER = "roles/storage.objectViewer", "allUsers"
GOOGLE_MANAGED = "google-managed"
ENFORCED, INHERITED = "enforced", "inherited"
READ_CONCURRENCY = 16
DELETE_CONCURRENCY = 16
GONE = object()  # a read's answer when the bucket no longer exists


def bucket_name(stack: str, name: str, project: str) -> str:
    """GCS bucket names: global, at most 63 characters without dots (`names.unique_name`)."""
    return unique_name(stack, name, project, limit=63)


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    """GCS refuses names containing "google" or starting with "goog"; the stack and resource
    names are the readable part of the bucket name (the hash is hex: never the problem)."""
    physical = bucket_name(stack.stack, name, "project")
    if "google" in physical or physical.startswith("goog"):
        return [Diagnostic(summary=f"the GCS bucket name for {name!r} would be {physical!r}, and GCS refuses bucket "
                                   "names that contain \"google\" or start with \"goog\"",
                           path=f"resources.{name}", hint="rename the resource or the stack")]
    return []


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Bucket = stack.resources[name]
    notes = () if resource.encryption else (
        "encryption: GCS always encrypts with Google-managed keys; `encryption: false` cannot turn it off",)
    return [Primitive(
        address=f"{name}/{TYPE}", type=TYPE, cloud="gcp", region=region, resource=name, kind="bucket",
        properties={
            "name": bucket_name(stack.stack, name, driver.project), "location": region.upper(),
            "versioning": resource.versioning, "public": resource.public,
            "public_access_prevention": INHERITED if resource.public else ENFORCED,
            "uniform_access": True, "encryption": GOOGLE_MANAGED,
            "lifecycle": [{"prefix": r.prefix, "expire_days": r.expire_days} for r in resource.lifecycle],
            "force_destroy": resource.force_destroy,
        }, summary=notes)]


def outputs(bucket) -> dict[str, Any]:
    """What others reference: the name (a CDN's backend bucket takes it), gs:// URL, selfLink."""
    return {"id": bucket.name, "name": bucket.name, "url": f"gs://{bucket.name}", "self_link": bucket.self_link or ""}


def lifecycle_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan's `{prefix, expire_days}` as GCS Delete rules (age, matchesPrefix)."""
    return [{"action": {"type": "Delete"},
             "condition": {"age": r["expire_days"], **({"matchesPrefix": [r["prefix"]]} if r["prefix"] else {})}}
            for r in rules]


def read_lifecycle(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GCS rules in the plan's shape; a rule lepton would not write is kept whole (`rule`), so
    it shows as drift and the next update replaces it."""
    out = []
    for rule in rules:
        condition = rule.get("condition", {})
        prefixes = condition.get("matchesPrefix", [""])
        if rule.get("action") == {"type": "Delete"} and set(condition) <= {"age", "matchesPrefix"} \
                and "age" in condition and len(prefixes) == 1:
            out.append({"prefix": prefixes[0], "expire_days": condition["age"]})
        else:
            out.append({"rule": rule})
    return out


def _rule_key(rule: dict[str, Any]) -> tuple:
    return (rule.get("prefix", ""), rule.get("expire_days") or 0, str(rule.get("rule", "")))


def is_public(policy_bindings: list[dict[str, Any]]) -> bool:
    return any(b.get("role") == PUBLIC_ROLE and PUBLIC_MEMBER in b.get("members", ()) for b in policy_bindings)


class StorageBucketType(PrimitiveType):
    type_name = TYPE
    property_keys = frozenset({"name", "location", "versioning", "public", "public_access_prevention",
                               "uniform_access", "encryption", "lifecycle", "force_destroy"})
    output_keys = frozenset({"id", "name", "url", "self_link"})
    replace_on = frozenset({"name", "location"})
    local = frozenset({"force_destroy"})
    name_key, name_scope = "name", NameScope.GLOBAL  # one bucket name in the whole of GCS

    @property
    def stack(self) -> str:
        return self.driver.config.stack

    @property
    def gcs(self):
        return self.driver.storage

    # -- reading ----------------------------------------------------------------------------------
    def list(self, region: str) -> list[Observed]:
        location = region.upper()
        with translate(f"listing the buckets of project {self.driver.project}"):
            found = list(self.gcs.list_buckets(prefix=f"{self.stack}-", project=self.driver.project))
        ours = [(address, bucket) for bucket in found
                if (address := owned_address_from_labels(bucket.labels, self.stack)) and bucket.location == location]
        unknown = [bucket.name for _, bucket in ours if self._prevention(bucket) != ENFORCED]
        policies: dict[str, Any] = {}
        if unknown:
            with ThreadPoolExecutor(max_workers=min(READ_CONCURRENCY, len(unknown)),
                                    thread_name_prefix="gcs-iam") as pool:
                policies = dict(zip(unknown, pool.map(self._bindings, unknown)))
        return [self._observed(address, region, bucket, policies.get(bucket.name, []))
                for address, bucket in ours if policies.get(bucket.name) is not GONE]

    def _bindings(self, name: str) -> Any:
        """The bucket's IAM bindings, or GONE if the bucket is."""
        try:
            with translate(f"reading the IAM policy of bucket {name}"):
                return [dict(b) for b in self.gcs.bucket(name).get_iam_policy(requested_policy_version=3).bindings]
        except LeptonError as exc:
            if is_not_found(exc):
                return GONE
            raise

    @staticmethod
    def _prevention(bucket) -> str:
        value = bucket.iam_configuration.public_access_prevention or INHERITED
        return INHERITED if value == "unspecified" else value

    def _observed(self, address: str, region: str, bucket, bindings: list[dict[str, Any]]) -> Observed:
        """A bucket (the SDK's, as GCS answered) in the expansion's shape."""
        prevention = self._prevention(bucket)
        key = bucket.default_kms_key_name
        return Observed(address, self.type_name, region, bucket.name, self.normalize({
            "name": bucket.name, "location": bucket.location or "",
            "versioning": bool(bucket.versioning_enabled),
            "public": prevention != ENFORCED and is_public(bindings),
            "public_access_prevention": prevention,
            "uniform_access": bool(bucket.iam_configuration.uniform_bucket_level_access_enabled),
            "encryption": f"kms:{key}" if key else GOOGLE_MANAGED,
            "lifecycle": read_lifecycle([dict(rule) for rule in bucket.lifecycle_rules]),
        }), outputs(bucket), created=bucket.time_created.isoformat() if bucket.time_created else "")

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {**properties, "lifecycle": sorted(properties.get("lifecycle", []), key=_rule_key)}

    # -- writing ------------------------------------------------------------------------------------
    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """One insert carrying labels and every setting. A 409 is the name taken: this stack's
        own earlier attempt (same project, our labels for this address) is adopted and brought
        to the wanted settings; anyone else's bucket is refused, never touched."""
        name = properties["name"]
        bucket = self.gcs.bucket(name)
        bucket.labels = label_markers(self.stack, primitive.address)
        self._settings(bucket, properties, set(properties) - {"encryption"})  # a new bucket's keys are Google's
        try:
            with translate(f"creating bucket {name}", primitive.address):
                self.gcs.create_bucket(bucket, project=self.driver.project, location=properties["location"])
        except LeptonError as exc:
            if status_code(google_error(exc)) != 409:
                raise
            return self._adopt(primitive, properties)
        if properties["public"]:
            self._grant_public(bucket, primitive.address, True)
        return self._observed(primitive.address, primitive.region, bucket,
                              [{"role": PUBLIC_ROLE, "members": [PUBLIC_MEMBER]}] if properties["public"] else [])

    def _adopt(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        name = properties["name"]
        try:
            found = self._get(name, primitive.address)
        except LeptonError as exc:
            if status_code(google_error(exc)) == 403:  # GCS's answer for another project's bucket
                raise self._foreign(name, primitive.address, None) from exc
            raise
        if found is None or owned_address_from_labels(found.labels, self.stack) != primitive.address:
            raise self._foreign(name, primitive.address, found)
        if found.location != properties["location"]:
            raise LeptonError(Diagnostic(
                summary=f"bucket {name} ({primitive.address}) already exists in {found.location}, "
                        f"not {properties['location']}",
                address=primitive.address, hint="move it back, or delete it and run lepton again"))
        return self.update(primitive, properties, None, set(properties) - {"name", "location"})

    def _get(self, name: str, address: str) -> Any | None:
        """The bucket as GCS reads it now; None if it is missing."""
        try:
            with translate(f"reading bucket {name}", address):
                return self.gcs.get_bucket(name)
        except LeptonError as exc:
            if is_not_found(exc):
                return None
            raise

    def _foreign(self, name: str, address: str, found: Any | None) -> OwnershipError:
        owner = owner_from_labels(found.labels if found is not None else None)
        detail = (f"it belongs to lepton stack {owner.stack!r} ({owner.address})" if owner else
                  "it does not carry this stack's lepton labels" if found is not None else
                  "it belongs to another project")
        return OwnershipError(Diagnostic(
            summary=f"a bucket named {name!r} already exists and is not owned by stack {self.stack}",
            detail=detail + "; lepton never adopts, changes or deletes what it does not own", address=address,
            hint="rename or remove that bucket yourself, or choose another stack or resource name"))

    @staticmethod
    def _settings(bucket, properties: dict[str, Any], changed: set[str]) -> bool:
        """Put the `changed` bucket settings on the SDK's bucket (marking them for a patch);
        whether any was."""
        touched = False
        if "versioning" in changed:
            bucket.versioning_enabled = properties["versioning"]
            touched = True
        if {"uniform_access", "public_access_prevention", "public"} & changed:
            bucket.iam_configuration.uniform_bucket_level_access_enabled = properties["uniform_access"]
            bucket.iam_configuration.public_access_prevention = properties["public_access_prevention"]
            touched = True
        if "lifecycle" in changed:
            bucket.lifecycle_rules = lifecycle_rules(properties["lifecycle"])
            touched = True
        if "encryption" in changed:
            bucket.default_kms_key_name = None  # back to Google-managed keys
            touched = True
        return touched

    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed | None,
               changed: set[str]) -> Observed:
        """Patch what changed. Going public, prevention is lifted before the grant; going
        private, the grant is revoked before prevention is enforced."""
        name = properties["name"]
        bucket = self.gcs.bucket(name)
        public = properties["public"]
        with translate(f"configuring bucket {name}", primitive.address):
            if "public" in changed and not public:
                self._grant_public(bucket, primitive.address, False)
            if self._settings(bucket, properties, changed):
                bucket.patch()
            if "public" in changed and public:
                self._grant_public(bucket, primitive.address, True)
            bucket.reload()
        return self._observed(primitive.address, primitive.region, bucket,
                              [{"role": PUBLIC_ROLE, "members": [PUBLIC_MEMBER]}] if public else [])

    @staticmethod
    def _grant_public(bucket, address: str, public: bool) -> None:
        """Add (or remove) allUsers as object viewer, keeping every other binding."""
        with translate(f"{'granting' if public else 'revoking'} public read on bucket {bucket.name}", address):
            policy = bucket.get_iam_policy(requested_policy_version=3)
            bindings = [dict(b) for b in policy.bindings]
            if is_public(bindings) == public:
                return
            if public:
                bindings.append({"role": PUBLIC_ROLE, "members": {PUBLIC_MEMBER}})
            else:
                bindings = [{**b, "members": set(b["members"]) - {PUBLIC_MEMBER}} if b["role"] == PUBLIC_ROLE else b
                            for b in bindings]
                bindings = [b for b in bindings if b["members"]]
            policy.bindings = bindings
            bucket.set_iam_policy(policy)

    # -- deleting -----------------------------------------------------------------------------------
    def check_delete(self, current: Observed, recorded) -> str | None:
        if recorded.get("force_destroy"):
            return None
        try:
            with translate(f"checking bucket {current.id} is empty", current.address):
                held = list(self.gcs.list_blobs(current.id, max_results=1, versions=True))
        except LeptonError as exc:
            if is_not_found(exc):
                return None
            raise
        if held:
            return (f"bucket {current.id} still holds objects (or noncurrent versions) and force_destroy is false; "
                    f"empty it, or set `force_destroy: true` on the bucket and run `lepton apply` first")
        return None

    def delete(self, current: Observed) -> None:
        """Delete the bucket (already gone is success), never one whose labels are not this
        address's. With force_destroy every object version goes first; without, GCS itself
        refuses a non-empty bucket."""
        found = self._get(current.id, current.address)
        if found is None:
            return
        if owned_address_from_labels(found.labels, self.stack) != current.address:
            raise OwnershipError(Diagnostic(
                summary=f"the bucket {current.id!r} no longer carries this stack's labels for {current.address}",
                address=current.address,
                hint="lepton never deletes what it does not own: remove it from state with care"))
        if current.properties.get("force_destroy"):
            self._empty(current)
        try:
            with translate(f"deleting bucket {current.id}", current.address):
                self.gcs.bucket(current.id).delete()
        except LeptonError as exc:
            if not is_not_found(exc):
                raise

    def _empty(self, current: Observed) -> None:
        bucket = self.gcs.bucket(current.id)

        def drop(version) -> None:
            try:
                with translate(f"deleting {version.name} (generation {version.generation}) from bucket {current.id}",
                               current.address):
                    bucket.delete_blob(version.name, generation=version.generation)
            except LeptonError as exc:
                if not is_not_found(exc):
                    raise

        with translate(f"listing the objects of bucket {current.id}", current.address):
            versions = list(self.gcs.list_blobs(current.id, versions=True))
        if versions:
            with ThreadPoolExecutor(max_workers=min(DELETE_CONCURRENCY, len(versions)),
                                    thread_name_prefix="gcs-empty") as pool:
                list(pool.map(drop, versions))

    # find_unmarked/mark: GCS takes the labels in the bucket insert itself, so no create leaves
    # an unmarked bucket behind; the base class's "nothing to find" is the truth here.


TYPES = [StorageBucketType]
