"""Microsoft.Compute: virtual machine scale sets (Uniform orchestration) and their virtual
machines. Instances live inside the scale set's record; a capacity change adds or removes them,
a model change leaves them `latestModelApplied: false` until an upgrade (Automatic/Rolling policy,
or `manualupgrade`) applies it."""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any, Iterator

from lepton_cli.sandbox.azure import refs, versions
from lepton_cli.sandbox.azure.backend import new_guid
from lepton_cli.sandbox.azure.errors import ArmError
from lepton_cli.sandbox.azure.spec import NameRule, ResourceType

VMSS = "Microsoft.Compute/virtualMachineScaleSets"
# The VM sizes the catalog uses (any location): an unknown size is refused as ARM does.
SIZES = frozenset([
    "Standard_B1s", "Standard_B1ms", "Standard_B2s", "Standard_B2ms", "Standard_B4ms", "Standard_B8ms",
    *(f"Standard_D{n}s_v5" for n in (2, 4, 8, 16, 32, 48, 64)),
    *(f"Standard_D{n}as_v5" for n in (2, 4, 8, 16, 32, 48, 64)),
    *(f"Standard_E{n}s_v5" for n in (2, 4, 8, 16, 32, 48, 64)),
    *(f"Standard_E{n}as_v5" for n in (2, 4, 8, 16, 32, 48, 64)),
    *(f"Standard_F{n}s_v2" for n in (2, 4, 8, 16, 32, 48, 64, 72)),
    "Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3",
    "Standard_NC24ads_A100_v4", "Standard_NC48ads_A100_v4", "Standard_NC96ads_A100_v4",
    "Standard_ND96asr_v4", "Standard_ND96amsr_A100_v4", "Standard_ND96isr_H100_v5",
    "Standard_NV6ads_A10_v5", "Standard_NV12ads_A10_v5", "Standard_NV18ads_A10_v5", "Standard_NV36ads_A10_v5",
])
_SIZES = {s.lower(): s for s in SIZES}
_UPGRADE_MODES = {"manual": "Manual", "automatic": "Automatic", "rolling": "Rolling"}
VMSS_NAME = NameRule(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?",
                     "The resource name '{name}' is invalid: a virtual machine scale set name is 1-64 characters "
                     "of letters, digits, '_', '.' and '-', starting with a letter or digit and not ending in "
                     "'.' or '-'.", "InvalidParameter")


def _invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target)


def _required(path: str) -> ArmError:
    return _invalid(f"Required parameter '{path}' is missing (null).", path)


def prepare(backend: Any, new: dict, old: dict | None) -> None:
    props = new["properties"]
    sku = new.get("sku") or {}
    if not sku.get("name"):
        raise _required("sku.name")
    size = _SIZES.get(str(sku["name"]).lower())
    if size is None:
        raise _invalid(f"The value {sku['name']} provided for the VM size is not valid. The valid sizes in the "
                       f"current region are: {', '.join(sorted(SIZES))}.", "sku.name")
    capacity = sku.get("capacity", 0 if old is None else old["sku"]["capacity"])
    if not isinstance(capacity, int) or not 0 <= capacity <= 1000:
        raise _invalid("The value of parameter sku.capacity is out of range: 0-1000.", "sku.capacity")
    new["sku"] = {"name": size, "tier": sku.get("tier", "Standard"), "capacity": capacity}
    mode = props.setdefault("orchestrationMode", "Uniform")
    if mode != "Uniform":
        raise _invalid(f"The emulator serves orchestrationMode 'Uniform' only, not '{mode}'.", "orchestrationMode")
    policy = props.setdefault("upgradePolicy", {})
    policy_mode = _UPGRADE_MODES.get(str(policy.get("mode", "Manual")).lower())
    if policy_mode is None:
        raise _invalid(f"The value '{policy.get('mode')}' of upgradePolicy.mode is invalid: Manual, Automatic or "
                       "Rolling.", "upgradePolicy.mode")
    policy["mode"] = policy_mode
    profile = props.get("virtualMachineProfile")
    if not isinstance(profile, dict):
        raise _required("virtualMachineProfile")
    _check_profile(backend, new, profile, old)
    props.setdefault("overprovision", False)
    props.setdefault("singlePlacementGroup", True)
    props.setdefault("platformFaultDomainCount", 1)
    props["uniqueId"] = old["properties"]["uniqueId"] if old else new_guid()
    props["timeCreated"] = old["properties"]["timeCreated"] if old else "2026-01-01T00:00:00+00:00"
    _reconcile(new, old)


def _check_profile(backend: Any, vmss: dict, profile: dict, old: dict | None) -> None:
    image = (profile.get("storageProfile") or {}).get("imageReference")
    if not isinstance(image, dict):
        raise _required("virtualMachineProfile.storageProfile.imageReference")
    if not image.get("id") and not all(image.get(k) for k in ("publisher", "offer", "sku", "version")):
        raise _invalid("The platform image requires publisher, offer, sku and version (or an image id).",
                       "imageReference")
    os_profile = profile.get("osProfile")
    if old is None or os_profile is not None:
        if not isinstance(os_profile, dict) or not os_profile.get("adminUsername"):
            raise _required("virtualMachineProfile.osProfile.adminUsername")
        os_profile.setdefault("computerNamePrefix", vmss["name"][:9])
        data = os_profile.get("customData")
        if data is not None:
            try:
                base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise _invalid("Custom data in OSProfile must be in Base64 encoding and with a maximum length of "
                               "87380 characters.", "customData") from None
        linux = os_profile.get("linuxConfiguration") or {}
        keys = ((linux.get("ssh") or {}).get("publicKeys")) or []
        for key in keys:
            if not key.get("path") or not key.get("keyData"):
                raise _invalid("An SSH public key needs 'path' and 'keyData'.", "linuxConfiguration.ssh.publicKeys")
        if linux.get("disablePasswordAuthentication") and not keys:
            raise _invalid("Authentication using either SSH or by user name and password must be enabled in Linux "
                           "profile.", "linuxConfiguration")
        if not keys and not os_profile.get("adminPassword"):
            raise _required("virtualMachineProfile.osProfile.adminPassword")
        if old is not None:  # secrets are write-only: keep the ones set before when not re-sent
            for key, value in old["_secrets"].items():
                if os_profile.get(key) is None:
                    os_profile[key] = value
    elif old is not None:
        profile["osProfile"] = copy.deepcopy(old["properties"]["virtualMachineProfile"]["osProfile"])
    popped = {k: profile["osProfile"].pop(k, None) for k in ("customData", "adminPassword")}
    vmss["_secrets"] = {k: v for k, v in popped.items() if v is not None}
    nics = (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations")
    if not nics:
        raise _required("virtualMachineProfile.networkProfile.networkInterfaceConfigurations")
    for i, nic in enumerate(nics):
        where = f"virtualMachineProfile.networkProfile.networkInterfaceConfigurations[{i}]"
        if not nic.get("name"):
            raise _required(f"{where}.name")
        nprops = nic.setdefault("properties", {})
        if nprops.get("networkSecurityGroup"):
            refs.resolve(backend, nprops["networkSecurityGroup"], f"{where}.properties.networkSecurityGroup",
                         vmss["id"], "Microsoft.Network/networkSecurityGroups", location=vmss["location"])
        ipcs = nprops.get("ipConfigurations")
        if not ipcs:
            raise _required(f"{where}.properties.ipConfigurations")
        for j, ipc in enumerate(ipcs):
            iwhere = f"{where}.properties.ipConfigurations[{j}]"
            if not ipc.get("name"):
                raise _required(f"{iwhere}.name")
            iprops = ipc.setdefault("properties", {})
            if not iprops.get("subnet"):
                raise _required(f"{iwhere}.properties.subnet")
            refs.resolve(backend, iprops["subnet"], f"{iwhere}.properties.subnet", vmss["id"],
                         "Microsoft.Network/virtualNetworks/subnets", location=vmss["location"])
            for k, pool in enumerate(iprops.get("loadBalancerBackendAddressPools") or []):
                refs.resolve_sub(backend, pool, f"{iwhere}.properties.loadBalancerBackendAddressPools[{k}]",
                                 vmss["id"], "Microsoft.Network/loadBalancers/backendAddressPools")


def _model(record: dict) -> dict:
    profile = copy.deepcopy(record["properties"]["virtualMachineProfile"])
    return {"profile": profile, "secrets": record.get("_secrets"), "size": record["sku"]["name"]}


def _reconcile(new: dict, old: dict | None) -> None:
    """Instances: keep, add or remove to match capacity; bump the model generation on a change."""
    generation = old["_generation"] if old else 1
    if old is not None and _model(old) != _model(new):
        generation += 1
    new["_generation"] = generation
    vms = [dict(vm) for vm in (old["_vms"] if old else [])]
    next_id = old["_next_id"] if old else 0
    zones = [str(z) for z in new.get("zones") or []]
    capacity = new["sku"]["capacity"]
    while len(vms) > capacity:  # scale in: highest instance ids first
        vms.pop()
    while len(vms) < capacity:
        zone = zones[next_id % len(zones)] if zones else None
        vms.append({"instanceId": str(next_id), "zone": zone, "generation": generation, "vmId": new_guid()})
        next_id += 1
    if new["properties"]["upgradePolicy"]["mode"] != "Manual":
        for vm in vms:
            vm["generation"] = generation
    new["_vms"], new["_next_id"] = vms, next_id


def vm_view(vmss: dict, vm: dict) -> dict:
    """One instance as `virtualMachineScaleSetVMs` serves it."""
    profile = vmss["properties"]["virtualMachineProfile"]
    iid = vm["instanceId"]
    vm_id = f"{vmss['id']}/virtualMachines/{iid}"
    prefix = profile["osProfile"].get("computerNamePrefix", vmss["name"][:9])
    view = {
        "id": vm_id, "name": f"{vmss['name']}_{iid}", "type": f"{VMSS}/virtualMachines",
        "location": vmss["location"], "instanceId": iid,
        "sku": {"name": vmss["sku"]["name"], "tier": vmss["sku"].get("tier", "Standard")},
        "properties": {
            "latestModelApplied": vm["generation"] == vmss["_generation"], "vmId": vm["vmId"],
            "provisioningState": "Succeeded", "hardwareProfile": {"vmSize": vmss["sku"]["name"]},
            "storageProfile": {"imageReference": copy.deepcopy(profile["storageProfile"]["imageReference"])},
            "osProfile": {"computerName": f"{prefix}{int(iid):06X}",
                          "adminUsername": profile["osProfile"].get("adminUsername")},
            "networkProfile": {"networkInterfaces": [
                {"id": f"{vm_id}/networkInterfaces/{nic['name']}"}
                for nic in profile["networkProfile"]["networkInterfaceConfigurations"]]},
        },
    }
    if vm["zone"]:
        view["zones"] = [vm["zone"]]
    return view


def read_vms(backend: Any, vmss: dict, instance_id: str | None) -> Any:
    views = [vm_view(vmss, vm) for vm in vmss["_vms"]]
    if instance_id is None:
        return views
    return next((v for v in views if v["instanceId"] == instance_id), None)


def nic_ip_configs(backend: Any) -> Iterator[tuple[str, dict]]:
    """Every scale-set instance's NIC ip configuration: (its id, its properties)."""
    for vmss in backend.of_type(VMSS.lower()):
        for vm in vmss["_vms"]:
            for nic in vmss["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"]:
                for ipc in nic["properties"]["ipConfigurations"]:
                    yield (f"{vmss['id']}/virtualMachines/{vm['instanceId']}/networkInterfaces/{nic['name']}"
                           f"/ipConfigurations/{ipc['name']}", ipc["properties"])


def _instance_ids(vmss: dict, body: dict, required: bool) -> list[dict]:
    ids = body.get("instanceIds")
    if ids is None:
        if required:
            raise _required("instanceIds")
        return list(vmss["_vms"])
    if ids == ["*"]:
        return list(vmss["_vms"])
    known = {vm["instanceId"]: vm for vm in vmss["_vms"]}
    missing = [i for i in ids if str(i) not in known]
    if missing:
        raise _invalid(f"The provided instanceId(s) {', '.join(map(str, missing))} are not valid VM instance "
                       f"Id(s) for scale set {vmss['name']}.", "instanceIds")
    return [known[str(i)] for i in ids]


def _operation(backend: Any, vmss: dict, finish: Any) -> tuple[int, None, Any]:
    return 202, None, backend.start_op("Microsoft.Compute", vmss["location"], "POST", vmss["id"], finish)


def manual_upgrade(backend: Any, vmss: dict, body: dict, ctx: Any) -> tuple[int, None, Any]:
    chosen = _instance_ids(vmss, body, required=True)
    for vm in chosen:
        vm["generation"] = vmss["_generation"]
    return _operation(backend, vmss, lambda: None)


def delete_instances(backend: Any, vmss: dict, body: dict, ctx: Any) -> tuple[int, None, Any]:
    chosen = {vm["instanceId"] for vm in _instance_ids(vmss, body, required=True)}
    vmss["_vms"] = [vm for vm in vmss["_vms"] if vm["instanceId"] not in chosen]
    vmss["sku"]["capacity"] = len(vmss["_vms"])
    return _operation(backend, vmss, lambda: None)


def _no_op(backend: Any, vmss: dict, body: dict, ctx: Any) -> tuple[int, None, Any]:
    _instance_ids(vmss, body, required=False)
    return _operation(backend, vmss, lambda: None)




TYPES = [
    ResourceType(VMSS, versions.COMPUTE, patch="lro", name_rule=VMSS_NAME, prepare=prepare,
                 actions={"manualupgrade": manual_upgrade, "delete": delete_instances, "restart": _no_op,
                          "start": _no_op, "reimage": _no_op}),
    ResourceType(f"{VMSS}/virtualMachines", versions.COMPUTE, location="none", generic=False,
                 lists_in_subscription=False, reader=read_vms),
]
