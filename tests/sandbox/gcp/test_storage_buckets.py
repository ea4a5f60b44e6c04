"""The Cloud Storage emulator's buckets, driven only through google-cloud-storage."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from tests.sandbox.gcp.storage_server import client, serve


@pytest.fixture(scope="module")
def endpoint():
    with serve() as url:
        yield url


@pytest.fixture
def gcs(endpoint):
    return client(endpoint)


def make(gcs, name, **settings):
    bucket = gcs.bucket(name)
    bucket.labels = settings.get("labels", {})
    bucket.versioning_enabled = settings.get("versioning", False)
    bucket.iam_configuration.uniform_bucket_level_access_enabled = settings.get("uniform", True)
    bucket.iam_configuration.public_access_prevention = settings.get("pap", "enforced")
    for prefix, age in settings.get("expire", []):
        bucket.add_lifecycle_delete_rule(age=age, matches_prefix=[prefix])
    return gcs.create_bucket(bucket, location=settings.get("location"))


def test_create_reads_back_every_setting(gcs):
    make(gcs, "cfg-bucket", labels={"lepton-stack": "shop", "lepton-name": "assets"}, versioning=True,
         expire=[("tmp/", 7)], location="us-central1")
    got = gcs.get_bucket("cfg-bucket")
    assert got.labels == {"lepton-stack": "shop", "lepton-name": "assets"}
    assert got.versioning_enabled is True
    assert [dict(r) for r in got.lifecycle_rules] == [
        {"action": {"type": "Delete"}, "condition": {"age": 7, "matchesPrefix": ["tmp/"]}}]
    assert got.iam_configuration.uniform_bucket_level_access_enabled is True
    assert got.iam_configuration.uniform_bucket_level_access_locked_time is not None
    assert got.iam_configuration.public_access_prevention == "enforced"
    assert (got.location, got.location_type, got.storage_class) == ("US-CENTRAL1", "region", "STANDARD")
    assert got.metageneration == 1 and got.time_created is not None and got.etag
    assert got.project_number and got.id == "cfg-bucket"


def test_defaults_location_us_and_inherited_prevention(gcs):
    bucket = gcs.create_bucket("plain-bucket")
    assert (bucket.location, bucket.location_type) == ("US", "multi-region")
    assert bucket.iam_configuration.public_access_prevention == "inherited"
    assert bucket.iam_configuration.uniform_bucket_level_access_enabled is False
    assert bucket.versioning_enabled is False and bucket.labels == {}


def test_unknown_location_refused(gcs):
    with pytest.raises(gexc.BadRequest):
        gcs.create_bucket("nowhere-bucket", location="mars-central1")


def test_patch_changes_settings_and_bumps_metageneration(gcs):
    bucket = make(gcs, "patch-bucket", labels={"a": "1", "b": "2"})
    bucket.labels = {"a": "1", "c": "3"}  # drops b, adds c
    bucket.versioning_enabled = True
    bucket.add_lifecycle_delete_rule(age=30, matches_prefix=["logs/"])
    bucket.iam_configuration.public_access_prevention = "inherited"
    bucket.patch()
    got = gcs.get_bucket("patch-bucket")
    assert got.labels == {"a": "1", "c": "3"}
    assert got.versioning_enabled is True
    assert [r["condition"] for r in got.lifecycle_rules] == [{"age": 30, "matchesPrefix": ["logs/"]}]
    assert got.iam_configuration.public_access_prevention == "inherited"
    assert got.iam_configuration.uniform_bucket_level_access_enabled is True  # untouched by the patch
    assert got.metageneration == 2
    got.clear_lifecycle_rules()
    got.patch()
    assert list(gcs.get_bucket("patch-bucket").lifecycle_rules) == []


def test_metageneration_preconditions(gcs):
    bucket = make(gcs, "precondition-bucket")
    bucket.labels = {"x": "y"}
    with pytest.raises(gexc.PreconditionFailed):
        bucket.patch(if_metageneration_match=7)
    bucket.patch(if_metageneration_match=1)
    with pytest.raises(gexc.PreconditionFailed):
        bucket.delete(if_metageneration_match=1)
    bucket.delete(if_metageneration_match=2)
    with pytest.raises(gexc.NotFound):
        gcs.get_bucket("precondition-bucket")


def test_list_by_prefix_with_pagination(gcs):
    for i in range(5):
        gcs.create_bucket(f"pages-{i}")
    gcs.create_bucket("other-pages")
    pages = gcs.list_buckets(prefix="pages-", page_size=2).pages
    names = [[b.name for b in page] for page in pages]
    assert names == [["pages-0", "pages-1"], ["pages-2", "pages-3"], ["pages-4"]]


def test_list_is_per_project(gcs, endpoint):
    gcs.create_bucket("mine-only")
    assert "mine-only" not in {b.name for b in client(endpoint, "another-project").list_buckets()}


@pytest.mark.parametrize("name", [
    "ab", "a" * 64, "Upper-case", "-leading", "trailing-", "goog-bucket", "my-google-bucket", "192.168.5.4",
    "under score", "a..b", "dots." + "a" * 64 + ".com",
])
def test_name_rules(gcs, name):
    # Through the SDK's connection: `create_bucket` checks a few of these rules client-side.
    with pytest.raises(gexc.BadRequest) as err:
        gcs._connection.api_request(method="POST", path="/b", query_params={"project": gcs.project},
                                    data={"name": name})
    assert err.value.errors[0]["reason"] == "invalid"


@pytest.mark.parametrize("name", ["abc", "a" * 63, "with_underscore", "dotted.name.example", "x" * 60 + "." + "y" * 60])
def test_names_accepted(gcs, name):
    assert gcs.create_bucket(name).name == name


def test_names_are_global_across_projects(gcs, endpoint):
    gcs.create_bucket("taken-name")
    with pytest.raises(gexc.Conflict) as mine:
        gcs.create_bucket("taken-name")
    assert "you already own it" in mine.value.message
    with pytest.raises(gexc.Conflict) as theirs:
        client(endpoint, "someone-else").create_bucket("taken-name")
    assert "not available" in theirs.value.message
    assert theirs.value.errors[0]["reason"] == "conflict"


def test_bad_labels_refused(gcs):
    bucket = gcs.bucket("bad-labels")
    bucket.labels = {"Upper": "x"}
    with pytest.raises(gexc.BadRequest):
        gcs.create_bucket(bucket)
    with pytest.raises(gexc.NotFound):
        gcs.get_bucket("bad-labels")


def test_lifecycle_rule_needs_known_action_and_condition(gcs):
    bucket = gcs.bucket("bad-lifecycle")
    bucket.lifecycle_rules = [{"action": {"type": "Explode"}, "condition": {"age": 1}}]
    with pytest.raises(gexc.BadRequest):
        gcs.create_bucket(bucket)
    bucket.lifecycle_rules = [{"action": {"type": "Delete"}, "condition": {}}]
    with pytest.raises(gexc.BadRequest):
        gcs.create_bucket(bucket)


def test_missing_bucket_is_404(gcs):
    with pytest.raises(gexc.NotFound):
        gcs.get_bucket("never-made")
    with pytest.raises(gexc.NotFound):
        gcs.bucket("never-made").delete()
    assert gcs.lookup_bucket("never-made") is None


def test_non_empty_bucket_delete_refused_even_for_noncurrent_versions(gcs):
    bucket = make(gcs, "full-bucket", versioning=True)
    blob = bucket.blob("a.txt")
    blob.upload_from_string(b"one")
    with pytest.raises(gexc.Conflict) as err:
        bucket.delete()
    assert err.value.message.endswith(": The bucket you tried to delete is not empty.")
    bucket.blob("a.txt").delete()  # no generation named: only a noncurrent version remains
    assert list(gcs.list_blobs("full-bucket")) == []
    with pytest.raises(gexc.Conflict):
        bucket.delete()
    for version in gcs.list_blobs("full-bucket", versions=True):
        version.delete()
    bucket.delete()
    assert gcs.lookup_bucket("full-bucket") is None


def test_iam_policy_round_trip_and_public_binding_under_prevention(gcs):
    bucket = make(gcs, "iam-bucket", pap="enforced")
    policy = bucket.get_iam_policy(requested_policy_version=3)
    assert any(b["role"] == "roles/storage.legacyBucketOwner" for b in policy.bindings)
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
    with pytest.raises(gexc.PreconditionFailed) as err:
        bucket.set_iam_policy(policy)
    assert "public access prevention" in err.value.message
    assert not any("allUsers" in b["members"] for b in bucket.get_iam_policy().bindings)

    bucket.iam_configuration.public_access_prevention = "inherited"
    bucket.patch()
    policy = bucket.get_iam_policy()
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
    bucket.set_iam_policy(policy)
    viewers = [b for b in bucket.get_iam_policy().bindings if b["role"] == "roles/storage.objectViewer"]
    assert viewers and viewers[0]["members"] == {"allUsers"}


def test_iam_stale_etag_refused(gcs):
    bucket = make(gcs, "iam-etag", pap="inherited")
    stale = bucket.get_iam_policy()
    fresh = bucket.get_iam_policy()
    fresh.bindings.append({"role": "roles/storage.objectViewer", "members": {"user:a@example.com"}})
    bucket.set_iam_policy(fresh)
    stale.bindings.append({"role": "roles/storage.objectViewer", "members": {"user:b@example.com"}})
    with pytest.raises(gexc.PreconditionFailed):
        bucket.set_iam_policy(stale)


def test_iam_bad_member_refused(gcs):
    bucket = make(gcs, "iam-member", pap="inherited")
    policy = bucket.get_iam_policy()
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"everyone"}})
    with pytest.raises(gexc.BadRequest):
        bucket.set_iam_policy(policy)


def test_object_acl_refused_under_uniform_access(gcs):
    bucket = make(gcs, "uniform-acl", pap="inherited")
    blob = bucket.blob("f")
    blob.upload_from_string(b"x")
    with pytest.raises(gexc.BadRequest) as err:
        blob.acl.reload()
    assert "uniform bucket-level access" in err.value.message
    with pytest.raises(gexc.BadRequest):
        blob.make_public()
    legacy = make(gcs, "legacy-acl", uniform=False, pap="inherited")
    other = legacy.blob("f")
    other.upload_from_string(b"x")
    other.acl.reload()
    assert list(other.acl)


def test_public_object_acl_refused_under_prevention(gcs):
    bucket = make(gcs, "fine-grained-pap", uniform=False, pap="enforced")
    blob = bucket.blob("f")
    blob.upload_from_string(b"x")
    with pytest.raises(gexc.PreconditionFailed):
        blob.make_public()
    bucket.iam_configuration.public_access_prevention = "inherited"
    bucket.patch()
    blob.make_public()
    blob.acl.reload()
    assert "READER" in blob.acl.all().get_roles()


def test_update_replaces_what_it_does_not_name(gcs):
    bucket = make(gcs, "update-bucket", labels={"keep": "no"}, versioning=True)
    fresh = gcs.bucket("update-bucket")  # a full update from a resource that names nothing
    fresh.storage_class = "NEARLINE"
    fresh.update()
    got = gcs.get_bucket("update-bucket")
    assert got.labels == {} and got.versioning_enabled is False and got.storage_class == "NEARLINE"
    assert got.location == bucket.location  # immutable
