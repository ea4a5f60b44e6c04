"""`cdn` on AWS: a CloudFront distribution in front of a bucket or a load balancer.

A bucket origin is reached through an origin access control (SigV4-signed requests) and a
bucket policy statement that lets only this distribution read: the bucket stays private. A
load balancer origin is a custom origin to its DNS name. Updates follow CloudFront's ETag
protocol; a delete disables the distribution, waits until it is deployed, then deletes it.

CloudFront is global: its primitives have the region "global" and are called in us-east-1.
Discovery: the driver's discovery (the tagging API in us-east-1) finds the stack's
distributions and one paginated `list_distributions` describes them all; origin access controls
carry no tags and are found by their description, which names the stack and address (DESIGN §4).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lepton_cli.drivers.aws.common import AwsType, translate
from lepton_cli.drivers.aws.discovery import API_REGION, GLOBAL  # noqa: F401 (region "global", called in us-east-1)
from lepton_cli.drivers.aws.errors import error_code, missing_ok
from lepton_cli.drivers.base import ExpandContext, NameScope, Observed, Primitive, Ref
from lepton_cli.errors import LeptonError
from lepton_cli.spec.models import Cdn, Stack

# The managed "CachingOptimized" policy honours origin cache headers; lepton sets TTLs itself
# with the legacy settings so `default_ttl` means exactly what the plan says.
ATTRIBUTES = {
    "id": ("aws.cloudfront_distribution", "id"),
    "name": ("aws.cloudfront_distribution", "id"),
    "domain": ("aws.cloudfront_distribution", "domain_name"),
}
OAC_MARKER = "lepton stack "
# lepton's fixed settings, stated as properties so that `list` reads each back (a drifted or
# half-made distribution shows in the plan): the access control's signing...
OAC_SIGNING = {"signing_protocol": "sigv4", "signing_behavior": "always", "origin_type": "s3"}
# ... the distribution's price class, default cache behaviour (MaxTTL at least a year) and
# custom origin (a load balancer, over plain HTTP)...
PRICE_CLASS = "PriceClass_100"
MAX_TTL = 31536000
CACHE = {"methods": ["GET", "HEAD"], "compress": True, "min_ttl": 0, "query_string": False, "cookies": "none"}
CUSTOM_ORIGIN = {"http_port": 80, "https_port": 443, "protocol_policy": "http-only"}
# ... and what the bucket policy statement grants: CloudFront reads every object.
READ_ACCESS = {"effect": "Allow", "service": "cloudfront.amazonaws.com", "action": "s3:GetObject", "objects": "*"}


STATEMENT_PREFIX = "LeptonCdn"


def statement_id(resource: str) -> str:
    """A policy statement's Sid (letters and digits only) that names the CDN resource reversibly."""
    return STATEMENT_PREFIX + resource.encode().hex()


def resource_of_statement(sid: str) -> str | None:
    try:
        return bytes.fromhex(sid[len(STATEMENT_PREFIX):]).decode() if sid.startswith(STATEMENT_PREFIX) else None
    except ValueError:
        return None


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Cdn = stack.resources[name]
    origin_kind = stack.resources[resource.origin].kind

    def prim(type_: str, props: dict[str, Any], at: str = GLOBAL) -> Primitive:
        return Primitive(address=f"{name}/aws.{type_}", type=f"aws.{type_}", cloud="aws", region=at,
                         resource=name, kind="cdn", properties=props)

    prims = []
    distribution: dict[str, Any] = {
        "comment": f"lepton {stack.stack} {name}", "default_ttl": resource.default_ttl,
        "https_only": resource.https_only, "enabled": True, "price_class": PRICE_CLASS,
        "cache": {**CACHE, "max_ttl": max(resource.default_ttl, MAX_TTL)},
    }
    if origin_kind == "bucket":
        if stack.cloud_of(resource.origin) != driver.cloud:
            raise LeptonError(f"cdn {name!r}: a CloudFront distribution in front of a bucket on "
                              f"{stack.cloud_of(resource.origin)} is not supported yet")
        oac = prim("cloudfront_oac", {"name": f"{stack.stack}-{name}"[:64],
                                      "description": f"{OAC_MARKER}{stack.stack}: {name}/aws.cloudfront_oac",
                                      **OAC_SIGNING})
        distribution.update({"origin_type": "s3",
                             "origin_domain": Ref(f"{resource.origin}/aws.s3_bucket", "regional_domain_name"),
                             "oac_id": Ref(oac.address, "id"), "custom_origin": None})
        prims.append(oac)
    else:
        distribution.update({"origin_type": "custom", "origin_domain": ctx.ref(resource.origin, "dns_name"),
                             "oac_id": None, "custom_origin": dict(CUSTOM_ORIGIN)})
    dist = prim("cloudfront_distribution", distribution)
    prims.append(dist)
    if origin_kind == "bucket":
        # In the bucket's own region: the policy is a property of the bucket.
        prims.append(prim("s3_bucket_policy", {
            "bucket": ctx.ref(resource.origin, "name"), "distribution_arn": Ref(dist.address, "arn"),
            "statement_id": statement_id(name), "access": dict(READ_ACCESS),
        }, at=stack.region_of(resource.origin)))
    return prims


# -- origin access control --------------------------------------------------------------------------
class OriginAccessControlType(AwsType):
    type_name = "aws.cloudfront_oac"
    global_service = True
    property_keys = frozenset({"name", "description", "signing_protocol", "signing_behavior", "origin_type"})
    output_keys = frozenset({"id"})
    replace_on = frozenset({"name"})
    name_key, name_scope = "name", NameScope.GLOBAL  # OAC names: one per account, and CloudFront is global

    def cloudfront(self):
        return self.client("cloudfront", API_REGION)

    def list(self, region: str) -> list[Observed]:
        with translate("listing origin access controls"):
            return self._owned(self._all())

    def _owned(self, items: list[dict[str, Any]]) -> list[Observed]:
        out = []
        marker = f"{OAC_MARKER}{self.stack}: "
        for item in items:
            description = item.get("Description", "")
            if description.startswith(marker):
                out.append(Observed(description[len(marker):], self.type_name, GLOBAL, item["Id"],
                                    {"name": item["Name"], "description": description,
                                     "signing_protocol": item.get("SigningProtocol"),
                                     "signing_behavior": item.get("SigningBehavior"),
                                     "origin_type": item.get("OriginAccessControlOriginType")},
                                    {"id": item["Id"]}))
        return out

    def _all(self) -> list[dict[str, Any]]:
        # No paginator is published for this call: follow NextMarker as the API documents.
        items, marker = [], None
        while True:
            page = self.cloudfront().list_origin_access_controls(**({"Marker": marker} if marker else {}))
            listing = page.get("OriginAccessControlList", {})
            items += listing.get("Items", [])
            marker = listing.get("NextMarker")
            if not listing.get("IsTruncated") or not marker:
                return items

    def create(self, primitive, properties) -> Observed:
        # Look first: an emulator takes a second control of the same name.
        current = self._find(primitive, properties) or self.create_call(
            primitive, "creating the origin access control", "cloudfront", "create_origin_access_control",
            {"OriginAccessControlConfig": _oac_config(properties)},
            pick=lambda response: Observed(primitive.address, self.type_name, GLOBAL,
                                           response["OriginAccessControl"]["Id"], dict(properties),
                                           {"id": response["OriginAccessControl"]["Id"]}),
            find=lambda: self._find(primitive, properties), taken=("OriginAccessControlAlreadyExists",))
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def _find(self, primitive: Primitive, properties: dict[str, Any]) -> Observed | None:
        """This address's earlier attempt, asked now; names are unique per account, so one
        holding the wanted name that is not this stack's is refused."""
        with translate("looking up origin access controls", primitive.address):
            items = self._all()
        for existing in self._owned(items):
            if self.adoptable(existing, primitive.address, properties):
                return existing
        if any(item.get("Name") == properties["name"] for item in items):
            raise self.refuse_foreign("origin access control", properties["name"], primitive.address)
        return None

    def update(self, primitive, properties, current, changed) -> Observed:
        cf = self.cloudfront()
        with translate("updating the origin access control", primitive.address):
            etag = cf.get_origin_access_control(Id=current.id)["ETag"]
            cf.update_origin_access_control(Id=current.id, IfMatch=etag,
                                            OriginAccessControlConfig=_oac_config(properties))
        return Observed(current.address, self.type_name, GLOBAL, current.id, dict(properties), current.outputs)

    def delete(self, current: Observed) -> None:
        cf = self.cloudfront()
        with missing_ok("NoSuchOriginAccessControl"), translate("deleting the origin access control", current.address):
            etag = cf.get_origin_access_control(Id=current.id)["ETag"]
            cf.delete_origin_access_control(Id=current.id, IfMatch=etag)


def _oac_config(properties: dict[str, Any]) -> dict[str, Any]:
    return {"Name": properties["name"], "Description": properties["description"],
            "SigningProtocol": properties["signing_protocol"], "SigningBehavior": properties["signing_behavior"],
            "OriginAccessControlOriginType": properties["origin_type"]}


# -- distribution -------------------------------------------------------------------------------------
def _config(address: str, stack: str, properties: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    origin: dict[str, Any] = {"Id": "origin", "DomainName": properties["origin_domain"]}
    if properties["origin_type"] == "s3":
        origin.update({"S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": properties["oac_id"]})
    else:
        custom = properties["custom_origin"]
        origin["CustomOriginConfig"] = {"HTTPPort": custom["http_port"], "HTTPSPort": custom["https_port"],
                                        "OriginProtocolPolicy": custom["protocol_policy"]}
    cache, methods = properties["cache"], properties["cache"]["methods"]
    return {
        "CallerReference": f"lepton/{stack}/{address}",
        "Comment": properties["comment"],
        "Enabled": properties["enabled"] and enabled,
        "PriceClass": properties["price_class"],
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "origin",
            "ViewerProtocolPolicy": "redirect-to-https" if properties["https_only"] else "allow-all",
            "AllowedMethods": {"Quantity": len(methods), "Items": list(methods),
                               "CachedMethods": {"Quantity": len(methods), "Items": list(methods)}},
            "Compress": cache["compress"],
            "ForwardedValues": {"QueryString": cache["query_string"], "Cookies": {"Forward": cache["cookies"]}},
            "MinTTL": cache["min_ttl"], "DefaultTTL": properties["default_ttl"], "MaxTTL": cache["max_ttl"],
        },
    }


def _properties(summary: dict[str, Any]) -> dict[str, Any]:
    origin = summary["Origins"]["Items"][0]
    behaviour = summary["DefaultCacheBehavior"]
    forwarded = behaviour.get("ForwardedValues") or {}
    custom = origin.get("CustomOriginConfig")
    properties = {
        "comment": summary.get("Comment", ""), "default_ttl": behaviour.get("DefaultTTL"),
        "https_only": behaviour.get("ViewerProtocolPolicy") == "redirect-to-https",
        "origin_domain": origin["DomainName"], "enabled": summary.get("Enabled"),
        "price_class": summary.get("PriceClass"),
        "cache": {"methods": (behaviour.get("AllowedMethods") or {}).get("Items"),
                  "compress": behaviour.get("Compress"), "min_ttl": behaviour.get("MinTTL"),
                  "max_ttl": behaviour.get("MaxTTL"), "query_string": forwarded.get("QueryString"),
                  "cookies": (forwarded.get("Cookies") or {}).get("Forward")},
        "custom_origin": {"http_port": custom.get("HTTPPort"), "https_port": custom.get("HTTPSPort"),
                          "protocol_policy": custom.get("OriginProtocolPolicy")} if custom else None,
    }
    # A read that omits the origin's kind (moto drops an S3 origin config whose identity is
    # empty, and the access control id) reports nothing for these: refresh keeps state's values.
    if origin.get("S3OriginConfig") is not None or origin.get("CustomOriginConfig") is not None:
        is_s3 = origin.get("S3OriginConfig") is not None
        properties["origin_type"] = "s3" if is_s3 else "custom"
        if not is_s3 or origin.get("OriginAccessControlId"):
            properties["oac_id"] = origin.get("OriginAccessControlId") or None
    return properties


def _outputs(distribution: dict[str, Any]) -> dict[str, Any]:
    return {"id": distribution["Id"], "arn": distribution["ARN"], "domain_name": distribution["DomainName"]}


class DistributionType(AwsType):
    type_name = "aws.cloudfront_distribution"
    global_service = True
    property_keys = frozenset({"comment", "default_ttl", "https_only", "origin_type", "origin_domain", "oac_id",
                               "enabled", "price_class", "cache", "custom_origin"})
    output_keys = frozenset({"id", "arn", "domain_name"})
    update_notes = {k: "updates the distribution's configuration" for k in sorted(property_keys)}

    def cloudfront(self):
        return self.client("cloudfront", API_REGION)

    def _observed(self, address: str, summary: dict[str, Any]) -> Observed:
        return Observed(address, self.type_name, GLOBAL, summary["Id"], _properties(summary), _outputs(summary))

    def list(self, region: str) -> list[Observed]:
        return self._describe(self.discovery(GLOBAL).arns("cloudfront:distribution"))

    def _tagged_now(self) -> dict[str, str]:
        """ARN -> address of the stack's distributions, asked now (not discovery's answer)."""
        owned: dict[str, str] = {}
        for mapping in self.paginate("resourcegroupstaggingapi", API_REGION, "get_resources", "ResourceTagMappingList",
                                     TagFilters=[{"Key": "lepton-stack", "Values": [self.stack]}],
                                     ResourceTypeFilters=["cloudfront:distribution"]):
            address = self.owned(mapping.get("Tags"))
            if address:
                owned[mapping["ResourceARN"]] = address
        return owned

    def _describe(self, owned: dict[str, str]) -> list[Observed]:
        if not owned:
            return []
        summaries = [s for s in self._summaries() if s["ARN"] in owned]
        # AWS's summaries carry the origins and cache behaviour; an emulator's may not. Then
        # read each configuration, concurrently (a small constant per distribution).
        thin = [s for s in summaries if "Origins" not in s]
        if thin:
            with ThreadPoolExecutor(max_workers=min(16, len(thin)), thread_name_prefix="cf-read") as pool:
                configs = dict(zip([s["Id"] for s in thin], pool.map(self._config_of, [s["Id"] for s in thin])))
            summaries = [{**s, **configs[s["Id"]]} if s["Id"] in configs else s for s in summaries]
        return [self._observed(owned[s["ARN"]], s) for s in summaries]

    def _config_of(self, distribution_id: str) -> dict[str, Any]:
        with translate("reading a distribution's configuration"):
            return self.cloudfront().get_distribution_config(Id=distribution_id)["DistributionConfig"]

    def _summaries(self) -> list[dict[str, Any]]:
        items = []
        with translate("listing distributions"):
            for page in self.cloudfront().get_paginator("list_distributions").paginate():
                items += page.get("DistributionList", {}).get("Items", [])
        return items

    def create(self, primitive, properties) -> Observed:
        # The caller reference names stack and address: taken means an earlier attempt.
        current = self.create_call(
            primitive, "creating the CloudFront distribution", "cloudfront", "create_distribution_with_tags",
            {"DistributionConfigWithTags": {"DistributionConfig": _config(primitive.address, self.stack, properties),
                                            "Tags": {"Items": self.tags(primitive.address)}}},
            pick=lambda response: Observed(primitive.address, self.type_name, GLOBAL, response["Distribution"]["Id"],
                                           dict(properties), _outputs(response["Distribution"])),
            find=lambda: next((o for o in self._describe(self._tagged_now()) if o.address == primitive.address), None),
            taken=("DistributionAlreadyExists",))
        changed = self.differs(primitive, current, properties)
        return self.update(primitive, properties, current, changed) if changed else current

    def update(self, primitive, properties, current, changed) -> Observed:
        cf = self.cloudfront()
        with translate("updating the CloudFront distribution", primitive.address):
            found = cf.get_distribution_config(Id=current.id)
            config = found["DistributionConfig"]
            wanted = _config(primitive.address, self.stack, properties)
            config.update({k: v for k, v in wanted.items() if k != "CallerReference"})
            dist = cf.update_distribution(Id=current.id, IfMatch=found["ETag"], DistributionConfig=config)["Distribution"]
        return Observed(current.address, self.type_name, GLOBAL, current.id, dict(properties), _outputs(dist))

    def delete(self, current: Observed) -> None:
        cf = self.cloudfront()
        delay = 1 if self.driver.config.sandbox else 30
        with missing_ok("NoSuchDistribution"), translate("deleting the CloudFront distribution", current.address):
            found = cf.get_distribution_config(Id=current.id)
            etag = found["ETag"]
            if found["DistributionConfig"]["Enabled"]:
                config = {**found["DistributionConfig"], "Enabled": False}
                etag = cf.update_distribution(Id=current.id, IfMatch=etag, DistributionConfig=config)["ETag"]
            cf.get_waiter("distribution_deployed").wait(Id=current.id, WaiterConfig={"Delay": delay, "MaxAttempts": 60})
            etag = cf.get_distribution_config(Id=current.id)["ETag"]
            cf.delete_distribution(Id=current.id, IfMatch=etag)


# -- bucket policy: only this distribution may read ---------------------------------------------------
class BucketPolicyType(AwsType):
    """One statement in the bucket's policy, identified by its Sid: lepton adds and removes only
    its own statement and keeps any others."""

    type_name = "aws.s3_bucket_policy"
    property_keys = frozenset({"bucket", "distribution_arn", "statement_id", "access"})
    output_keys = frozenset({"id"})
    replace_on = frozenset({"bucket", "statement_id"})
    # A statement id is unique within its bucket's policy: a successor with the same one would
    # overwrite its predecessor's statement, and the predecessor's delete remove it.
    name_key, name_scope, name_parent = "statement_id", NameScope.PARENT, "bucket"

    def list(self, region: str) -> list[Observed]:
        # A statement exists only while its distribution does (created after it, deleted
        # before it): without the stack's buckets here or its distributions, nothing to read.
        buckets = self._stack_buckets(region)
        if not buckets or not self.discovery(GLOBAL).arns("cloudfront:distribution"):
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(buckets)), thread_name_prefix="s3-policy") as pool:
            found = list(pool.map(lambda b: (b, self._policy(region, b)), buckets))
        out = []
        for bucket, policy in found:
            for statement in policy.get("Statement", []):
                sid = statement.get("Sid", "")
                resource = resource_of_statement(sid)
                if resource:
                    arn = (statement.get("Condition", {}).get("StringEquals", {}) or {}).get("AWS:SourceArn")
                    out.append(Observed(f"{resource}/aws.s3_bucket_policy", self.type_name, region, f"{bucket}|{sid}",
                                        {"bucket": bucket, "distribution_arn": arn, "statement_id": sid,
                                         "access": _access(bucket, statement)},
                                        {"id": f"{bucket}|{sid}"}))
        return out

    def _stack_buckets(self, region: str) -> list[str]:
        """The stack's buckets in the region, from discovery, without their settings."""
        return sorted(self.discovery(region).buckets())

    def _policy(self, region: str, bucket: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return json.loads(self.client("s3", region).get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if error_code(exc) in ("NoSuchBucketPolicy", "NoSuchBucket"):
                return {}
            raise LeptonError(f"cannot read the policy of bucket {bucket}: {error_code(exc)}") from exc

    @staticmethod
    def _statement(properties: dict[str, Any]) -> dict[str, Any]:
        access = properties["access"]
        return {
            "Sid": properties["statement_id"], "Effect": access["effect"],
            "Principal": {"Service": access["service"]}, "Action": access["action"],
            "Resource": f"arn:aws:s3:::{properties['bucket']}/{access['objects']}",
            "Condition": {"StringEquals": {"AWS:SourceArn": properties["distribution_arn"]}},
        }

    def _policy_with(self, region: str, bucket: str, sid: str, statement: dict[str, Any] | None) -> dict[str, Any]:
        """The bucket's policy with statement `sid` replaced by `statement` (or removed)."""
        policy = self._policy(region, bucket) or {"Version": "2012-10-17", "Statement": []}
        statements = [s for s in policy.get("Statement", []) if s.get("Sid") != sid]
        return {**policy, "Statement": statements + ([statement] if statement is not None else [])}

    def _put(self, region: str, bucket: str, sid: str, statement: dict[str, Any] | None) -> None:
        s3 = self.client("s3", region)
        policy = self._policy_with(region, bucket, sid, statement)
        if policy["Statement"]:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        else:
            s3.delete_bucket_policy(Bucket=bucket)

    def create(self, primitive, properties) -> Observed:
        self.create_call(primitive, "letting the distribution read the bucket", "s3", "put_bucket_policy", {
            "Bucket": properties["bucket"],  # idempotent: a retry puts the same policy again
            "Policy": json.dumps(self._policy_with(primitive.region, properties["bucket"], properties["statement_id"],
                                                   self._statement(properties)))})
        ident = f"{properties['bucket']}|{properties['statement_id']}"
        return Observed(primitive.address, self.type_name, primitive.region, ident, dict(properties), {"id": ident})

    def update(self, primitive, properties, current, changed) -> Observed:
        return self.create(primitive, properties)

    def delete(self, current: Observed) -> None:
        with missing_ok("NoSuchBucket"), translate("removing the distribution's bucket access", current.address):
            self._put(current.region, current.properties["bucket"], current.properties["statement_id"], None)


def _access(bucket: str, statement: dict[str, Any]) -> dict[str, Any]:
    """What a statement grants, in the shape of the `access` property."""
    resource, prefix = statement.get("Resource", ""), f"arn:aws:s3:::{bucket}/"
    return {"effect": statement.get("Effect"), "service": (statement.get("Principal") or {}).get("Service"),
            "action": statement.get("Action"),
            "objects": resource.removeprefix(prefix) if resource.startswith(prefix) else resource}


TYPES = [OriginAccessControlType, DistributionType, BucketPolicyType]
