"""bucket on Google Cloud (GCS): the real driver and engine against the project's Cloud Storage
emulator, checked with google-cloud-storage directly."""

from __future__ import annotations

import pytest

from lepton_cli.drivers.base import DriverConfig, Observed
from lepton_cli.drivers.gcp.driver import GcpDriver
from lepton_cli.errors import LeptonError, OwnershipError
from lepton_cli.spec.loader import load_plan_text
from tests.sandbox.gcp.storage_server import PROJECT, client

ADDRESS = "data/gcp.storage_bucket"
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


@pytest.fixture
def gcs(gcp):
    """The GCP driver fixture (tests/drivers/gcp/conftest.py) with the bucket's helpers."""
    gcp.sdk = lambda project=PROJECT: client(gcp.endpoints["storage"], project)
    gcp.name = lambda: gcp.store.read().primitives[ADDRESS].id
    gcp.calls = gcp.counter.calls
    return gcp


def public_members(bucket) -> set[str]:
    return {m for b in bucket.get_iam_policy().bindings if b["role"] == "roles/storage.objectViewer"
            for m in b["members"]}


def test_every_setting_is_applied_and_reads_back_unchanged(gcs):
    gcs.converge(bucket())
    name = gcs.name()
    assert name.startswith(f"{gcs.stack}-data-") and len(name) <= 63
    got = gcs.sdk().get_bucket(name)
    assert got.versioning_enabled is True
    assert got.iam_configuration.uniform_bucket_level_access_enabled is True
    assert got.iam_configuration.public_access_prevention == "enforced"
    assert [dict(r) for r in got.lifecycle_rules] == [
        {"action": {"type": "Delete"}, "condition": {"age": 7, "matchesPrefix": ["tmp/"]}}]
    assert got.location == "US-CENTRAL1"
    assert "allUsers" not in public_members(got)
    outputs = gcs.store.read().primitives[ADDRESS].outputs
    assert outputs["url"] == f"gs://{name}" and outputs["name"] == name and outputs["self_link"].endswith(f"/b/{name}")
    gcs.destroy(bucket())
    assert gcs.sdk().lookup_bucket(name) is None


def test_labels_name_the_owner(gcs):
    from lepton_cli.drivers.ownership import owned_address_from_labels

    gcs.converge(bucket())
    labels = gcs.sdk().get_bucket(gcs.name()).labels
    assert owned_address_from_labels(labels, gcs.stack) == ADDRESS
    gcs.destroy(bucket())


def test_settings_update_in_place_and_public_toggles(gcs):
    gcs.converge(bucket())
    name = gcs.name()
    metageneration = gcs.sdk().get_bucket(name).metageneration
    plan = gcs.plan(bucket(versioning="false", public="true", lifecycle="[{prefix: 'logs/', expire_days: 30}]"))
    (change,) = plan.actionable
    assert change.action.value == "update"
    assert set(change.diff) == {"versioning", "public", "public_access_prevention", "lifecycle"}
    assert gcs.apply(plan).ok
    got = gcs.sdk().get_bucket(name)
    assert got.metageneration > metageneration  # patched, not replaced
    assert got.versioning_enabled is False
    assert got.iam_configuration.public_access_prevention == "inherited"
    assert "allUsers" in public_members(got)
    assert [r["condition"] for r in got.lifecycle_rules] == [{"age": 30, "matchesPrefix": ["logs/"]}]
    assert not gcs.plan(bucket(versioning="false", public="true",
                               lifecycle="[{prefix: 'logs/', expire_days: 30}]")).has_changes

    gcs.converge(bucket())  # and private again
    got = gcs.sdk().get_bucket(name)
    assert got.iam_configuration.public_access_prevention == "enforced"
    assert "allUsers" not in public_members(got)
    assert any(b["role"] == "roles/storage.legacyBucketOwner" for b in got.get_iam_policy().bindings)
    gcs.destroy(bucket())


def test_drift_made_outside_lepton_is_planned_back(gcs):
    gcs.converge(bucket())
    got = gcs.sdk().get_bucket(gcs.name())
    got.iam_configuration.public_access_prevention = "inherited"
    got.versioning_enabled = False
    got.add_lifecycle_delete_rule(age=1)
    got.patch()
    (change,) = gcs.plan(bucket()).actionable
    assert set(change.diff) == {"versioning", "public_access_prevention", "lifecycle"}
    gcs.converge(bucket())
    got.reload()
    assert got.versioning_enabled and got.iam_configuration.public_access_prevention == "enforced"
    assert len(list(got.lifecycle_rules)) == 1
    gcs.destroy(bucket())


def test_destroy_refuses_a_non_empty_bucket_before_deleting_anything(gcs):
    gcs.converge(bucket())
    name = gcs.name()
    gcs.sdk().bucket(name).blob("keep.txt").upload_from_string(b"data")
    with pytest.raises(LeptonError, match="force_destroy"):
        gcs.plan(bucket(), destroy=True)
    assert gcs.sdk().bucket(name).blob("keep.txt").download_as_bytes() == b"data"
    assert ADDRESS in gcs.store.read().primitives


def test_a_noncurrent_version_alone_still_refuses_destroy(gcs):
    gcs.converge(bucket())
    name = gcs.name()
    gcs.sdk().bucket(name).blob("gone.txt").upload_from_string(b"data")
    gcs.sdk().bucket(name).blob("gone.txt").delete()  # versioned: kept as noncurrent
    assert list(gcs.sdk().list_blobs(name)) == []
    with pytest.raises(LeptonError, match="force_destroy"):
        gcs.plan(bucket(), destroy=True)


def test_check_delete_is_one_list_call(gcs):
    gcs.converge(bucket())
    gcs.sdk().bucket(gcs.name()).blob("x").upload_from_string(b"data")
    driver = gcs.driver()
    ptype = driver.primitive_type("gcp.storage_bucket")
    (current,) = ptype.list("us-central1")
    gcs.counter.reset()
    assert "force_destroy" in ptype.check_delete(current, {"force_destroy": False})
    assert sum(gcs.counter.calls.values()) == 1
    assert ptype.check_delete(current, {"force_destroy": True}) is None


def test_force_destroy_empties_every_version_then_deletes(gcs):
    gcs.converge(bucket(force="true"))
    name = gcs.name()
    sdk_bucket = gcs.sdk().bucket(name)
    for i in range(3):
        sdk_bucket.blob("same.txt").upload_from_string(f"v{i}".encode())
    sdk_bucket.blob("other/deep.txt").upload_from_string(b"x")
    sdk_bucket.blob("same.txt").delete()  # the live one too: all noncurrent now
    assert len(list(gcs.sdk().list_blobs(name, versions=True))) == 4
    gcs.destroy(bucket(force="true"))
    assert gcs.sdk().lookup_bucket(name) is None
    assert gcs.store.read().primitives == {}


def test_a_foreign_bucket_with_the_wanted_name_is_refused_and_untouched(gcs):
    from lepton_cli.drivers.gcp.bucket import bucket_name

    name = bucket_name(gcs.stack, "data", PROJECT)
    for owner_project in (PROJECT, "someone-elses-project"):  # ours without labels, then another project's
        foreign = gcs.sdk(owner_project).create_bucket(name)
        foreign.labels = {"team": "data"}
        foreign.patch()
        before = foreign.metageneration
        result = gcs.apply(gcs.plan(bucket()))
        assert not result.ok and "not owned by stack" in next(iter(result.failed.values()))
        foreign.reload()
        assert foreign.metageneration == before and foreign.labels == {"team": "data"}
        assert foreign.versioning_enabled is False
        assert ADDRESS not in gcs.store.read().primitives
        foreign.delete()


def expanded(gcs, driver, body: str):
    loaded = load_plan_text(gcs.text(body))
    return driver.expand(loaded.stack, ["data"], None)


def test_another_stacks_bucket_is_refused_by_the_type(gcs):
    """Stack X made a bucket with the name this stack wants (same project, X's labels)."""
    other = GcpDriver(DriverConfig(stack=gcs.stack + "x", endpoints=gcs.endpoints, project=PROJECT))
    (primitive,) = expanded(gcs, gcs.driver(), bucket())
    theirs = other.primitive_type("gcp.storage_bucket")
    theirs.create(primitive, dict(primitive.properties))
    with pytest.raises(OwnershipError, match="belongs to lepton stack"):
        gcs.driver().primitive_type("gcp.storage_bucket").create(primitive, dict(primitive.properties))
    assert gcs.driver().primitive_type("gcp.storage_bucket").list("us-central1") == []
    name = primitive.properties["name"]
    recorded = Observed(ADDRESS, "gcp.storage_bucket", "us-central1", name, {"force_destroy": True})
    with pytest.raises(OwnershipError):  # nor deleted by this stack, whatever its state says
        gcs.driver().primitive_type("gcp.storage_bucket").delete(recorded)
    assert gcs.sdk().get_bucket(name).labels["lepton-stack"] == other.config.stack
    gcs.sdk().bucket(name).delete()


def test_create_and_delete_are_idempotent(gcs):
    gcs.converge(bucket(public="true"))
    state = gcs.store.read().primitives[ADDRESS]
    driver = gcs.driver()
    ptype = driver.primitive_type("gcp.storage_bucket")
    (current,) = ptype.list("us-central1")
    plan = gcs.plan(bucket(public="true"))
    assert not plan.has_changes
    # A retried create (its first answer lost) adopts the bucket it made, settings intact.
    (primitive,) = expanded(gcs, driver, bucket(public="true"))
    again = ptype.create(primitive, dict(primitive.properties))
    assert again.id == state.id and again.properties == current.properties
    assert public_members(gcs.sdk().bucket(state.id)) == {"allUsers"}
    ptype.delete(current)
    ptype.delete(current)  # already gone: success
    assert ptype.list("us-central1") == []


def test_list_is_one_call_whatever_the_number_of_private_buckets(gcs):
    body = "resources:\n" + "".join(f"  b{i}:\n    kind: bucket\n" for i in range(4))
    gcs.converge(body)
    ptype = gcs.driver().primitive_type("gcp.storage_bucket")
    gcs.counter.reset()
    assert len(ptype.list("us-central1")) == 4
    assert sum(gcs.counter.calls.values()) == 1
    assert ptype.list("europe-west4") == []  # another region's buckets are not this region's
    gcs.destroy(body)


def test_encryption_false_is_explained_not_diffed(gcs):
    body = "resources:\n  data:\n    kind: bucket\n    encryption: false\n"
    (primitive,) = expanded(gcs, gcs.driver(), body)
    assert any("`encryption: false` cannot turn it off" in line for line in primitive.summary)
    assert primitive.properties["encryption"] == "google-managed"
    gcs.converge(body)  # no perpetual diff
    gcs.destroy(body)


def test_validate_refuses_names_gcs_refuses(gcs):
    from lepton_cli.drivers.gcp.bucket import validate

    loaded = load_plan_text("stack: googly\ndefaults: {cloud: gcp, region: us-central1}\n"
                            "resources:\n  data:\n    kind: bucket\n")
    (problem,) = validate(loaded.stack, "data")
    assert "goog" in problem.summary
    loaded = load_plan_text("stack: shop\ndefaults: {cloud: gcp, region: us-central1}\n"
                            "resources:\n  my-google-files:\n    kind: bucket\n")
    assert validate(loaded.stack, "my-google-files")


def test_a_customer_managed_default_key_set_outside_is_drift(gcs):
    gcs.converge(bucket())
    got = gcs.sdk().get_bucket(gcs.name())
    got.default_kms_key_name = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
    got.patch()
    (change,) = gcs.plan(bucket()).actionable
    assert set(change.diff) == {"encryption"} and change.action.value == "update"
    gcs.converge(bucket())
    got.reload()
    assert got.default_kms_key_name is None
    gcs.destroy(bucket())


def buckets(n: int, public: bool = False) -> str:
    return "resources:\n" + "".join(f"  b{i}:\n    kind: bucket\n    public: {str(public).lower()}\n"
                                    for i in range(n))


def test_refresh_calls_do_not_grow_with_private_buckets_and_public_ones_add_one_read_each(gcs):
    gcs.converge(buckets(1))
    one = gcs.refresh_calls(buckets(1))
    gcs.converge(buckets(5))
    many = gcs.refresh_calls(buckets(5))
    assert one == many
    assert sum(n for op, n in many.items() if op.startswith("storage.")) == 1  # the one bucket list
    gcs.converge(buckets(5, public=True))
    public = gcs.refresh_calls(buckets(5, public=True))
    iam = {op: n for op, n in public.items() if op.startswith("storage.") and "/iam" in op}
    assert len(iam) == 5 and set(iam.values()) == {1}
    gcs.destroy(buckets(5, public=True))
