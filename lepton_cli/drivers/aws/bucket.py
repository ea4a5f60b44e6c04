"""`bucket` on AWS: an S3 bucket with versioning, default encryption, a public access block
(unless `public: true`), lifecycle rules and ownership tags.

S3 has no batched read of bucket settings: the driver's discovery finds the stack's buckets in a
region (the tagging API, and one bucket list that says which are in the region), then each
bucket's settings are four reads (versioning, encryption, public access block, lifecycle) made
concurrently. Bucket names must be globally unique, so they carry a short
hash of stack, resource and account: a retried create finds the same name.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.errors import error_code, missing_ok
from lepton_cli.drivers.aws.tags import tag_dict
from lepton_cli.drivers.base import TAG_NAME, TAG_STACK, ExpandContext, NameScope, Observed, Primitive
from lepton_cli.drivers.names import unique_name
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Bucket, Stack

ATTRIBUTES = {
    "id": ("aws.s3_bucket", "name"),
    "name": ("aws.s3_bucket", "name"),
    "url": ("aws.s3_bucket", "url"),
}
READ_CONCURRENCY = 16
# The settings refresh reads bucket by bucket: setting -> (S3 operation, error code for "none set").
SETTINGS = {
    "versioning": ("get_bucket_versioning", None),
    "encryption": ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
    "public_access_block": ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
    "lifecycle": ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
}
GONE = object()  # a read's answer when the bucket no longer exists
PUBLIC_POLICY_SID = "LeptonPublicRead"


def bucket_name(stack: str, name: str, account: str) -> str:
    """S3 bucket names: globally unique, at most 63 characters (`names.unique_name`)."""
    return unique_name(stack, name, account, limit=63, hash_length=8)


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Bucket = stack.resources[name]
    return [Primitive(
        address=f"{name}/aws.s3_bucket", type="aws.s3_bucket", cloud="aws", region=region, resource=name,
        kind="bucket", properties={
            "name": bucket_name(stack.stack, name, driver.account_id),
            "versioning": resource.versioning, "encryption": resource.encryption, "public": resource.public,
            "lifecycle": [{"prefix": r.prefix, "expire_days": r.expire_days} for r in resource.lifecycle],
            "force_destroy": resource.force_destroy,
        })]


def outputs(name: str, region: str) -> dict[str, Any]:
    domain = f"{name}.s3.{region}.amazonaws.com"
    return {"id": name, "name": name, "arn": f"arn:aws:s3:::{name}", "url": f"https://{domain}",
            "regional_domain_name": domain}


class S3BucketType(AwsType):
    type_name = "aws.s3_bucket"
    property_keys = frozenset({"name", "versioning", "encryption", "public", "lifecycle", "force_destroy"})
    output_keys = frozenset({"id", "name", "arn", "url", "regional_domain_name"})
    replace_on = frozenset({"name"})
    local = frozenset({"force_destroy"})
    name_key, name_scope = "name", NameScope.GLOBAL  # one bucket name in the whole of S3

    # -- reading ----------------------------------------------------------------------------------
    def list(self, region: str) -> list[Observed]:
        found = self.discovery(region).buckets()  # only the buckets really in `region`
        if not found:
            return []
        reads = [(name, setting) for name in sorted(found) for setting in SETTINGS]
        with ThreadPoolExecutor(max_workers=min(READ_CONCURRENCY, len(reads)), thread_name_prefix="s3-read") as pool:
            results = dict(zip(reads, pool.map(lambda read: self._read(region, *read), reads)))
        out = []
        for name in sorted(found):
            settings = {setting: results[name, setting] for setting in SETTINGS}
            if not any(value is GONE for value in settings.values()):  # deleted since discovery
                out.append(self._observed(found[name], region, name, settings))
        return out

    def _read(self, region: str, name: str, setting: str) -> Any:
        """One of a bucket's four settings (S3 reads them only one by one): its answer, None
        where the bucket has no such configuration, or GONE if the bucket is."""
        from botocore.exceptions import ClientError

        operation, missing = SETTINGS[setting]
        try:
            with translate(f"reading bucket {name}"):
                try:
                    return getattr(self.client("s3", region), operation)(Bucket=name)
                except ClientError as exc:
                    if error_code(exc) == missing:
                        return None
                    raise
        except LeptonError as exc:
            if error_code(exc.__cause__) == "NoSuchBucket":
                return GONE
            raise

    def _observed(self, address: str, region: str, name: str, settings: dict[str, Any]) -> Observed:
        rules = (settings["encryption"] or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        blocked = (settings["public_access_block"] or {}).get("PublicAccessBlockConfiguration", {})
        return Observed(address, self.type_name, region, name, {
            "name": name, "versioning": (settings["versioning"] or {}).get("Status") == "Enabled",
            "encryption": bool(rules),
            "public": not (blocked and all(blocked.get(k) for k in (
                "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))),
            "lifecycle": sorted(
                ({"prefix": (r.get("Filter") or {}).get("Prefix", r.get("Prefix", "")),
                  "expire_days": r.get("Expiration", {}).get("Days")}
                 for r in (settings["lifecycle"] or {}).get("Rules", []) if r.get("Status") == "Enabled"),
                key=lambda r: (r["prefix"], r["expire_days"] or 0)),
        }, outputs(name, region))

    def normalize(self, properties):
        return {**properties, "lifecycle": sorted(properties["lifecycle"], key=lambda r: (r["prefix"], r["expire_days"]))}

    # -- writing ------------------------------------------------------------------------------------
    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        s3 = self.client("s3", primitive.region)
        name = properties["name"]
        # In us-east-1 CreateBucket answers 200 for a bucket this account already owns, so only a
        # look first tells a retried create from someone else's bucket. Elsewhere CreateBucket
        # itself refuses an existing bucket, and a fresh one needs no look.
        existing = self._existence(s3, name, primitive.address) if primitive.region == "us-east-1" else "absent"
        if existing == "absent":
            # Tags ride on the create where S3 takes them (an emulator may ignore them; the
            # tagging call below and the pending-create journal cover that window).
            configuration: dict[str, Any] = {"Tags": self.tags(primitive.address)}
            if primitive.region != "us-east-1":
                configuration["LocationConstraint"] = primitive.region
            args = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced",
                    "CreateBucketConfiguration": configuration}
            try:
                with translate(f"creating bucket {name}", primitive.address):
                    s3.create_bucket(**args)
            except LeptonError as exc:
                code = error_code(exc.__cause__)
                if code not in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                    raise
                existing = "ours" if code == "BucketAlreadyOwnedByYou" else "foreign"
        if existing == "foreign":
            raise self.refuse_foreign("bucket", name, primitive.address)
        if existing == "ours":  # a retried create: adopt it if it is this address's, here
            tags = self._tags(s3, name)
            if self.owned(tags) != primitive.address:
                raise self.refuse_foreign("bucket", name, primitive.address, tags)
            where = self._region(s3, name)
            if where != primitive.region:
                raise LeptonError(f"bucket {name} ({primitive.address}) already exists in {where}, not "
                                  f"{primitive.region}; move it back, or delete it and run lepton again")
            return self._configure(primitive, properties, set(properties))
        with translate(f"tagging bucket {name}", primitive.address):
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": self.tags(primitive.address)})
        return self._configure(primitive, properties, self._unlike_fresh(properties), fresh=True)

    @staticmethod
    def _unlike_fresh(properties: dict[str, Any]) -> set[str]:
        """The settings a bucket just created does not have already: it is unversioned, without
        lifecycle rules or policy. `public` is always set: AWS blocks public access on a new
        bucket and emulators do not."""
        return {"public", *(key for key in ("versioning", "encryption", "lifecycle") if properties[key])}

    @staticmethod
    def _region(s3, name: str) -> str:
        with translate(f"reading the region of bucket {name}"):
            return s3.head_bucket(Bucket=name).get("BucketRegion") or "us-east-1"

    @staticmethod
    def _existence(s3, name: str, address: str) -> str:
        """"absent", "ours" (this account's) or "foreign" (another account's)."""
        from botocore.exceptions import ClientError

        try:
            s3.head_bucket(Bucket=name)
            return "ours"
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                return "absent"
            if status == 403:
                return "foreign"
            with translate(f"checking whether bucket {name} exists", address):
                raise

    @staticmethod
    def _tags(s3, name: str) -> list[dict[str, str]]:
        from botocore.exceptions import ClientError

        try:
            return s3.get_bucket_tagging(Bucket=name).get("TagSet", [])
        except ClientError:
            return []

    def find_unmarked(self, region: str, name: str, address: str) -> Observed | None:
        """This account's bucket `name` in `region` carrying no lepton tags at all (a create
        killed before its tagging call), read like `list` reads one."""
        s3 = self.client("s3", region)
        if self._existence(s3, name, address) != "ours" or self._region(s3, name) != region:
            return None
        if TAG_STACK in tag_dict(self._tags(s3, name)):
            return None  # marked: this stack's is listed, another stack's is not ours
        settings = {setting: self._read(region, name, setting) for setting in SETTINGS}
        if any(value is GONE for value in settings.values()):
            return None
        return self._observed(address, region, name, settings)

    def mark(self, current: Observed, address: str) -> None:
        s3 = self.client("s3", current.region)
        others = [t for t in self._tags(s3, current.id) if t.get("Key") not in (TAG_STACK, TAG_NAME)]
        with translate(f"tagging bucket {current.id}", address):
            s3.put_bucket_tagging(Bucket=current.id, Tagging={"TagSet": others + self.tags(address)})

    def update(self, primitive, properties, current, changed) -> Observed:
        return self._configure(primitive, properties, changed)

    def _configure(self, primitive: Primitive, properties: dict[str, Any], changed: set[str],
                   fresh: bool = False) -> Observed:
        """Make the `changed` settings so; a `fresh` bucket has no policy to edit."""
        s3 = self.client("s3", primitive.region)
        name = properties["name"]
        with translate(f"configuring bucket {name}", primitive.address):
            if "public" in changed:
                if properties["public"]:
                    s3.delete_public_access_block(Bucket=name)
                    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                        "Sid": PUBLIC_POLICY_SID, "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{name}/*"}]}))
                else:
                    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                        "BlockPublicAcls": True, "IgnorePublicAcls": True,
                        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
                    if not fresh:
                        self._drop_public_statement(s3, name)
            if "versioning" in changed:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
                    "Status": "Enabled" if properties["versioning"] else "Suspended"})
            if "encryption" in changed:
                if properties["encryption"]:
                    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
                else:
                    s3.delete_bucket_encryption(Bucket=name)
            if "lifecycle" in changed:
                if properties["lifecycle"]:
                    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
                        {"ID": f"lepton-{i}", "Status": "Enabled", "Filter": {"Prefix": rule["prefix"]},
                         "Expiration": {"Days": rule["expire_days"]}}
                        for i, rule in enumerate(properties["lifecycle"])]})
                else:
                    s3.delete_bucket_lifecycle(Bucket=name)
        return Observed(primitive.address, self.type_name, primitive.region, name, dict(properties),
                        outputs(name, primitive.region))

    @staticmethod
    def _drop_public_statement(s3, name: str) -> None:
        """Remove only lepton's public-read statement, keeping statements others added (a CDN's)."""
        from botocore.exceptions import ClientError

        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        except ClientError:
            return
        kept = [s for s in policy.get("Statement", []) if s.get("Sid") != PUBLIC_POLICY_SID]
        if kept != policy.get("Statement", []):
            if kept:
                s3.put_bucket_policy(Bucket=name, Policy=json.dumps({**policy, "Statement": kept}))
            else:
                s3.delete_bucket_policy(Bucket=name)

    # -- deleting -----------------------------------------------------------------------------------
    def check_delete(self, current: Observed, recorded) -> str | None:
        if recorded.get("force_destroy"):
            return None
        s3 = self.client("s3", current.region)
        with missing_ok("NoSuchBucket"), translate(f"checking bucket {current.id} is empty", current.address):
            page = s3.list_object_versions(Bucket=current.id, MaxKeys=1000)
            count = len(page.get("Versions", [])) + len(page.get("DeleteMarkers", []))
            if count:
                more = "at least " if page.get("IsTruncated") else ""
                return (f"bucket {current.id} still holds {more}{count} object version(s) and force_destroy is false; "
                        f"empty it, or set `force_destroy: true` on the bucket and run `lepton apply` first")
        return None

    def delete(self, current: Observed) -> None:
        s3 = self.client("s3", current.region)
        with missing_ok("NoSuchBucket"), translate(f"deleting bucket {current.id}", current.address):
            # Only force_destroy empties a bucket; without it S3 itself refuses a non-empty one.
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=current.id) \
                if current.properties.get("force_destroy") else ()
            for page in pages:
                objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                           for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                for start in range(0, len(objects), 1000):
                    s3.delete_objects(Bucket=current.id, Delete={"Objects": objects[start:start + 1000], "Quiet": True})
            s3.delete_bucket(Bucket=current.id)


TYPES = [S3BucketType]
