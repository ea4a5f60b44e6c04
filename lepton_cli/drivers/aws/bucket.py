"""`bucket` on AWS: an S3 bucket with versioning, default encryption, a public access block
(unless `public: true`), lifecycle rules and ownership tags.

S3 has no batched read of bucket settings: discovery of the stack's buckets is one paginated
Resource Groups Tagging API call per region, then each bucket's settings are a small constant
number of reads made concurrently. Bucket names must be globally unique, so they carry a short
hash of stack, resource and account: a retried create finds the same name.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.errors import error_code, missing_ok
from lepton_cli.drivers.base import ExpandContext, Observed, Primitive
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Bucket, Stack

ATTRIBUTES = {
    "id": ("aws.s3_bucket", "name"),
    "name": ("aws.s3_bucket", "name"),
    "url": ("aws.s3_bucket", "url"),
}
READ_CONCURRENCY = 16
PUBLIC_POLICY_SID = "LeptonPublicRead"


def bucket_name(stack: str, name: str, account: str) -> str:
    digest = hashlib.sha256(f"{stack}/{name}/{account}".encode()).hexdigest()[:8]
    return f"{stack}-{name}"[: 63 - 9] + f"-{digest}"


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
    replace_on = frozenset({"name"})
    local = frozenset({"force_destroy"})

    # -- reading ----------------------------------------------------------------------------------
    def list(self, region: str) -> list[Observed]:
        tagging = self.client("resourcegroupstaggingapi", region)
        found: dict[str, str] = {}
        with translate("finding the stack's buckets"):
            for page in tagging.get_paginator("get_resources").paginate(
                    TagFilters=[{"Key": "lepton-stack", "Values": [self.stack]}], ResourceTypeFilters=["s3"]):
                for mapping in page["ResourceTagMappingList"]:
                    address = self.owned(mapping.get("Tags"))
                    if address:
                        found[mapping["ResourceARN"].rsplit(":", 1)[-1]] = address
        if not found:
            return []
        with ThreadPoolExecutor(max_workers=min(READ_CONCURRENCY, len(found)), thread_name_prefix="s3-read") as pool:
            observed = list(pool.map(lambda item: self._read(region, *item), sorted(found.items())))
        return [o for o in observed if o is not None]

    def _read(self, region: str, name: str, address: str) -> Observed | None:
        """A bucket's settings: five reads, whatever the bucket."""
        s3 = self.client("s3", region)
        try:
            with translate(f"reading bucket {name}", address):
                location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
                if location != region:
                    return None  # the tagging API is regional, but be certain
                versioning = s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled"
                encryption = self._optional(s3.get_bucket_encryption, name, "ServerSideEncryptionConfigurationNotFoundError")
                block = self._optional(s3.get_public_access_block, name, "NoSuchPublicAccessBlockConfiguration")
                lifecycle = self._optional(s3.get_bucket_lifecycle_configuration, name, "NoSuchLifecycleConfiguration")
        except LeptonError as exc:
            if error_code(exc.__cause__) == "NoSuchBucket":
                return None
            raise
        rules = (encryption or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        blocked = (block or {}).get("PublicAccessBlockConfiguration", {})
        return Observed(address, self.type_name, region, name, {
            "name": name, "versioning": versioning, "encryption": bool(rules),
            "public": not (blocked and all(blocked.get(k) for k in (
                "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))),
            "lifecycle": sorted(
                ({"prefix": (r.get("Filter") or {}).get("Prefix", r.get("Prefix", "")),
                  "expire_days": r.get("Expiration", {}).get("Days")}
                 for r in (lifecycle or {}).get("Rules", []) if r.get("Status") == "Enabled"),
                key=lambda r: (r["prefix"], r["expire_days"] or 0)),
        }, outputs(name, region))

    @staticmethod
    def _optional(call, name: str, missing_code: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return call(Bucket=name)
        except ClientError as exc:
            if error_code(exc) == missing_code:
                return None
            raise

    def normalize(self, properties):
        return {**properties, "lifecycle": sorted(properties["lifecycle"], key=lambda r: (r["prefix"], r["expire_days"]))}

    # -- writing ------------------------------------------------------------------------------------
    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        s3 = self.client("s3", primitive.region)
        name = properties["name"]
        # Look before creating: in us-east-1 CreateBucket answers 200 for a bucket this account
        # already owns, so only an explicit check tells a retried create from someone else's bucket.
        existing = self._existence(s3, name, primitive.address)
        if existing == "foreign":
            raise self.refuse_foreign("bucket", name, primitive.address)
        if existing == "ours":
            tags = self._tags(s3, name)
            if self.owned(tags) != primitive.address:
                raise self.refuse_foreign("bucket", name, primitive.address, tags)
        else:
            args: dict[str, Any] = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
            if primitive.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": primitive.region}
            try:
                with translate(f"creating bucket {name}", primitive.address):
                    s3.create_bucket(**args)
            except LeptonError as exc:
                if error_code(exc.__cause__) in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou"):
                    raise self.refuse_foreign("bucket", name, primitive.address) from None
                raise
            with translate(f"tagging bucket {name}", primitive.address):
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": self.tags(primitive.address)})
        return self._configure(primitive, properties, set(properties))

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

    def update(self, primitive, properties, current, changed) -> Observed:
        return self._configure(primitive, properties, changed)

    def _configure(self, primitive: Primitive, properties: dict[str, Any], changed: set[str]) -> Observed:
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
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=current.id):
                objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                           for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                for start in range(0, len(objects), 1000):
                    s3.delete_objects(Bucket=current.id, Delete={"Objects": objects[start:start + 1000], "Quiet": True})
            s3.delete_bucket(Bucket=current.id)


TYPES = [S3BucketType]
