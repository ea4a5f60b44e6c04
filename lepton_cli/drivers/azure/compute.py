"""`compute` on Azure: a Linux virtual machine scale set (Uniform orchestration) spread over
`zones`, with a network security group on its network interfaces and, with `autoscale`, an
autoscale setting on CPU (Microsoft.Insights).

- Capacity is `count`, changed in place (a PATCH of the scale set's sku capacity). With
  `autoscale` the autoscale setting owns it: set at creation, never diffed.
- An image, size, disk or user_data change is a PUT of the scale set's model. The upgrade
  policy is Automatic: Azure rolls every instance onto the new model by itself. (Rolling would
  upgrade in batches, but needs a health probe or the Application Health extension on every
  group, including groups no load balancer fronts; lepton keeps one policy for all and says so
  in docs/azure-compute.md.)
- `zones`, the admin user and spot priority are fixed at creation: a change replaces the scale
  set (destroyed first: the name stays). A load balancer in front is unaffected: the scale set
  references the balancer's backend pool, not the other way round, so the old set leaves the
  pool as it goes and the new one joins it.
- Instances get the admin user `lepton`, password login disabled, and an SSH public key that
  lepton never generates: `~/.ssh/id_rsa.pub` or `~/.ssh/id_ed25519.pub` when present, else a
  placeholder whose private key was discarded (no SSH access; the plan says so). The key is set
  at creation only, so planning from another machine never shows a change.
- `user_data` becomes the base64 `customData`, which ARM never returns: it is write-only, and a
  refresh keeps the value state recorded.
- Spot: priority Spot, eviction Delete (the set recreates evicted instances), max price -1 (up
  to the on-demand price, never evicted for price).
- Instances nothing fronts get a public IP each, so the CIDRs of `allow_from` reach them and
  they reach the internet, as on AWS and Google Cloud; load-balanced instances get none.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from lepton_cli.catalog.resolver import InstanceType, catalog, check_instance_type, choose_size, describe
from lepton_cli.drivers.azure import firewall, images, network
from lepton_cli.drivers.azure.common import AzureType, parse_id
from lepton_cli.drivers.azure.errors import translate
from lepton_cli.drivers.azure.network import group_ref
from lepton_cli.drivers.azure.regions import zone_names
from lepton_cli.drivers.azure.rest import as_json, dig, location_of, observed
from lepton_cli.drivers.base import ExpandContext, Primitive, Ref
from lepton_cli.drivers.names import physical_name
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Compute, Stack

SCALE_SET, AUTOSCALE = "azure.vm_scale_set", "azure.autoscale_setting"
ATTRIBUTES = {
    "id": (SCALE_SET, "id"),
    "name": (SCALE_SET, "name"),
    "group_id": (SCALE_SET, "id"),
}
ADMIN = "lepton"
SSH_KEY_FILES = ("id_rsa.pub", "id_ed25519.pub")
# An RSA public key whose private half was discarded when it was made: a scale set needs a key
# when password login is off, and this one lets nobody in.
PLACEHOLDER_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCaRWQu75unFTEgSwKYNLhkj032beNmZplNIre/Y7jh69voPl0XCqetj0STYM2kKC9nfLD"
    "CMUhv8owXTjXkc4XZdbGYssDQDK/DijuAMlUHJCr0/+zHGjMPZ4bhKMi5WHtpSKEHeri5j0lliPXOOo4wuTCQAgdvj2I3egSQiI5XZbTT1vwW"
    "jHkXorxhF665xvMIhsO9tMTk6g4CAIEQsJqAUy8DxB9+SsvQrhFfHpadjVQ+tSpUjbSftCoGrOo/rfVFSci/LtDVbCK8X3fErC3r2Uq+n8Fp2"
    "Uua4lAqVnAwOlpMe0IqQGagnqN5GqJFkKbS5WrtPbeMwwSQjX71Fvned9rzhDXi0nPjJR9p4NzUOpDTMN5lU32ALotLaq6qhVbQXMDMmZ7MyG"
    "W/0/4+tf5iMyrNLVRLXVXUG0rPCx9AI/sajzbVJE5//kpUlRBnNaABLg3K/PGH6MNWT31MkurBilORZWGY4OzWYMPZF4NizU11jL4c4cR84L2"
    "YSjKy5Rc= lepton-placeholder-no-private-key")
UPGRADE_MODE = "Automatic"
DISK_TYPE = "StandardSSD_LRS"  # every size takes it (Premium_LRS needs an "s" size)
# Azure refuses an OS disk smaller than the image's (30 GiB for the Marketplace Linux images).
MARKETPLACE_DISK_GB = 30
NIC, IP_CONFIG = "nic", "ipconfig"
NAME_PREFIX_LIMIT = 58  # Linux computerNamePrefix: 1-58 characters (the set appends 6)
# Set at creation, owned by someone else afterwards: the autoscale setting's capacity, and the
# SSH key (read from the machine that first applied).
AUTOSCALER_OWNS = frozenset({"capacity"})
CREATION_ONLY = frozenset({"ssh_key"})
CPU_METRIC = "Percentage CPU"
METRIC_NAMESPACE = "microsoft.compute/virtualmachinescalesets"
COOLDOWN = "PT5M"


def needs_network(resource: Compute) -> bool:
    return True


def scale_set_name(stack: str, name: str) -> str:
    return physical_name(stack, name, limit=64)


# -- sizes, images, keys ----------------------------------------------------------------------------------
def instance_choice(resource: Compute) -> tuple[InstanceType, list[str]]:
    """The catalog size a group runs, and notes on how `size` was resolved (for the plan). VM
    size names are case-insensitive on Azure, as here."""
    if resource.instance_type is not None:
        name = resource.instance_type
        if isinstance(name, dict):
            if "azure" not in name:
                raise LeptonError(Diagnostic(summary="instance_type names no size for azure",
                                             hint="add `azure: <VM size>` to the map, or use size"))
            name = name["azure"]
        canonical = {t.name.lower(): t.name for t in catalog("azure")}
        return check_instance_type("azure", canonical.get(name.lower(), name)), []
    return choose_size("azure", resource.size)


def ssh_public_key(home: Path | None = None) -> tuple[str, list[str]]:
    """The SSH public key instances accept, and a note when it is the placeholder."""
    folder = (home or Path.home()) / ".ssh"
    for name in SSH_KEY_FILES:
        try:
            key = (folder / name).read_text().strip()
        except OSError:
            continue
        if key:
            return key, []
    return PLACEHOLDER_KEY, [f"no ~/.ssh/{' or ~/.ssh/'.join(SSH_KEY_FILES)}: the instances get a placeholder SSH key "
                             "nobody holds (no SSH access); add a key and recreate the group to log in"]


def os_disk_gb(resource: Compute) -> tuple[int, list[str]]:
    """The OS disk size: `disk_gb`, raised to the Marketplace images' 30 GiB (Azure refuses a
    smaller disk than the image's), with a note when raised."""
    if images.is_image_id(resource.image) or resource.disk_gb >= MARKETPLACE_DISK_GB:
        return resource.disk_gb, []
    return MARKETPLACE_DISK_GB, [f"disk_gb {resource.disk_gb} is below the {MARKETPLACE_DISK_GB} GiB of Azure's "
                                 f"Marketplace Linux images: the OS disk gets {MARKETPLACE_DISK_GB} GiB"]


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource = stack.resources[name]
    problems = []
    try:
        instance_choice(resource)
    except LeptonError as exc:
        problems += [_at(d, name, "instance_type" if resource.instance_type else "size") for d in exc.diagnostics]
    if not images.is_known(resource.image):
        problems.append(images.unknown(resource.image, f"resources.{name}.image"))
    return problems


def _at(d: Diagnostic, name: str, key: str) -> Diagnostic:
    return Diagnostic(summary=d.summary, detail=d.detail, hint=d.hint, path=f"resources.{name}.{key}")


# -- load balancers in front ------------------------------------------------------------------------------
def balancers(stack: Stack, name: str) -> list[str]:
    """The stack's Azure load balancers targeting group `name`: scanned here, so the scale set
    references their pools and the dependency runs scale set -> load balancer (DESIGN §1)."""
    return sorted(other for other, r in stack.resources.items()
                  if r.kind == "load_balancer" and r.target == name and stack.cloud_of(other) == "azure")


def balancer_ports(stack: Stack, name: str) -> tuple[list[int], list[int]]:
    """(the ports load balancers send clients to, the ports their probes check)."""
    traffic, probes = set(), set()
    for other in balancers(stack, name):
        resource = stack.resources[other]
        ports = [listener.target_port or listener.port for listener in resource.listeners]
        traffic |= set(ports)
        probes |= {*ports, resource.health_check.port or ports[0]}
    return sorted(traffic), sorted(probes)


# -- expansion -------------------------------------------------------------------------------------------
def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Compute = stack.resources[name]
    itype, notes = instance_choice(resource)
    key, key_notes = ssh_public_key()
    disk_gb, disk_notes = os_disk_gb(resource)
    fronted = balancers(stack, name)
    traffic, probes = balancer_ports(stack, name)
    nsg = firewall.security_group(stack.stack, name, region, allow_from=resource.allow_from,
                                  ports=sorted({*resource.ports, *traffic}), balanced_ports=traffic, probe_ports=probes)

    def prim(type_: str, props: dict[str, Any], **extra) -> Primitive:
        return Primitive(address=f"{name}/{type_}", type=type_, cloud="azure", region=region, resource=name,
                         kind="compute", properties=props, **extra)

    count = (resource.autoscale.min, resource.autoscale.max) if resource.autoscale else resource.desired_count
    set_name = scale_set_name(stack.stack, name)
    scale_set = prim(SCALE_SET, {
        "name": set_name, "resource_group": group_ref(region), "location": region,
        "size": itype.name, "capacity": resource.desired_count, "zones": zone_names(region, resource.zones),
        "image": images.resolve(resource.image), "disk_gb": disk_gb,
        "admin_username": ADMIN, "ssh_key": key,
        "custom_data": ctx.interpolate(resource.user_data) if resource.user_data else "",
        "computer_name_prefix": physical_name(stack.stack, name, limit=NAME_PREFIX_LIMIT),
        "subnet": network.subnet_ref(region), "security_group": Ref(nsg.address, "id"),
        "backend_pools": [Ref(f"{lb}/azure.load_balancer", "backend_pool_id") for lb in fronted],
        "public_ip": not fronted, "spot": resource.spot, "upgrade_mode": UPGRADE_MODE,
    }, ignore_changes=CREATION_ONLY | (AUTOSCALER_OWNS if resource.autoscale else frozenset()),
        summary=(*describe(itype, count), *(f"note: {n}" for n in (*notes, *disk_notes, *key_notes))))
    prims = [nsg, scale_set]
    if resource.autoscale:
        scale = resource.autoscale
        prims.append(prim(AUTOSCALE, {
            "name": physical_name(stack.stack, name, "autoscale", limit=64), "resource_group": group_ref(region),
            "location": region, "target": Ref(scale_set.address, "id"),
            "minimum": scale.min, "maximum": scale.max, "default": scale.min,
            "scale_out_cpu": scale.target_cpu, "scale_in_cpu": scale_in_threshold(scale.target_cpu)}))
    return prims


def scale_in_threshold(target: int) -> int:
    """Scale in below half the target: a margin wide enough that removing one instance does not
    push the others straight back over the scale-out threshold (flapping)."""
    return max(1, target // 2)


# -- scale set ---------------------------------------------------------------------------------------------
class VmScaleSetType(AzureType):
    type_name = SCALE_SET
    client = "compute"
    noun = "scale set"
    property_keys = frozenset({"name", "resource_group", "location", "size", "capacity", "zones", "image",
                               "disk_gb", "admin_username", "ssh_key", "custom_data", "computer_name_prefix",
                               "subnet", "security_group", "backend_pools", "public_ip", "spot", "upgrade_mode"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "resource_group", "location", "zones", "admin_username",
                            "computer_name_prefix", "spot"})
    update_notes = {"capacity": "changes the number of instances in place",
                    **{k: "updates the scale set's model and rolls every instance onto it"
                       for k in ("size", "image", "disk_gb", "custom_data", "subnet", "security_group",
                                 "backend_pools", "public_ip")},
                    "upgrade_mode": "changes how the scale set rolls out model changes"}

    def normalize(self, properties):
        return {**properties, "zones": sorted(properties["zones"]),
                "backend_pools": sorted(properties["backend_pools"], key=str)}

    def items(self, region):
        return self.api().virtual_machine_scale_sets.list(self.group(region))

    def fetch(self, region, name, properties):
        return self.api().virtual_machine_scale_sets.get(properties.get("resource_group") or self.group(region), name)

    def body(self, primitive: Primitive, p: dict[str, Any]) -> dict[str, Any]:
        ip_config: dict[str, Any] = {"subnet": {"id": p["subnet"]}, "primary": True}
        if p["backend_pools"]:
            ip_config["loadBalancerBackendAddressPools"] = [{"id": pool} for pool in p["backend_pools"]]
        if p["public_ip"]:
            # Standard: zone-aware and closed unless the NSG allows (Basic public IPs are retired).
            ip_config["publicIPAddressConfiguration"] = {"name": "public", "sku": {"name": "Standard"},
                                                         "properties": {"idleTimeoutInMinutes": 4}}
        os_profile: dict[str, Any] = {
            "computerNamePrefix": p["computer_name_prefix"], "adminUsername": p["admin_username"],
            "linuxConfiguration": {"disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                {"path": f"/home/{p['admin_username']}/.ssh/authorized_keys", "keyData": p["ssh_key"]}]}}}
        if p["custom_data"]:
            os_profile["customData"] = base64.b64encode(p["custom_data"].encode()).decode()
        profile: dict[str, Any] = {
            "osProfile": os_profile,
            "storageProfile": {"imageReference": dict(p["image"]), "osDisk": {
                "createOption": "FromImage", "caching": "ReadWrite", "diskSizeGB": p["disk_gb"],
                "managedDisk": {"storageAccountType": DISK_TYPE}}},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": NIC, "properties": {
                "primary": True, "networkSecurityGroup": {"id": p["security_group"]},
                "ipConfigurations": [{"name": IP_CONFIG, "properties": ip_config}]}}]},
        }
        if p["spot"]:
            profile.update(priority="Spot", evictionPolicy="Delete", billingProfile={"maxPrice": -1})
        body: dict[str, Any] = {
            "location": p["location"], "tags": self.tags(primitive.address),
            "sku": {"name": p["size"], "tier": "Standard", "capacity": p["capacity"]},
            "properties": {"orchestrationMode": "Uniform", "singlePlacementGroup": False, "overprovision": False,
                           "upgradePolicy": {"mode": p["upgrade_mode"]}, "virtualMachineProfile": profile}}
        if p["zones"]:
            body["zones"] = list(p["zones"])
        return body

    def put(self, primitive, properties):
        return self.api().virtual_machine_scale_sets.begin_create_or_update(
            properties["resource_group"], properties["name"], self.body(primitive, properties)).result()

    def update(self, primitive, properties, current, changed):
        """Capacity alone: a PATCH of the sku (no model change, no rollout). Anything else: a PUT of
        the model, with what the set was created with where lepton no longer decides (the key,
        the autoscaler's capacity); the Automatic upgrade policy moves the instances onto it."""
        group, name = properties["resource_group"], properties["name"]
        sets = self.api().virtual_machine_scale_sets
        if changed <= {"capacity"}:
            with translate(f"changing the capacity of the scale set {name}", primitive.address):
                item = sets.begin_update(group, name, {"sku": {"name": properties["size"], "tier": "Standard",
                                                               "capacity": properties["capacity"]}}).result()
            return self.observe(primitive.address, primitive.region, item)
        kept = {k: current.properties[k] for k in primitive.ignore_changes if k in current.properties}
        with translate(f"updating the scale set {name}", primitive.address):
            item = sets.begin_create_or_update(group, name, self.body(primitive, {**properties, **kept})).result()
        return self.observe(primitive.address, primitive.region, item)

    def remove(self, current):
        self.api().virtual_machine_scale_sets.begin_delete(current.properties["resource_group"],
                                                           parse_id(current.id)["name"]).result()

    def observe(self, address, region, item):
        data = as_json(item)
        props = data.get("properties", {})
        profile = props.get("virtualMachineProfile", {})
        os_profile = profile.get("osProfile", {})
        ip_config = dig(profile, "networkProfile", "networkInterfaceConfigurations", 0, "properties",
                        "ipConfigurations", 0, "properties", default={})
        image = dig(profile, "storageProfile", "imageReference", default={})
        image = {"id": image["id"]} if image.get("id") else {k: image.get(k) for k in images.URN_PARTS}
        # customData is write-only in ARM: never reported, state keeps it (see the module's note).
        return observed(self, address, region, item, self.normalize({
            "name": data["name"], "resource_group": parse_id(data["id"])["resource_group"],
            "location": location_of(data), "size": dig(data, "sku", "name"), "capacity": dig(data, "sku", "capacity"),
            "zones": [str(z) for z in data.get("zones") or []], "image": image,
            "disk_gb": dig(profile, "storageProfile", "osDisk", "diskSizeGB"),
            "admin_username": os_profile.get("adminUsername"),
            "ssh_key": dig(os_profile, "linuxConfiguration", "ssh", "publicKeys", 0, "keyData"),
            "computer_name_prefix": os_profile.get("computerNamePrefix"),
            "subnet": dig(ip_config, "subnet", "id"),
            "security_group": dig(profile, "networkProfile", "networkInterfaceConfigurations", 0, "properties",
                                  "networkSecurityGroup", "id"),
            "backend_pools": [pool["id"] for pool in ip_config.get("loadBalancerBackendAddressPools") or []],
            "public_ip": bool(ip_config.get("publicIPAddressConfiguration")),
            "spot": profile.get("priority") == "Spot",
            "upgrade_mode": dig(props, "upgradePolicy", "mode"),
        }))


# -- autoscale setting -----------------------------------------------------------------------------------
def _rule(target: str, direction: str, operator: str, threshold: int) -> dict[str, Any]:
    return {"metricTrigger": {"metricName": CPU_METRIC, "metricNamespace": METRIC_NAMESPACE,
                              "metricResourceUri": target, "timeGrain": "PT1M", "statistic": "Average",
                              "timeWindow": "PT5M", "timeAggregation": "Average", "operator": operator,
                              "threshold": threshold},
            "scaleAction": {"direction": direction, "type": "ChangeCount", "value": "1", "cooldown": COOLDOWN}}


class AutoscaleSettingType(AzureType):
    """CPU autoscaling of one scale set: one profile (capacity min/max/default), a scale-out
    rule above `scale_out_cpu` and a scale-in rule below `scale_in_cpu`, changed in place."""

    type_name = AUTOSCALE
    client = "monitor"
    noun = "autoscale setting"
    property_keys = frozenset({"name", "resource_group", "location", "target", "minimum", "maximum", "default",
                               "scale_out_cpu", "scale_in_cpu"})
    output_keys = frozenset({"id", "name"})
    replace_on = frozenset({"name", "resource_group", "location"})
    update_notes = {k: "changes the autoscaling policy in place"
                    for k in ("target", "minimum", "maximum", "default", "scale_out_cpu", "scale_in_cpu")}

    def items(self, region):
        return self.api().autoscale_settings.list_by_resource_group(self.group(region))

    def fetch(self, region, name, properties):
        return self.api().autoscale_settings.get(properties.get("resource_group") or self.group(region), name)

    def put(self, primitive, p):
        body = {"location": p["location"], "tags": self.tags(primitive.address), "properties": {
            "name": p["name"], "enabled": True, "targetResourceUri": p["target"],
            "profiles": [{"name": "cpu", "capacity": {"minimum": str(p["minimum"]), "maximum": str(p["maximum"]),
                                                      "default": str(p["default"])},
                          "rules": [_rule(p["target"], "Increase", "GreaterThan", p["scale_out_cpu"]),
                                    _rule(p["target"], "Decrease", "LessThan", p["scale_in_cpu"])]}]}}
        return self.api().autoscale_settings.create_or_update(p["resource_group"], p["name"], body)

    def remove(self, current):
        self.api().autoscale_settings.delete(current.properties["resource_group"], parse_id(current.id)["name"])

    def observe(self, address, region, item):
        data = as_json(item)
        props = data.get("properties", {})
        profile = dig(props, "profiles", 0, default={})
        capacity = profile.get("capacity", {})
        thresholds = {dig(r, "scaleAction", "direction"): dig(r, "metricTrigger", "threshold")
                      for r in profile.get("rules") or []}
        return observed(self, address, region, item, {
            "name": data["name"], "resource_group": parse_id(data["id"])["resource_group"],
            "location": location_of(data), "target": props.get("targetResourceUri"),
            "minimum": _int(capacity.get("minimum")), "maximum": _int(capacity.get("maximum")),
            "default": _int(capacity.get("default")),
            "scale_out_cpu": _int(thresholds.get("Increase")), "scale_in_cpu": _int(thresholds.get("Decrease"))})


def _int(value: Any) -> int | None:
    return None if value is None else int(float(value))


TYPES = [VmScaleSetType, AutoscaleSettingType]
