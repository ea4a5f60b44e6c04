"""bucket on AWS (S3), against moto."""

from __future__ import annotations

import json

import pytest

from lepton_cli.errors import LeptonError

BUCKET = """\
resources:
  data:
    kind: bucket
    versioning: {versioning}
    public: {public}
    force_destroy: {force}
    lifecycle: {lifecycle}
"""


def bucket(versioning="true", public="false", force="false", lifecycle="[{prefix: 'tmp/', expire_days: 7}]"):
    return BUCKET.format(versioning=versioning, public=public, force=force, lifecycle=lifecycle)


def name_of(aws) -> str:
    return aws.store.read().primitives["data/aws.s3_bucket"].id


def test_every_setting_is_applied_and_reads_back_unchanged(aws):
    aws.converge(bucket())
    s3, name = aws.client("s3"), name_of(aws)
    assert name.startswith(f"{aws.stack}-data-") and len(name) <= 63
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert lifecycle["Filter"]["Prefix"] == "tmp/" and lifecycle["Expiration"]["Days"] == 7
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags == {"lepton-stack": aws.stack, "lepton-name": "data/aws.s3_bucket"}
    aws.destroy(bucket())


def test_settings_update_in_place_and_public_is_only_what_the_plan_says(aws):
    aws.converge(bucket())
    plan = aws.plan(bucket(versioning="false", public="true", lifecycle="[]"))
    (change,) = plan.actionable
    assert change.action.value == "update" and set(change.diff) == {"versioning", "public", "lifecycle"}
    assert aws.apply(plan).ok
    s3, name = aws.client("s3"), name_of(aws)
    statement = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"][0]
    assert statement["Principal"] == "*" and statement["Action"] == "s3:GetObject"
    assert not aws.plan(bucket(versioning="false", public="true", lifecycle="[]")).has_changes
    aws.converge(bucket())  # and private again
    assert all(s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"].values())
    aws.destroy(bucket())


def test_destroy_refuses_a_non_empty_bucket_before_deleting_anything(aws):
    body = bucket() + "  web:\n    kind: compute\n    instance_type: t3.micro\n    count: 0\n"
    aws.converge(body)
    s3, name = aws.client("s3"), name_of(aws)
    s3.put_object(Bucket=name, Key="keep.txt", Body=b"data")
    with pytest.raises(LeptonError, match="force_destroy"):
        aws.plan(body, destroy=True)
    assert set(aws.store.read().primitives) >= {"web/aws.autoscaling_group", "data/aws.s3_bucket"}
    assert s3.head_object(Bucket=name, Key="keep.txt")


def test_force_destroy_empties_every_version_then_deletes(aws):
    aws.converge(bucket(force="true"))
    s3, name = aws.client("s3"), name_of(aws)
    for i in range(3):
        s3.put_object(Bucket=name, Key="same.txt", Body=f"v{i}".encode())
    s3.delete_object(Bucket=name, Key="same.txt")  # a delete marker too
    aws.destroy(bucket(force="true"))
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert aws.store.read().primitives == {}
