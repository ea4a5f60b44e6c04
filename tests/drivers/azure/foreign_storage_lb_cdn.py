"""Someone else's storage, load-balancing and Front Door objects, made with the official
azure-mgmt-* SDKs directly (no lepton tags), for the contract suite (merged by
tests/drivers/azure/harness.py) and the bucket/load_balancer/cdn tests.

A tagged type's foreign object sits in the stack's own resource group, under the wanted name
(`same_name`) or another one, without tags. A child type's (container, policy, Front Door
children) sits in the same owned parent under another name, or under the wanted name when asked
(then it is the very object the stack wants, which a child's create converges on).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable

from lepton_cli.drivers.base import DriverConfig
from tests.drivers.contract.harness import Built, ForeignObject

FOREIGN_TAGS = {"team": "someone-else"}


def sdk(endpoints: dict[str, str], name: str) -> Any:
    """An official management client on the emulator (the SDK's own, with the sandbox's token
    policy and endpoint: what any Azure SDK user would configure)."""
    from lepton_cli.drivers.azure.driver import AzureDriver

    return AzureDriver(DriverConfig(stack="someone-else", endpoints=endpoints)).client(name)


def blob_service(storage: Any, group: str, account: str) -> Any:
    """azure-storage-blob on the account's blob endpoint, signed with its key from listKeys."""
    from azure.storage.blob import BlobServiceClient

    endpoint = storage.storage_accounts.get_properties(group, account).primary_endpoints.blob
    key = storage.storage_accounts.list_keys(group, account)["keys"][0]["value"]
    return BlobServiceClient(endpoint, credential={"account_name": endpoint.rstrip("/").rsplit("/", 1)[-1],
                                                   "account_key": key})


@dataclass
class Made:
    """A foreign object and where it is (`group`), with its snapshot and cleanup."""

    id: str
    group: str
    snapshot: Callable[[], Any]
    cleanup: Callable[[], None]

    def foreign(self) -> ForeignObject:
        return ForeignObject(self.id, self.snapshot, self.cleanup)


def _ensure_group(endpoints: dict[str, str], group: str, location: str) -> bool:
    """Make resource group `group` (someone else's) unless it exists (then it is left as it is);
    whether it was made."""
    groups = sdk(endpoints, "resource").resource_groups
    if groups.check_existence(group):
        return False
    groups.create_or_update(group, {"location": location, "tags": FOREIGN_TAGS})
    return True


def make_account(endpoints: dict[str, str], group: str, name: str, location: str = "eastus") -> Made:
    """A storage account named `name` in resource group `group` (made if missing), not lepton's."""
    storage = sdk(endpoints, "storage")
    made_group = _ensure_group(endpoints, group, location)
    item = storage.storage_accounts.begin_create(group, name, {
        "location": location, "sku": {"name": "Standard_LRS"}, "kind": "StorageV2", "tags": FOREIGN_TAGS}).result()

    def snapshot():
        got = storage.storage_accounts.get_properties(group, name)
        return got.as_dict()

    def cleanup():
        storage.storage_accounts.delete(group, name)
        if made_group:
            sdk(endpoints, "resource").resource_groups.begin_delete(group).result()

    return Made(item.id, group, snapshot, cleanup)


def _name(built: Built, same_name: bool) -> str:
    return built.properties["name"] if same_name else f"foreign{uuid.uuid4().hex[:10]}"


def _storage(harness, built: Built, same_name: bool) -> ForeignObject:
    p = built.properties
    name = p["name"] if same_name else f"fx{uuid.uuid4().hex[:16]}"
    return make_account(harness.endpoints, p["resource_group"], name, p["location"]).foreign()


def _child(create: Callable, get: Callable, delete: Callable) -> ForeignObject:
    item = create()

    def snapshot():
        return get().as_dict()

    def cleanup():
        from azure.core.exceptions import ResourceNotFoundError

        try:
            delete()
        except ResourceNotFoundError:
            pass

    return ForeignObject(item.id, snapshot, cleanup)


def _container(harness, built: Built, same_name: bool) -> ForeignObject:
    """With the wanted name: in a foreign account of its own; else in the stack's account."""
    p, storage = built.properties, sdk(harness.endpoints, "storage")
    account, drop = p["account_name"], None
    if same_name:
        made = make_account(harness.endpoints, p["resource_group"], f"fc{uuid.uuid4().hex[:16]}")
        account, drop = made.id.rsplit("/", 1)[-1], made.cleanup
    name = p["name"] if same_name else f"foreign-{uuid.uuid4().hex[:10]}"
    where = (p["resource_group"], account, name)

    def delete():
        storage.blob_containers.delete(*where)
        if drop:
            drop()

    return _child(lambda: storage.blob_containers.create(*where, {"properties": {"publicAccess": "None"}}),
                  lambda: storage.blob_containers.get(*where), delete)


def _policy(harness, built: Built, same_name: bool) -> ForeignObject:
    """A policy can only be named "default": the foreign one is an account's of its own."""
    p, storage = built.properties, sdk(harness.endpoints, "storage")
    account = make_account(harness.endpoints, p["resource_group"], f"fp{uuid.uuid4().hex[:16]}")
    where = (p["resource_group"], account.id.rsplit("/", 1)[-1], "default")
    rule = {"name": "theirs", "type": "Lifecycle", "enabled": True, "definition": {
        "actions": {"baseBlob": {"delete": {"daysAfterModificationGreaterThan": 1}}},
        "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["content/tmp/"]}}}
    made = _child(lambda: storage.management_policies.create_or_update(*where, {"properties": {"policy": {
        "rules": [rule]}}}), lambda: storage.management_policies.get(*where), account.cleanup)
    return made


def _network(harness, built: Built, same_name: bool) -> ForeignObject:
    """A public IP or load balancer: the stack's wanted body, another (or the same) name, no tags."""
    p, network = built.properties, sdk(harness.endpoints, "network")
    name = _name(built, same_name)
    group = p["resource_group"]
    if built.primitive.type == "azure.public_ip":
        ops = network.public_ip_addresses
        body = {"location": p["location"], "sku": {"name": p["sku"]}, "zones": p["zones"] or None, "tags": FOREIGN_TAGS,
                "properties": {"publicIPAllocationMethod": p["allocation"],
                               "dnsSettings": {"domainNameLabel": f"{name}-x" if not same_name else p["dns_label"]}}}
    else:
        ops = network.load_balancers
        body = {"location": p["location"], "sku": {"name": p["sku"]}, "tags": FOREIGN_TAGS,
                "properties": {"backendAddressPools": [{"name": "theirs"}]}}
    return _child(lambda: ops.begin_create_or_update(group, name, body).result(), lambda: ops.get(group, name),
                  lambda: ops.begin_delete(group, name).result())


def _cdn(harness, built: Built, same_name: bool) -> ForeignObject:
    """A Front Door object. A child with the wanted name sits in a foreign profile of its own
    (with the parents it needs, under the stack's names); otherwise in the stack's profile."""
    p, cdn = built.properties, sdk(harness.endpoints, "cdn")
    name = _name(built, same_name)
    group, kind = p["resource_group"], built.primitive.type
    if kind == "azure.cdn_profile":
        where, ops = (group, name), cdn.profiles
        body = {"location": "Global", "sku": {"name": p["sku"]}, "tags": FOREIGN_TAGS}
        return _child(lambda: ops.begin_create(*where, body).result(), lambda: ops.get(*where),
                      lambda: ops.begin_delete(*where).result())
    profile, parents = p["profile_name"], []
    if same_name:
        profile = f"foreign{uuid.uuid4().hex[:10]}"
        cdn.profiles.begin_create(group, profile, {"location": "Global", "sku": {"name": "Standard_AzureFrontDoor"},
                                                   "tags": FOREIGN_TAGS}).result()
        parents.append(lambda: cdn.profiles.begin_delete(group, profile).result())
    origin_group_id = p.get("origin_group_id")
    if same_name and kind in ("azure.afd_origin", "azure.afd_route"):
        og = cdn.afd_origin_groups.begin_create(group, profile, p.get("origin_group_name") or "origins", {
            "properties": {"loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3}}}).result()
        origin_group_id = og.id
    if same_name and kind == "azure.afd_route":  # a route needs an origin group with an origin
        cdn.afd_origins.begin_create(group, profile, og.name, "theirs", {
            "properties": {"hostName": "example.com", "originHostHeader": "example.com"}}).result()
        cdn.afd_endpoints.begin_create(group, profile, p["endpoint_name"], {
            "location": "Global", "properties": {"enabledState": "Enabled"}}).result()
    if kind == "azure.afd_endpoint":
        where, ops = (group, profile, name), cdn.afd_endpoints
        body = {"location": "Global", "tags": FOREIGN_TAGS, "properties": {"enabledState": "Enabled"}}
    elif kind == "azure.afd_origin_group":
        where, ops = (group, profile, name), cdn.afd_origin_groups
        body = {"properties": {"loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3}}}
    elif kind == "azure.afd_origin":
        where, ops = (group, profile, p["origin_group_name"], name), cdn.afd_origins
        body = {"properties": {"hostName": "example.com", "originHostHeader": "example.com"}}
    else:
        where, ops = (group, profile, p["endpoint_name"], name), cdn.routes
        body = {"properties": {"originGroup": {"id": origin_group_id}, "patternsToMatch": ["/theirs/*"],
                               "supportedProtocols": ["Https"], "linkToDefaultDomain": "Enabled"}}

    def delete():
        ops.begin_delete(*where).result()
        for drop in parents:
            drop()

    return _child(lambda: ops.begin_create(*where, body).result(), lambda: ops.get(*where), delete)


FOREIGN = {
    "azure.storage_account": _storage, "azure.blob_container": _container, "azure.management_policy": _policy,
    "azure.public_ip": _network, "azure.load_balancer": _network,
    **{t: _cdn for t in ("azure.cdn_profile", "azure.afd_endpoint", "azure.afd_origin_group", "azure.afd_origin",
                         "azure.afd_route")},
}
