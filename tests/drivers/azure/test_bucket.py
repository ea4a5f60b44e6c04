"""bucket on Azure: a storage account, its blob container and lifecycle policy, through the real
driver and engine against the project's ARM emulator and Azurite, checked with the official
azure-mgmt-storage and azure-storage-blob SDKs directly."""

from __future__ import annotations

import re

import pytest

from lepton_cli.drivers.azure.bucket import account_name
from lepton_cli.drivers.ownership import owned_address
from lepton_cli.errors import LeptonError
from lepton_cli.spec.loader import load_plan_text
from tests.drivers.azure.foreign_storage_lb_cdn import blob_service, make_account

ACCOUNT, CONTAINER, POLICY = "data/azure.storage_account", "data/azure.blob_container", "data/azure.management_policy"
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
def az(azure):
    """The Azure driver fixture (tests/drivers/azure/conftest.py) with the bucket's helpers."""
    azure.storage = azure.client("storage")
    azure.name = lambda: azure.store.read().primitives[ACCOUNT].properties["name"]
    return azure


def blobs(az, versions: bool = True) -> list:
    container = blob_service(az.storage, az.group, az.name()).get_container_client("content")
    return list(container.list_blobs(include=["versions"] if versions else None))


def test_every_setting_is_applied_and_reads_back_unchanged(az):
    az.converge(bucket())
    name, group = az.name(), az.group
    assert re.fullmatch(r"[a-z0-9]{3,24}", name) and name == account_name(az.stack, "data", az.driver().subscription)
    account = az.storage.storage_accounts.get_properties(group, name)
    assert owned_address(account.tags, az.stack) == ACCOUNT
    assert (account.kind, account.sku.name) == ("StorageV2", "Standard_LRS")
    assert account.enable_https_traffic_only is True and account.minimum_tls_version == "TLS1_2"
    assert account.allow_blob_public_access is False
    assert az.storage.blob_services.get_service_properties(group, name).is_versioning_enabled is True
    container = az.storage.blob_containers.get(group, name, "content")
    assert container.public_access in (None, "None")
    (rule,) = az.storage.management_policies.get(group, name, "default").policy.rules
    assert rule.definition.filters.prefix_match == ["content/tmp/"]
    assert rule.definition.actions.base_blob.delete.days_after_modification_greater_than == 7
    url = az.store.read().primitives[CONTAINER].outputs["url"]
    assert url == account.primary_endpoints.blob.rstrip("/") + "/content"
    az.destroy(bucket())
    assert [a.name for a in az.storage.storage_accounts.list() if a.name == name] == []


def test_versioning_public_and_lifecycle_change_in_place(az):
    az.converge(bucket())
    name, group = az.name(), az.group
    account_id = az.store.read().primitives[ACCOUNT].id
    changed = bucket(versioning="false", public="true", lifecycle="[{prefix: 'logs/', expire_days: 30}]")
    plan = az.plan(changed)
    assert {c.address: c.action.value for c in plan.actionable} == {
        ACCOUNT: "update", CONTAINER: "update", POLICY: "update"}
    assert set(next(c for c in plan.actionable if c.address == ACCOUNT).diff) == {"versioning", "public"}
    az.converge(changed)
    account = az.storage.storage_accounts.get_properties(group, name)
    assert account.id == account_id and account.allow_blob_public_access is True
    assert az.storage.blob_services.get_service_properties(group, name).is_versioning_enabled is False
    assert az.storage.blob_containers.get(group, name, "content").public_access == "Blob"
    (rule,) = az.storage.management_policies.get(group, name, "default").policy.rules
    assert rule.definition.filters.prefix_match == ["content/logs/"]

    no_rules = bucket(lifecycle="[]")  # private again, and the policy goes
    plan = az.plan(no_rules)
    assert {c.address: c.action.value for c in plan.actionable}[POLICY] == "delete"
    az.converge(no_rules)
    assert az.storage.storage_accounts.get_properties(group, name).allow_blob_public_access is False
    assert az.storage.blob_containers.get(group, name, "content").public_access in (None, "None")
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        az.storage.management_policies.get(group, name, "default")
    az.destroy(no_rules)


def test_drift_made_outside_lepton_is_planned_back(az):
    az.converge(bucket())
    name, group = az.name(), az.group
    from azure.mgmt.storage import models

    az.storage.storage_accounts.update(group, name,
                                       models.StorageAccountUpdateParameters(allow_blob_public_access=True))
    az.storage.blob_services.set_service_properties(group, name,
                                                    models.BlobServiceProperties(is_versioning_enabled=False))
    (change,) = az.plan(bucket()).actionable
    assert change.address == ACCOUNT and set(change.diff) == {"versioning", "public"}
    az.converge(bucket())
    assert az.storage.blob_services.get_service_properties(group, name).is_versioning_enabled is True
    az.destroy(bucket())


def test_encryption_false_is_explained_not_diffed(az):
    body = "resources:\n  data:\n    kind: bucket\n    encryption: false\n"
    loaded = load_plan_text(az.text(body))
    account, container = az.driver().expand(loaded.stack, ["data"], None)[:2]
    assert any("`encryption: false` cannot turn it off" in line for line in account.summary)
    assert account.properties["encryption"] == "microsoft-managed"
    az.converge(body)  # no perpetual diff
    az.destroy(body)


def test_destroy_refuses_a_non_empty_bucket_and_force_destroy_empties_it(az):
    az.converge(bucket())
    container = blob_service(az.storage, az.group, az.name()).get_container_client("content")
    container.upload_blob("keep.txt", b"data")
    with pytest.raises(LeptonError, match="force_destroy"):
        az.plan(bucket(), destroy=True)
    assert container.download_blob("keep.txt").readall() == b"data"
    assert ACCOUNT in az.store.read().primitives

    az.converge(bucket(force="true"))  # force_destroy is lepton's own: no call, no diff after
    for i in range(3):
        container.upload_blob("same.txt", f"v{i}".encode(), overwrite=True)
    container.upload_blob("deep/er.txt", b"x")
    name = az.name()
    az.destroy(bucket(force="true"))
    assert [a.name for a in az.storage.storage_accounts.list() if a.name == name] == []
    assert az.store.read().primitives == {}


def test_check_delete_reads_the_data_plane(az):
    az.converge(bucket())
    ptype = az.driver().primitive_type("azure.blob_container")
    region = az.store.read().primitives[CONTAINER].region
    (current,) = ptype.list(region)
    assert ptype.check_delete(current, {"force_destroy": False}) is None  # empty
    blob_service(az.storage, az.group, az.name()).get_container_client("content").upload_blob("x", b"1")
    assert "force_destroy" in ptype.check_delete(current, {"force_destroy": False})
    assert ptype.check_delete(current, {"force_destroy": True}) is None
    az.converge(bucket(force="true"))
    az.destroy(bucket(force="true"))


def test_a_storage_account_name_taken_elsewhere_is_refused_and_untouched(az):
    """Someone else's account holds the wanted (global) name in another resource group."""
    name = account_name(az.stack, "data", az.driver().subscription)
    foreign = make_account(az.endpoints, f"someone-else-{az.stack}", name)
    result = az.apply(az.plan(bucket()))
    assert not result.ok
    message = str(next(iter(result.failed.values())))
    assert name in message and "taken" in message
    after = az.storage.storage_accounts.get_properties(foreign.group, name)
    assert after.tags == {"team": "someone-else"} and after.allow_blob_public_access is not True
    assert ACCOUNT not in az.store.read().primitives
    foreign.cleanup()
    az.destroy(bucket())


def test_retried_create_and_delete_are_idempotent(az):
    az.converge(bucket())
    state = az.store.read().primitives[ACCOUNT]
    driver = az.driver()
    ptype = driver.primitive_type("azure.storage_account")
    (current,) = ptype.list(state.region)
    primitive = next(p for p in driver.expand(load_plan_text(az.text(bucket())).stack, ["data"], None)
                     if p.address == ACCOUNT)
    properties = {**primitive.properties, "resource_group": state.properties["resource_group"]}
    again = ptype.create(primitive, properties)  # a create whose first answer was lost
    assert again.id == state.id and again.properties == current.properties
    az.destroy(bucket())
    ptype.delete(current)  # already gone: success
    assert ptype.list(state.region) == []


def test_refresh_lists_accounts_once_per_type_and_reads_each_account_once_per_child(az):
    """ARM has no list of containers or blob service settings across accounts: a refresh costs
    one account list per type, then one call per account for each of versioning, containers
    and the lifecycle policy (concurrently), and nothing more."""
    body = "resources:\n" + "".join(
        f"  b{i}:\n    kind: bucket\n    lifecycle: [{{prefix: 'tmp/', expire_days: 3}}]\n" for i in range(3))
    az.converge(body)
    calls = az.refresh_calls(body)
    storage = {op: n for op, n in calls.items() if "/microsoft.storage/" in op.lower()}
    per_account = {tail: az.counter.matching("GET", tail) for tail in (
        "/blobServices/default", "/blobServices/default/containers", "/managementPolicies/default")}
    listed = az.counter.matching("GET", "/storageAccounts")
    az.counter.reset()  # the pages of one list of the group's accounts (the emulator pages by nextLink)
    list(az.driver().client("storage").storage_accounts.list_by_resource_group(az.group))
    pages = az.counter.matching("GET", "/storageAccounts")
    assert listed == 3 * pages, storage  # one list each: account, container and policy types
    assert per_account == dict.fromkeys(per_account, 3), storage
    assert sum(storage.values()) == listed + 9, storage
    az.destroy(body)


def test_moving_a_bucket_to_another_region_replaces_it_in_one_apply(az):
    """Storage account names are global: the successor keeps the name, so the old account (and
    its container and policy) go first, emptied because force_destroy says so."""
    here = bucket(force="true")
    there = here.replace("kind: bucket\n", "kind: bucket\n    region: westus2\n")
    az.converge(here)
    name, old_group = az.name(), az.group
    blob_service(az.storage, old_group, name).get_container_client("content").upload_blob("old.txt", b"x")
    plan = az.plan(there)
    actions = {c.address: c.action.value for c in plan.actionable}
    assert actions[ACCOUNT] == actions[CONTAINER] == actions[POLICY] == "replace"
    az.converge(there)
    state = az.store.read().primitives[ACCOUNT]
    assert state.properties["name"] == name and state.region == "westus2"
    moved = az.storage.storage_accounts.get_properties(state.properties["resource_group"], name)
    assert moved.location == "westus2"
    new = blob_service(az.storage, state.properties["resource_group"], name).get_container_client("content")
    assert list(new.list_blobs()) == []  # a new, empty account
    assert [a.name for a in az.storage.storage_accounts.list() if a.name == name] == [name]
    az.destroy(there)
