"""`bucket` on Azure: a storage account (StorageV2, Standard_LRS, https only, TLS 1.2 at least,
blob versioning through the blob service's properties), one blob container, and a lifecycle
management policy when the plan has lifecycle rules.

Storage account names are global across Azure (3–24 lowercase letters and digits): the name
carries a hash of stack, resource and subscription (`names.unique_name`), so a retried create
finds the same name; before a create, `check_name_availability` tells a name taken by someone
else (in any subscription) from a free one, and a taken name is refused as not ours.

Azure Storage always encrypts at rest with Microsoft-managed keys: `encryption: false` cannot
turn it off (the plan says so in the summary); the property reads `microsoft-managed`, and a
customer-managed key set by someone else shows as drift.

Public access: `allow_blob_public_access` stays false unless `public: true`, which also sets
the container's public access to `Blob` (anonymous reads of blobs, no listing).

`force_destroy` is lepton's own (never sent), as on AWS and GCP; emptiness is checked through
the blob data plane (azure-storage-blob, the account's key from `list_keys`), counting blob
versions too. Deleting a container or an account with force_destroy deletes every blob version
first; without it lepton refuses, since Azure itself would delete a non-empty container or
account with everything in it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from lepton_cli.drivers.azure.common import AzureType, parse_id
from lepton_cli.drivers.azure.errors import is_not_found, translate
from lepton_cli.drivers.base import ExpandContext, NameScope, Observed, Primitive, Ref
from lepton_cli.drivers.names import LOWER_ALNUM, unique_name
from lepton_cli.errors import Diagnostic, LeptonError, OwnershipError
from lepton_cli.spec.models import Bucket, Stack

ACCOUNT, CONTAINER, POLICY = "azure.storage_account", "azure.blob_container", "azure.management_policy"
ATTRIBUTES = {"id": (ACCOUNT, "id"), "name": (ACCOUNT, "name"), "url": (CONTAINER, "url")}
CONTAINER_NAME = "content"
POLICY_NAME = "default"  # the only name ARM accepts for a management policy
MICROSOFT_MANAGED = "microsoft-managed"
SKU, ACCOUNT_KIND, TLS = "Standard_LRS", "StorageV2", "TLS1_2"
PUBLIC_ACCESS = {True: "Blob", False: "None"}
DELETE_CONCURRENCY = 16


def account_name(stack: str, name: str, subscription: str) -> str:
    return unique_name(stack, name, subscription, limit=24, charset=LOWER_ALNUM)


def group_ref(region: str) -> Ref:
    return Ref(f"network-{region}/azure.resource_group", "name")


def needs_network(resource: Bucket) -> bool:
    return False


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Bucket = stack.resources[name]
    notes = () if resource.encryption else (
        "encryption: Azure Storage always encrypts with Microsoft-managed keys; "
        "`encryption: false` cannot turn it off",)
    group = group_ref(region)
    account = Ref(f"{name}/{ACCOUNT}", "name")

    def prim(type_name: str, properties: dict[str, Any], summary: tuple[str, ...] = ()) -> Primitive:
        return Primitive(address=f"{name}/{type_name}", type=type_name, cloud="azure", region=region, resource=name,
                         kind="bucket", properties=properties, summary=summary)

    out = [
        prim(ACCOUNT, {
            "name": account_name(stack.stack, name, driver.subscription), "resource_group": group,
            "location": region, "sku": SKU, "account_kind": ACCOUNT_KIND, "versioning": resource.versioning,
            "public": resource.public, "https_only": True, "minimum_tls_version": TLS,
            "encryption": MICROSOFT_MANAGED, "force_destroy": resource.force_destroy}, notes),
        prim(CONTAINER, {"name": CONTAINER_NAME, "account_name": account, "resource_group": group,
                         "public_access": PUBLIC_ACCESS[resource.public], "force_destroy": resource.force_destroy}),
    ]
    if resource.lifecycle:
        out.append(prim(POLICY, {
            "name": POLICY_NAME, "account_name": account, "resource_group": group, "container": CONTAINER_NAME,
            "rules": [{"prefix": r.prefix, "expire_days": r.expire_days} for r in resource.lifecycle]}))
    return out


# -- the data plane ---------------------------------------------------------------------------------
def blob_service(driver, group: str, account: str) -> Any:
    """azure-storage-blob's client for the account: its blob endpoint and first key (ARM)."""
    storage = driver.client("storage")
    endpoint = storage.storage_accounts.get_properties(group, account).primary_endpoints.blob
    key = storage.storage_accounts.list_keys(group, account)["keys"][0]["value"]
    return driver.blob_service(endpoint, key)


def first_blob(container_client) -> str | None:
    """The name of one blob (or blob version) in the container, or None if it is empty."""
    for blob in container_client.list_blobs(include=["versions"], results_per_page=1):
        return blob.name
    return None


def empty_container(container_client, address: str) -> None:
    """Delete every blob (with its snapshots), then every blob version left: with versioning
    on, deleting a blob keeps its current version as a previous one, so versions go last."""
    name = container_client.container_name

    def drop(blob) -> None:
        try:
            with translate(f"deleting blob {blob.name} from container {name}", address):
                if getattr(blob, "version_id", None):
                    container_client.delete_blob(blob.name, version_id=blob.version_id)
                else:
                    container_client.delete_blob(blob.name, delete_snapshots="include")
        except LeptonError as exc:
            if not is_not_found(exc):
                raise

    def each(blobs: list) -> None:
        if blobs:
            with ThreadPoolExecutor(max_workers=min(DELETE_CONCURRENCY, len(blobs)),
                                    thread_name_prefix="az-empty") as pool:
                list(pool.map(drop, blobs))

    with translate(f"listing the blobs of container {name}", address):
        current = list(container_client.list_blobs())
    each([SimpleNamespace(name=b.name, version_id=None) for b in current])
    with translate(f"listing the blob versions of container {name}", address):
        versions = [b for b in container_client.list_blobs(include=["versions"]) if getattr(b, "version_id", None)]
    each(versions)


def not_empty(what: str) -> str:
    return (f"{what} still holds blobs (or blob versions) and force_destroy is false; empty it, or set "
            f"`force_destroy: true` on the bucket and run `lepton apply` first")


# -- the types ----------------------------------------------------------------------------------------
class StorageAccountType(AzureType):
    """The storage account, its settings, and its blob service's versioning."""

    type_name = ACCOUNT
    client = "storage"
    noun = "storage account"
    property_keys = frozenset({"name", "resource_group", "location", "sku", "account_kind", "versioning", "public",
                               "https_only", "minimum_tls_version", "encryption", "force_destroy"})
    output_keys = frozenset({"id", "name", "blob_endpoint", "blob_host"})
    replace_on = frozenset({"name", "location", "resource_group", "sku", "account_kind"})
    local = frozenset({"force_destroy"})
    name_scope = NameScope.GLOBAL  # one storage account name in the whole of Azure
    update_notes = {"versioning": "sets the blob service's versioning", "public": "allows or blocks public blob access"}

    def items(self, region: str):
        return self.api().storage_accounts.list_by_resource_group(self.group(region))

    def fetch(self, region: str, name: str, properties):
        return self.api().storage_accounts.get_properties(properties.get("resource_group") or self.group(region), name)

    def versioning(self, group: str, name: str) -> bool:
        with translate(f"reading the blob service of storage account {name}"):
            service = self.api().blob_services.get_service_properties(group, name)
        return bool(service.is_versioning_enabled)

    def list(self, region: str) -> list[Observed]:
        """The accounts of the stack's resource group, then each owned one's blob service (one
        call per account, concurrently: versioning lives there). An account deleted in between
        is left out."""
        found = super().list(region)
        if len(found) > 1:
            with ThreadPoolExecutor(max_workers=min(8, len(found)), thread_name_prefix="az-blobsvc") as pool:
                present = list(pool.map(self._read_versioning, found))
        else:
            present = [self._read_versioning(observed) for observed in found]
        return [observed for observed, there in zip(found, present) if there]

    def _read_versioning(self, observed: Observed) -> bool:
        properties = observed.properties
        try:
            properties["versioning"] = self.versioning(properties["resource_group"], properties["name"])
        except LeptonError as exc:
            if is_not_found(exc):
                return False
            raise
        return True

    def observe(self, address: str, region: str, item, versioning: bool | None = None) -> Observed:
        encryption = item.encryption
        key_source = (encryption.key_source if encryption else None) or "Microsoft.Storage"
        endpoint = (item.primary_endpoints.blob if item.primary_endpoints else "") or ""
        return Observed(address, self.type_name, region, item.id, {
            "name": item.name, "resource_group": parse_id(item.id).get("resource_group", ""),
            "location": (item.location or "").lower(), "sku": item.sku.name if item.sku else "",
            "account_kind": item.kind or "", "versioning": bool(versioning),
            "public": bool(item.allow_blob_public_access), "https_only": bool(item.enable_https_traffic_only),
            "minimum_tls_version": item.minimum_tls_version or "",
            "encryption": MICROSOFT_MANAGED if key_source == "Microsoft.Storage" else f"keyvault:{key_source}",
        }, {"id": item.id, "name": item.name, "blob_endpoint": endpoint,
            "blob_host": urlsplit(endpoint).hostname or ""},
            created=item.creation_time.isoformat() if getattr(item, "creation_time", None) else "")

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """Refuse a name held by someone else (our resource group: by tags; anywhere else: the
        name is not available), then PUT."""
        name = properties["name"]
        found = self.get(primitive.region, name, properties)
        if found is not None:
            self.claim(primitive, name, found)
        else:
            with translate(f"checking the storage account name {name}", primitive.address):
                answer = self.api().storage_accounts.check_name_availability(
                    {"name": name, "type": "Microsoft.Storage/storageAccounts"})
            if not answer.name_available:
                raise OwnershipError(Diagnostic(
                    summary=f"the storage account name {name!r} is taken outside this stack's resource group "
                            f"{properties['resource_group']}",
                    detail=f"Azure says: {answer.reason or 'not available'}. {answer.message or ''}".strip()
                    + " Storage account names are global across Azure; lepton never adopts what it does not own",
                    address=primitive.address,
                    hint="rename the bucket resource or the stack (the name is derived from both), or delete "
                         "that account if it is yours"))
        with translate(f"creating the storage account {name}", primitive.address):
            item = self.put(primitive, properties)
        return item

    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed,
               changed: set[str]) -> Observed:
        with translate(f"updating the storage account {properties['name']}", primitive.address):
            return self.put(primitive, properties)

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        from azure.mgmt.storage import models

        group, name = properties["resource_group"], properties["name"]
        item = self.api().storage_accounts.begin_create(group, name, models.StorageAccountCreateParameters(
            location=properties["location"], sku=models.Sku(name=properties["sku"]), kind=properties["account_kind"],
            tags=self.tags(primitive.address), enable_https_traffic_only=properties["https_only"],
            minimum_tls_version=properties["minimum_tls_version"], allow_blob_public_access=properties["public"],
            encryption=models.Encryption(key_source="Microsoft.Storage", services=models.EncryptionServices(
                blob=models.EncryptionService(enabled=True, key_type="Account"))))).result()
        service = self.api().blob_services.set_service_properties(
            group, name, models.BlobServiceProperties(is_versioning_enabled=properties["versioning"]))
        return self.observe(primitive.address, primitive.region, item, bool(service.is_versioning_enabled))

    def remove(self, current: Observed) -> None:
        group, name = current.properties["resource_group"], current.properties["name"]
        if current.properties.get("force_destroy"):
            service = blob_service(self.driver, group, name)
            with translate(f"listing the containers of storage account {name}", current.address):
                containers = [c.name for c in service.list_containers()]
            for container in containers:
                empty_container(service.get_container_client(container), current.address)
        self.api().storage_accounts.delete(group, name)

    def check_delete(self, current: Observed, recorded) -> str | None:
        if recorded.get("force_destroy"):
            return None
        group, name = current.properties["resource_group"], current.properties["name"]
        try:
            with translate(f"checking storage account {name} is empty", current.address):
                service = blob_service(self.driver, group, name)
                for container in service.list_containers():
                    if first_blob(service.get_container_client(container.name)) is not None:
                        return not_empty(f"storage account {name} (container {container.name})")
        except LeptonError as exc:
            if is_not_found(exc):
                return None
            raise
        return None


class _AccountChild(AzureType):
    """A child of the stack's storage accounts: found by listing the owned accounts of the
    resource group, owned through its account's tags and its fixed name."""

    client = "storage"
    child = True
    names: frozenset[str] = frozenset()

    def owned_accounts(self, region: str) -> list[tuple[str, Any]]:
        """(bucket resource name, account) for each owned account of the resource group."""
        out = []
        for account in self.api().storage_accounts.list_by_resource_group(self.group(region)):
            address = self.owned(account)
            if address and address.endswith(f"/{ACCOUNT}"):
                out.append((address.split("/", 1)[0], account))
        return out

    def per_account(self, region: str, read) -> list:
        """`read(resource, account)` (a list) for every owned account, concurrently: ARM lists
        containers and reads policies one account at a time."""
        accounts = self.owned_accounts(region)
        if len(accounts) <= 1:
            return [item for resource, account in accounts for item in read(resource, account)]
        with ThreadPoolExecutor(max_workers=min(8, len(accounts)), thread_name_prefix="az-storage") as pool:
            return [item for found in pool.map(lambda pair: read(*pair), accounts) for item in found]

    def address_of(self, item) -> str | None:
        resource, child = item[0], item[1]
        return f"{resource}/{self.type_name}" if child.name in self.names else None

    @staticmethod
    def where(properties) -> tuple[str, str]:
        return properties["resource_group"], properties["account_name"]


class BlobContainerType(_AccountChild):
    type_name = CONTAINER
    noun = "blob container"
    names = frozenset({CONTAINER_NAME})
    property_keys = frozenset({"name", "account_name", "resource_group", "public_access", "force_destroy"})
    output_keys = frozenset({"id", "name", "url"})
    replace_on = frozenset({"name", "account_name", "resource_group"})
    local = frozenset({"force_destroy"})
    name_scope = NameScope.PARENT
    name_parent = "account_name"

    def items(self, region: str):
        group = self.group(region)
        return self.per_account(region, lambda resource, account: [
            (resource, container, account) for container in self.api().blob_containers.list(group, account.name)])

    def fetch(self, region: str, name: str, properties):
        return self.api().blob_containers.get(*self.where(properties), name)

    def observe(self, address: str, region: str, item) -> Observed:
        owner = None
        if isinstance(item, tuple):
            _, item, owner = item
        ids = parse_id(item.id)
        account = item.id.split("/storageAccounts/", 1)[1].split("/", 1)[0]
        if owner is None:  # a create or update: the account's endpoint, asked once
            owner = self.api().storage_accounts.get_properties(ids["resource_group"], account)
        endpoint = owner.primary_endpoints.blob if owner.primary_endpoints else ""
        return Observed(address, self.type_name, region, item.id, {
            "name": item.name, "account_name": account, "resource_group": ids.get("resource_group", ""),
            "public_access": getattr(item.public_access, "value", item.public_access) or "None"},
            {"id": item.id, "name": item.name, "url": f"{(endpoint or '').rstrip('/')}/{item.name}"})

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        """Create, or (a retried create) bring the existing container to the wanted settings."""
        exists = self.get(primitive.region, properties["name"], properties) is not None
        with translate(f"creating the blob container {properties['name']}", primitive.address):
            return self.observe(primitive.address, primitive.region, self.put(primitive, properties, exists))

    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed,
               changed: set[str]) -> Observed:
        with translate(f"updating the blob container {properties['name']}", primitive.address):
            return self.observe(primitive.address, primitive.region, self.put(primitive, properties, True))

    def put(self, primitive: Primitive, properties: dict[str, Any], exists: bool = False) -> Any:
        from azure.mgmt.storage import models

        body = models.BlobContainer(public_access=properties["public_access"])
        call = self.api().blob_containers.update if exists else self.api().blob_containers.create
        return call(*self.where(properties), properties["name"], body)

    def check_delete(self, current: Observed, recorded) -> str | None:
        if recorded.get("force_destroy"):
            return None
        group, account = self.where(current.properties)
        try:
            with translate(f"checking blob container {current.properties['name']} is empty", current.address):
                container = blob_service(self.driver, group, account).get_container_client(current.properties["name"])
                if first_blob(container) is not None:
                    return not_empty(f"blob container {current.properties['name']} of storage account {account}")
        except LeptonError as exc:
            if is_not_found(exc):
                return None
            raise
        return None

    def remove(self, current: Observed) -> None:
        group, account = self.where(current.properties)
        if current.properties.get("force_destroy"):
            container = blob_service(self.driver, group, account).get_container_client(current.properties["name"])
            empty_container(container, current.address)
        self.api().blob_containers.delete(group, account, current.properties["name"])


class ManagementPolicyType(_AccountChild):
    """The account's lifecycle rules: delete base blobs `expire_days` after their last change,
    under `<container>/<prefix>`."""

    type_name = POLICY
    noun = "lifecycle management policy"
    names = frozenset({POLICY_NAME})
    property_keys = frozenset({"name", "account_name", "resource_group", "container", "rules"})
    replace_on = frozenset({"account_name", "resource_group"})
    name_scope = NameScope.PARENT
    name_parent = "account_name"

    def items(self, region: str):
        group = self.group(region)

        def policy(resource: str, account) -> list:
            try:
                with translate(f"reading the lifecycle policy of storage account {account.name}"):
                    return [(resource, self.api().management_policies.get(group, account.name, POLICY_NAME))]
            except LeptonError as exc:
                if not is_not_found(exc):
                    raise
                return []

        return self.per_account(region, policy)

    def fetch(self, region: str, name: str, properties):
        return self.api().management_policies.get(*self.where(properties), POLICY_NAME)

    def normalize(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {**properties, "rules": sorted(properties.get("rules", []),
                                              key=lambda r: (r.get("prefix", ""), r.get("expire_days") or 0, str(r)))}

    def observe(self, address: str, region: str, item) -> Observed:
        if isinstance(item, tuple):
            item = item[1]
        account = item.id.split("/storageAccounts/", 1)[1].split("/", 1)[0]
        containers, rules = set(), []
        for rule in (item.policy.rules if item.policy else None) or []:
            definition = rule.definition
            delete = definition.actions.base_blob.delete if definition.actions.base_blob else None
            prefixes = (definition.filters.prefix_match if definition.filters else None) or []
            days = delete.days_after_modification_greater_than if delete else None
            if rule.type == "Lifecycle" and rule.enabled is not False and len(prefixes) == 1 and days is not None:
                container, _, prefix = prefixes[0].partition("/")
                containers.add(container)
                rules.append({"prefix": prefix, "expire_days": int(days)})
            else:
                rules.append({"rule": rule.as_dict()})  # not lepton's shape: drift, replaced by the next update
        return Observed(address, self.type_name, region, item.id, self.normalize({
            "name": item.name, "account_name": account, "resource_group": parse_id(item.id).get("resource_group", ""),
            "container": containers.pop() if len(containers) == 1 else "", "rules": rules}),
            {"id": item.id, "name": item.name})

    def create(self, primitive: Primitive, properties: dict[str, Any]) -> Observed:
        with translate("setting the lifecycle policy", primitive.address):
            return self.observe(primitive.address, primitive.region, self.put(primitive, properties))

    def update(self, primitive: Primitive, properties: dict[str, Any], current: Observed,
               changed: set[str]) -> Observed:
        return self.create(primitive, properties)

    def put(self, primitive: Primitive, properties: dict[str, Any]) -> Any:
        from azure.mgmt.storage import models

        rules = [models.ManagementPolicyRule(
            name=f"expire{i}", type="Lifecycle", enabled=True, definition=models.ManagementPolicyDefinition(
                actions=models.ManagementPolicyAction(base_blob=models.ManagementPolicyBaseBlob(
                    delete=models.DateAfterModification(days_after_modification_greater_than=rule["expire_days"]))),
                filters=models.ManagementPolicyFilter(prefix_match=[f"{properties['container']}/{rule['prefix']}"],
                                                      blob_types=["blockBlob"])))
            for i, rule in enumerate(properties["rules"])]
        return self.api().management_policies.create_or_update(
            *self.where(properties), POLICY_NAME,
            models.ManagementPolicy(policy=models.ManagementPolicySchema(rules=rules)))

    def remove(self, current: Observed) -> None:
        self.api().management_policies.delete(*self.where(current.properties), POLICY_NAME)


TYPES = [StorageAccountType, BlobContainerType, ManagementPolicyType]
