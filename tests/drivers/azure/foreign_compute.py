"""Foreign objects (no lepton tags) for the network, firewall and compute types, made with the
azure-mgmt SDKs directly, for the contract suite (tests/drivers/azure/harness.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from lepton_cli.drivers.azure.compute import PLACEHOLDER_KEY
from lepton_cli.drivers.base import DriverConfig
from tests.drivers.contract.harness import Built, ForeignObject

NOT_OURS = {"owner": "made by hand, not by lepton"}
SSH_KEY = PLACEHOLDER_KEY  # a valid public key whose private half nobody holds


def _name() -> str:
    return f"foreign-{uuid.uuid4().hex[:10]}"


def _client(built: Built, name: str):
    """An azure-mgmt client of its own on the emulator (not the driver under test, whose calls the
    suite counts and injects faults into)."""
    from lepton_cli.drivers.azure.driver import AzureDriver

    return AzureDriver(DriverConfig(stack="someone-else", endpoints=built.driver.config.endpoints)).client(name)


def _wanted(built: Built, same_name: bool) -> str:
    return built.properties["name"] if same_name else _name()


def _chain(*cleanups: Callable[[], None]) -> Callable[[], None]:
    def run():
        for cleanup in cleanups:
            cleanup()
    return run


def _object(get: Callable[[], Any], delete: Callable[[], None]) -> ForeignObject:
    """The object `get` reads: its ARM id, a snapshot of its JSON, and its deletion."""
    return ForeignObject(get().id, lambda: get().as_dict(), delete)


def foreign_resource_group(harness, built: Built, same_name: bool) -> ForeignObject:
    groups = _client(built, "resource").resource_groups
    name = _wanted(built, same_name)
    groups.create_or_update(name, {"location": built.region, "tags": NOT_OURS})
    return _object(lambda: groups.get(name), lambda: groups.begin_delete(name).result())


def _vnet(built: Built, group: str, name: str, subnets: list[dict[str, Any]] | None = None):
    vnets = _client(built, "network").virtual_networks
    body: dict[str, Any] = {"location": built.region, "tags": NOT_OURS,
                            "properties": {"addressSpace": {"addressPrefixes": ["192.168.0.0/16"]}}}
    if subnets:
        body["properties"]["subnets"] = subnets
    vnets.begin_create_or_update(group, name, body).result()
    return (lambda: vnets.get(group, name)), (lambda: vnets.begin_delete(group, name).result())


def foreign_virtual_network(harness, built: Built, same_name: bool) -> ForeignObject:
    get, delete = _vnet(built, built.properties["resource_group"], _wanted(built, same_name))
    return _object(get, delete)


def foreign_subnet(harness, built: Built, same_name: bool) -> ForeignObject:
    """A subnet with the wanted name in a VNet of its own (subnets are owned through their VNet)."""
    group, vnet = built.properties["resource_group"], _name()
    name = built.properties["name"] if same_name else _name()
    _, delete_vnet = _vnet(built, group, vnet, [{"name": name, "properties": {"addressPrefix": "192.168.0.0/24"}}])
    subnets = _client(built, "network").subnets
    return _object(lambda: subnets.get(group, vnet, name), delete_vnet)


def foreign_network_security_group(harness, built: Built, same_name: bool) -> ForeignObject:
    groups = _client(built, "network").network_security_groups
    group, name = built.properties["resource_group"], _wanted(built, same_name)
    groups.begin_create_or_update(group, name, {"location": built.region, "tags": NOT_OURS, "properties": {
        "securityRules": [{"name": "ssh", "properties": {
            "priority": 300, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourcePortRange": "*",
            "sourceAddressPrefix": "192.0.2.0/24", "destinationAddressPrefix": "*", "destinationPortRange": "22"}}]}}
    ).result()
    return _object(lambda: groups.get(group, name), lambda: groups.begin_delete(group, name).result())


def _scale_set(built: Built, group: str, name: str, subnet: str) -> tuple[Callable, Callable]:
    sets = _client(built, "compute").virtual_machine_scale_sets
    sets.begin_create_or_update(group, name, {
        "location": built.region, "tags": NOT_OURS, "sku": {"name": "Standard_B1s", "capacity": 0},
        "properties": {"upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": "foreign", "adminUsername": "someone", "linuxConfiguration": {
                "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                    {"path": "/home/someone/.ssh/authorized_keys", "keyData": SSH_KEY}]}}},
            "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12-gen2",
                                                  "version": "latest"}},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                "primary": True, "ipConfigurations": [{"name": "ip", "properties": {"subnet": {"id": subnet}}}]}}]}}},
    }).result()
    return (lambda: sets.get(group, name)), (lambda: sets.begin_delete(group, name).result())


def foreign_vm_scale_set(harness, built: Built, same_name: bool) -> ForeignObject:
    get, delete = _scale_set(built, built.properties["resource_group"], _wanted(built, same_name),
                             built.properties["subnet"])
    return _object(get, delete)


def foreign_autoscale_setting(harness, built: Built, same_name: bool) -> ForeignObject:
    """A setting on a scale set of its own (a scale set takes one autoscale setting)."""
    group = built.properties["resource_group"]
    source = next(o for o in built.prerequisites.values() if o.type == "azure.vm_scale_set")
    get_set, delete_set = _scale_set(built, group, _name(), source.properties["subnet"])
    target = get_set().id
    settings = _client(built, "monitor").autoscale_settings
    name = _wanted(built, same_name)
    settings.create_or_update(group, name, {"location": built.region, "tags": NOT_OURS, "properties": {
        "enabled": True, "targetResourceUri": target, "profiles": [{
            "name": "manual", "capacity": {"minimum": "0", "maximum": "1", "default": "0"}, "rules": []}]}})

    def snapshot():
        return settings.get(group, name).serialize(keep_readonly=True)

    return ForeignObject(settings.get(group, name).id, snapshot,
                         _chain(lambda: settings.delete(group, name), delete_set))


FOREIGN = {
    "azure.resource_group": foreign_resource_group,
    "azure.virtual_network": foreign_virtual_network,
    "azure.subnet": foreign_subnet,
    "azure.network_security_group": foreign_network_security_group,
    "azure.vm_scale_set": foreign_vm_scale_set,
    "azure.autoscale_setting": foreign_autoscale_setting,
}
