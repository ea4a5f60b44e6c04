"""Microsoft.Storage through azure-mgmt-storage, with a real Azurite behind it: each storage
account takes a pool account (its blob endpoint and key), containers made through ARM exist in
Azurite, deleting the account empties and frees its pool account; name rules and uniqueness,
blob service properties, lifecycle policies."""

from __future__ import annotations

from typing import Iterator

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.storage import models as sm
from azure.storage.blob import BlobServiceClient

from lepton_cli.sandbox import azurite
from lepton_cli.sandbox.azure.storage import BlobPool
from tests.sandbox.azure import world
from tests.sandbox.azure.support import Clients, serve


def pool_of(size: int | None = None) -> BlobPool:
    running = azurite.shared()
    accounts = {k: v for k, v in azurite.ACCOUNTS.items() if k != azurite.DEV_ACCOUNT}
    if size is not None:
        accounts = dict(list(accounts.items())[:size])
    return BlobPool(running.endpoint, accounts)


@pytest.fixture
def sc() -> Iterator[Clients]:
    with serve(blob=pool_of()) as (endpoint, _):
        c = Clients(endpoint)
        world.group(c)
        yield c


def account(c: Clients, name: str, rg: str = "rg", **props) -> sm.StorageAccount:
    return c.storage.storage_accounts.begin_create(rg, name, sm.StorageAccountCreateParameters(
        sku=sm.Sku(name="Standard_LRS"), kind="StorageV2", location="eastus", **props)).result()


def blob_service(c: Clients, name: str) -> BlobServiceClient:
    props = c.storage.storage_accounts.get_properties("rg", name)
    key = c.storage.storage_accounts.list_keys("rg", name)["keys"][0]["value"]
    pool_name = props.primary_endpoints.blob.rstrip("/").rsplit("/", 1)[1]
    return BlobServiceClient(props.primary_endpoints.blob.rstrip("/"),
                             credential={"account_name": pool_name, "account_key": key})


def test_account_maps_to_a_pool_account_with_its_key_and_endpoint(sc):
    created = account(sc, "leptondata1")
    pool = pool_of()
    assert created.provisioning_state == "Succeeded" and created.kind == "StorageV2"
    assert created.primary_endpoints.blob == f"{pool.endpoint}/{next(iter(pool.accounts))}/"
    assert created.encryption.services.blob.enabled is True and created.encryption.key_source == "Microsoft.Storage"
    assert created.allow_blob_public_access is False and created.minimum_tls_version == "TLS1_2"
    assert created.enable_https_traffic_only is True
    keys = sc.storage.storage_accounts.list_keys("rg", "leptondata1")["keys"]
    assert keys[0]["value"] == pool.accounts[next(iter(pool.accounts))]
    sc.storage.blob_containers.create("rg", "leptondata1", "site", sm.BlobContainer())
    service = blob_service(sc, "leptondata1")
    service.get_blob_client("site", "index.html").upload_blob(b"<h1>hi</h1>")
    assert service.get_blob_client("site", "index.html").download_blob().readall() == b"<h1>hi</h1>"
    other = account(sc, "leptondata2")
    assert other.primary_endpoints.blob != created.primary_endpoints.blob


def test_deleting_an_account_empties_and_frees_its_pool_account(sc):
    first = account(sc, "leptongone")
    sc.storage.blob_containers.create("rg", "leptongone", "data", sm.BlobContainer())
    blob_service(sc, "leptongone").get_blob_client("data", "x").upload_blob(b"x")
    sc.storage.storage_accounts.delete("rg", "leptongone")
    with pytest.raises(ResourceNotFoundError):
        sc.storage.storage_accounts.get_properties("rg", "leptongone")
    again = account(sc, "leptonnew")
    assert again.primary_endpoints.blob == first.primary_endpoints.blob  # the freed pool account, reused
    assert [c.name for c in blob_service(sc, "leptonnew").list_containers()] == []  # and empty


def test_pool_exhaustion_is_a_clear_409():
    with serve(blob=pool_of(1)) as (endpoint, _):
        c = Clients(endpoint)
        world.group(c)
        account(c, "leptonone")
        with pytest.raises(HttpResponseError) as err:
            account(c, "leptontwo")
        assert err.value.status_code == 409 and "pool" in err.value.error.message


def test_names_uniqueness_and_check_name_availability(sc):
    with pytest.raises(HttpResponseError) as err:
        account(sc, "Bad_Name")
    assert (err.value.status_code, err.value.error.code) == (400, "AccountNameInvalid")
    account(sc, "leptonunique")
    world.group(sc, "rg2")
    with pytest.raises(ResourceExistsError) as err:
        account(sc, "leptonunique", rg="rg2")
    assert err.value.error.code == "StorageAccountAlreadyTaken"
    check = sc.storage.storage_accounts.check_name_availability
    taken = check(sm.StorageAccountCheckNameAvailabilityParameters(name="leptonunique"))
    assert taken.name_available is False and taken.reason == "AlreadyExists"
    invalid = check(sm.StorageAccountCheckNameAvailabilityParameters(name="ab"))
    assert invalid.name_available is False and invalid.reason == "AccountNameInvalid"
    assert check(sm.StorageAccountCheckNameAvailabilityParameters(name="leptonfree")).name_available is True


def test_update_list_pages_and_public_access(sc):
    for name in ("leptona", "leptonb", "leptonc"):
        account(sc, name)
    listed = sc.storage.storage_accounts.list_by_resource_group("rg")
    assert [a.name for a in listed] == ["leptona", "leptonb", "leptonc"]
    assert [a.name for a in sc.storage.storage_accounts.list()] == ["leptona", "leptonb", "leptonc"]
    with pytest.raises(ResourceExistsError) as err:
        sc.storage.blob_containers.create("rg", "leptona", "pub", sm.BlobContainer(public_access="Blob"))
    assert err.value.error.code == "PublicAccessNotPermitted"
    updated = sc.storage.storage_accounts.update("rg", "leptona", sm.StorageAccountUpdateParameters(
        allow_blob_public_access=True, tags={"lepton-stack": "web"}))
    assert updated.allow_blob_public_access is True and updated.tags == {"lepton-stack": "web"}
    assert sc.storage.blob_containers.create("rg", "leptona", "pub", sm.BlobContainer(
        public_access="Blob")).public_access == "Blob"


def test_containers_through_arm_exist_in_azurite(sc):
    account(sc, "leptonbox")
    for name in ("one", "two", "three"):
        sc.storage.blob_containers.create("rg", "leptonbox", name, sm.BlobContainer())
    assert [c.name for c in sc.storage.blob_containers.list("rg", "leptonbox")] == ["one", "three", "two"]
    assert sorted(c.name for c in blob_service(sc, "leptonbox").list_containers()) == ["one", "three", "two"]
    assert sc.storage.blob_containers.get("rg", "leptonbox", "one").public_access == "None"
    sc.storage.blob_containers.delete("rg", "leptonbox", "two")
    assert sorted(c.name for c in blob_service(sc, "leptonbox").list_containers()) == ["one", "three"]
    with pytest.raises(ResourceNotFoundError):
        sc.storage.blob_containers.get("rg", "leptonbox", "two")
    with pytest.raises(HttpResponseError) as err:
        sc.storage.blob_containers.create("rg", "leptonbox", "Bad--Name", sm.BlobContainer())
    assert err.value.status_code == 400


def test_blob_service_properties_and_lifecycle_policy(sc):
    account(sc, "leptonprops")
    service = sc.storage.blob_services.get_service_properties("rg", "leptonprops")
    assert service.is_versioning_enabled is False
    sc.storage.blob_services.set_service_properties("rg", "leptonprops", sm.BlobServiceProperties(
        is_versioning_enabled=True, delete_retention_policy=sm.DeleteRetentionPolicy(enabled=True, days=7)))
    got = sc.storage.blob_services.get_service_properties("rg", "leptonprops")
    assert got.is_versioning_enabled is True and got.delete_retention_policy.days == 7
    with pytest.raises(HttpResponseError) as err:
        sc.storage.management_policies.get("rg", "leptonprops", "default")
    assert err.value.status_code == 404
    rule = sm.ManagementPolicyRule(name="expire", type="Lifecycle", definition=sm.ManagementPolicyDefinition(
        actions=sm.ManagementPolicyAction(base_blob=sm.ManagementPolicyBaseBlob(
            delete=sm.DateAfterModification(days_after_modification_greater_than=30)))))
    sc.storage.management_policies.create_or_update("rg", "leptonprops", "default", sm.ManagementPolicy(
        policy=sm.ManagementPolicySchema(rules=[rule])))
    policy = sc.storage.management_policies.get("rg", "leptonprops", "default")
    assert policy.policy.rules[0].name == "expire"
    assert policy.policy.rules[0].definition.actions.base_blob.delete.days_after_modification_greater_than == 30
    with pytest.raises(HttpResponseError) as err:
        sc.storage.management_policies.create_or_update("rg", "leptonprops", "default", sm.ManagementPolicy(
            policy=sm.ManagementPolicySchema(rules=[])))
    assert err.value.status_code == 400
    sc.storage.management_policies.delete("rg", "leptonprops", "default")
    with pytest.raises(ResourceNotFoundError):
        sc.storage.management_policies.get("rg", "leptonprops", "default")


def test_without_a_pool_the_endpoint_is_a_placeholder(c):
    world.group(c)
    created = account(c, "leptonnopool")
    assert "invalid" in created.primary_endpoints.blob
    assert c.storage.storage_accounts.list_keys("rg", "leptonnopool")["keys"][0]["value"]
