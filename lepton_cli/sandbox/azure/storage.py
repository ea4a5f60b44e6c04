"""Microsoft.Storage, and how it meets Azurite: `BlobPool` is Azurite's endpoint plus the pool of
accounts declared to it at start; each storage account the ARM emulator creates takes a free
pool account (its blob endpoint and keys are that account's), and gives it back, emptied, when
deleted."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lepton_cli.sandbox.azure import versions
from lepton_cli.sandbox.azure.backend import new_guid
from lepton_cli.sandbox.azure.errors import ArmError, invalid
from lepton_cli.sandbox.azure.spec import ResourceType


@dataclass(frozen=True)
class BlobPool:
    """Azurite's endpoint (`http://127.0.0.1:PORT`, accounts in the path) and its accounts (name -> key)."""

    endpoint: str
    accounts: Mapping[str, str] = field(default_factory=dict)

    def url(self, account: str) -> str:
        return f"{self.endpoint.rstrip('/')}/{account}/"


STORAGE = "Microsoft.Storage/storageAccounts"
BLOB_SERVICES = f"{STORAGE}/blobServices"
CONTAINERS = f"{STORAGE}/blobServices/containers"
POLICIES = f"{STORAGE}/managementPolicies"
PLACEHOLDER = "http://blob-data-plane-unavailable.invalid/{name}/"  # no Azurite: nothing answers here
_KINDS = {k.lower(): k for k in ("StorageV2", "Storage", "BlobStorage", "BlockBlobStorage", "FileStorage")}
_SKUS = {k.lower(): k for k in ("Standard_LRS", "Standard_GRS", "Standard_RAGRS", "Standard_ZRS", "Premium_LRS",
                                "Premium_ZRS", "Standard_GZRS", "Standard_RAGZRS")}
_TLS = ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3")
_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
_CONTAINER_NAME = re.compile(r"(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]")


def _name_problem(name: str) -> str | None:
    if not _ACCOUNT_NAME.fullmatch(name):
        return (f"{name} is not a valid storage account name. Storage account name must be between 3 and 24 "
                "characters in length and use numbers and lower-case letters only.")
    return None


def _taken(backend: Any, name: str, own_id: str | None = None) -> bool:
    return any(r["name"].lower() == name.lower() and r["id"].lower() != (own_id or "").lower()
               for r in backend.of_type(STORAGE.lower()))


def check_name_availability(backend: Any, body: dict) -> dict:
    name = body.get("name")
    if not isinstance(name, str) or body.get("type", STORAGE).lower() != STORAGE.lower():
        raise invalid("checkNameAvailability needs a name and type 'Microsoft.Storage/storageAccounts'.")
    problem = _name_problem(name)
    if problem:
        return {"nameAvailable": False, "reason": "AccountNameInvalid", "message": problem}
    if _taken(backend, name):
        return {"nameAvailable": False, "reason": "AlreadyExists",
                "message": f"The storage account named {name} is already taken."}
    return {"nameAvailable": True}


def _pool(backend: Any) -> dict[str, str]:
    """pool account -> the storage account id it serves."""
    return backend.state.setdefault("pool", {})


def prepare_account(backend: Any, new: dict, old: dict | None) -> None:
    problem = _name_problem(new["name"])
    if problem:
        raise ArmError(400, "AccountNameInvalid", problem)
    if old is None and _taken(backend, new["name"], new["id"]):
        raise ArmError(409, "StorageAccountAlreadyTaken", f"The storage account named {new['name']} is already taken.")
    kind = _KINDS.get(str(new.get("kind") or "").lower())
    if kind is None:
        raise invalid(f"The value '{new.get('kind')}' is not valid for property 'kind'.", "InvalidRequestContent")
    sku = _SKUS.get(str((new.get("sku") or {}).get("name") or "").lower())
    if sku is None:
        raise invalid(f"The value '{(new.get('sku') or {}).get('name')}' is not valid for property 'sku.name'.",
                      "InvalidRequestContent")
    if old is not None and old["kind"] != kind:
        raise ArmError(409, "OperationNotAllowed",
                       "The kind of a storage account cannot be changed this way.")
    new["kind"], new["sku"] = kind, {"name": sku, "tier": sku.split("_")[0]}
    props = new["properties"]
    props.setdefault("allowBlobPublicAccess", False)
    props.setdefault("supportsHttpsTrafficOnly", True)
    tls = props.setdefault("minimumTlsVersion", "TLS1_2")
    if tls not in _TLS:
        raise invalid(f"The value '{tls}' is not valid for property 'minimumTlsVersion'.")
    props.setdefault("accessTier", "Hot")
    encryption = props.setdefault("encryption", {})
    encryption.setdefault("keySource", "Microsoft.Storage")
    if encryption["keySource"] not in ("Microsoft.Storage", "Microsoft.Keyvault"):
        raise invalid(f"The value '{encryption['keySource']}' is not valid for encryption.keySource.")
    services = encryption.setdefault("services", {})
    for service in ("blob", "file"):
        entry = services.setdefault(service, {})
        if entry.get("enabled") is False:
            raise ArmError(400, "InvalidValuesForRequestParameters",
                           f"Encryption of the {service} service cannot be disabled.")
        entry.update(enabled=True, keyType=entry.get("keyType", "Account"),
                     lastEnabledTime=entry.get("lastEnabledTime", "2026-01-01T00:00:00.0000000Z"))
    if old is not None:
        new["_account"] = old["_account"]
    else:
        new["_account"] = _take_account(backend, new)
    props["primaryEndpoints"] = _endpoints(backend, new)
    props["primaryLocation"], props["statusOfPrimary"] = new["location"], "available"
    props["creationTime"] = old["properties"]["creationTime"] if old else "2026-01-01T00:00:00.0000000Z"


def _take_account(backend: Any, account: dict) -> str | None:
    blob = backend.blob
    if blob is None:
        return None
    pool = _pool(backend)
    free = [name for name in blob.accounts if name not in pool]
    if not free:
        raise ArmError(409, "StorageAccountPoolExhausted",
                       f"The sandbox has no free blob storage account left for {account['name']}: all "
                       f"{len(blob.accounts)} accounts of its Azurite pool are in use. Delete a storage account "
                       "first (or restart the sandbox).")
    pool[free[0]] = account["id"]
    return free[0]


def _endpoints(backend: Any, account: dict) -> dict:
    if account["_account"] is None:
        blob = PLACEHOLDER.format(name=account["name"])
    else:
        blob = backend.blob.url(account["_account"])
    return {"blob": blob, "dfs": blob, "web": blob}


def _blob_client(backend: Any, account: dict) -> Any:
    """azure-storage-blob on the pool account (imported only when the data plane is used)."""
    from azure.storage.blob import BlobServiceClient

    name = account["_account"]
    return BlobServiceClient(backend.blob.url(name).rstrip("/"),
                             credential={"account_name": name, "account_key": backend.blob.accounts[name]})


def after_account(backend: Any, account: dict, old: dict | None) -> None:
    """A storage account always has its blob service (`blobServices/default`)."""
    service_id = f"{account['id']}/blobServices/default"
    if backend.get(service_id) is None:
        backend.resources[service_id.lower()] = {
            "id": service_id, "name": "default", "type": BLOB_SERVICES,
            "properties": {"deleteRetentionPolicy": {"enabled": False}, "isVersioningEnabled": False,
                           "cors": {"corsRules": []}},
            "_type": BLOB_SERVICES.lower(), "_sub": account["_sub"], "_group": account["_group"],
            "_parent": account["id"]}
    if old is None and account["_account"] is not None:  # a fresh pool account: empty, as a new account is
        _empty(backend, account)


def _empty(backend: Any, account: dict) -> None:
    service = _blob_client(backend, account)
    for container in service.list_containers():
        service.delete_container(container.name)


def deleted_account(backend: Any, account: dict) -> None:
    """Its data goes with it (in Azurite), and the pool account is free again."""
    if account.get("_account") is None:
        return
    _empty(backend, account)
    _pool(backend).pop(account["_account"], None)


def list_keys(backend: Any, account: dict, body: dict, ctx: Any) -> tuple[int, dict, None]:
    if account["_account"] is not None:
        key = backend.blob.accounts[account["_account"]]
    else:
        key = base64.b64encode(hashlib.sha512(f"placeholder/{account['name']}".encode()).digest()).decode()
    second = base64.b64encode(hashlib.sha512(f"key2/{key}".encode()).digest()).decode()
    return 200, {"keys": [{"keyName": "key1", "value": key, "permissions": "FULL"},
                          {"keyName": "key2", "value": second, "permissions": "FULL"}]}, None


def prepare_service(backend: Any, new: dict, old: dict | None) -> None:
    props = new["properties"]
    for key in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        policy = props.get(key)
        if policy and policy.get("enabled") and not 1 <= int(policy.get("days") or 0) <= 365:
            raise invalid(f"{key}.days must be between 1 and 365 when enabled.", "InvalidParameter")
    if old is not None:  # PUT of service properties keeps what it does not mention
        props.update({k: v for k, v in old["properties"].items() if k not in props})


def _container_name_problem(name: str) -> str | None:
    if not _CONTAINER_NAME.fullmatch(name):
        return ("The specified resource name contains invalid characters. Container names are 3-63 lower-case "
                "letters, digits and single hyphens, starting and ending with a letter or digit.")
    return None


def prepare_container(backend: Any, new: dict, old: dict | None) -> None:
    problem = _container_name_problem(new["name"])
    if problem:
        raise ArmError(400, "ContainerOperationFailure", problem)
    account = backend.get(new["_parent"].rsplit("/", 2)[0])
    props = new["properties"]
    access = props.setdefault("publicAccess", "None")
    if access not in ("None", "Container", "Blob"):
        raise invalid(f"The value '{access}' is not valid for property 'publicAccess'.")
    if access != "None" and not account["properties"].get("allowBlobPublicAccess"):
        raise ArmError(409, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
    props.update(hasImmutabilityPolicy=False, hasLegalHold=False, leaseState="Available", leaseStatus="Unlocked",
                 deleted=False, lastModifiedTime="2026-01-01T00:00:00.0000000Z")
    new["etag"] = f'"0x{abs(hash(new_guid())):X}"'
    if old is None and account.get("_account") is not None:
        from azure.core.exceptions import ResourceExistsError

        try:
            _blob_client(backend, account).create_container(new["name"])
        except ResourceExistsError:
            pass


def deleted_container(backend: Any, container: dict) -> None:
    account = backend.get(container["_parent"].rsplit("/", 2)[0])
    if account is not None and account.get("_account") is not None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            _blob_client(backend, account).delete_container(container["name"])
        except ResourceNotFoundError:
            pass


_ACTIONS = {"tierToCool", "tierToCold", "tierToArchive", "delete", "enableAutoTierToHotFromCool",
            "tierToHot", "tierToColdAfter"}


def prepare_policy(backend: Any, new: dict, old: dict | None) -> None:
    rules = ((new["properties"].get("policy") or {}).get("rules"))
    if not isinstance(rules, list) or not rules:
        raise invalid("The management policy needs policy.rules (at least one rule).", "InvalidRequestContent")
    names = set()
    for rule in rules:
        name = rule.get("name")
        if not name or name in names:
            raise invalid(f"Each lifecycle rule needs a unique name ({name!r}).", "InvalidRequestContent")
        names.add(name)
        if rule.get("type") != "Lifecycle":
            raise invalid(f"Rule {name}: type must be 'Lifecycle'.", "InvalidRequestContent")
        rule.setdefault("enabled", True)
        actions = (rule.get("definition") or {}).get("actions")
        if not isinstance(actions, dict) or not actions:
            raise invalid(f"Rule {name}: definition.actions is required.", "InvalidRequestContent")
    new["properties"]["lastModifiedTime"] = "2026-01-01T00:00:00.0000000Z"


TYPES = [
    ResourceType(STORAGE, versions.STORAGE, lro=True, accepted=True, lro_delete=False, patch="sync",
                 prepare=prepare_account,
                 after_put=after_account, on_deleted=deleted_account, actions={"listkeys": list_keys}),
    ResourceType(BLOB_SERVICES, versions.STORAGE, lro=False, create_status=200, location="none", singleton="default",
                 prepare=prepare_service, generic=False, lists_in_subscription=False),
    ResourceType(CONTAINERS, versions.STORAGE, lro=False, patch="sync", location="none", prepare=prepare_container,
                 on_deleted=deleted_container, generic=False, lists_in_subscription=False),
    ResourceType(POLICIES, versions.STORAGE, lro=False, create_status=200, location="none", singleton="default",
                 prepare=prepare_policy, generic=False, lists_in_subscription=False),
]
SUBSCRIPTION_ACTIONS = {"Microsoft.Storage/checkNameAvailability".lower(): (versions.STORAGE, check_name_availability)}
