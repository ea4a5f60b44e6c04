"""`compute` on Google Cloud: an instance template, a regional managed instance group spread
over `zones` (plus a regional autoscaler on CPU with `autoscale`) and, when the plan opens
ports to CIDRs, a firewall rule for the group's network tag.

- Templates are immutable, so a template's name ends in a hash of its properties: an image,
  size, disk or user_data change is a new template (created first), the group is patched to
  it with a proactive rolling update, and the old one is deleted once no group uses it.
- `count` is the group's target size, changed in place with `resize` (with `autoscale` the
  autoscaler owns it: set at creation, never diffed).
- GPUs: a2 (A100) and g2 (L4) types carry their GPUs; T4s attach to n1 types (catalog names
  `n1-standard-8+T4:1`) as guest accelerators. Every GPU VM must stop on host maintenance
  (Google refuses live migration for them), as must spot VMs, which are deleted when preempted
  (the group recreates them).
- External IPs: instances that a load balancer fronts get none (the load balancer reaches them
  on the VPC; for outbound internet they would need Cloud NAT, which lepton does not create
  yet); a group nothing fronts gets ephemeral external IPs, so the CIDRs of `allow_from` can
  reach it and it can reach the internet, as on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from lepton_cli.catalog.resolver import InstanceType, check_instance_type, choose_size, describe
from lepton_cli.drivers.base import ExpandContext, NameScope, Observed, Primitive, Ref
from lepton_cli.drivers.gcp import firewall, images, network
from lepton_cli.drivers.gcp.common import API, GLOBAL, ComputeType, name_of, path_of, request_id
from lepton_cli.drivers.gcp.errors import translate
from lepton_cli.drivers.gcp.network import url_of
from lepton_cli.drivers.gcp.regions import zone_names
from lepton_cli.drivers.names import digest, physical_name
from lepton_cli.drivers.ownership import TAG_STACK, encode_label_value
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Compute, Stack

MANAGER = "gcp.region_instance_group_manager"
ATTRIBUTES = {
    "id": (MANAGER, "id"),
    "name": (MANAGER, "name"),
    "group_id": (MANAGER, "id"),
}

# The accelerator type Compute Engine names for a catalog GPU attached to an N1 machine.
ATTACHED_GPUS = {"T4": "nvidia-tesla-t4"}
DISK_TYPE = "pd-balanced"
STARTUP_SCRIPT = "startup-script"  # the metadata key Google's guest agent runs at boot
GROUP_LABEL = "lepton-group"  # instance label: the compute resource the instance belongs to
BASE_NAME_LIMIT = 58  # baseInstanceName: 1-58 characters (the group appends "-xxxx")
# With `autoscale`, the group's size is the autoscaler's: set at creation, never diffed.
AUTOSCALER_OWNS = frozenset({"target_size"})


def instance_tag(stack: str, name: str) -> str:
    """The network tag on the group's instances: what firewall rules target."""
    return physical_name(stack, name, limit=63)


def named_port(port: int) -> str:
    """The group's named port for `port`: what a backend service's `port_name` says."""
    return f"port-{port}"


def needs_network(resource: Compute) -> bool:
    return True


def instance_choice(resource: Compute) -> tuple[InstanceType, list[str]]:
    """The catalog type a group runs, and notes on how `size` was resolved (for the plan)."""
    if resource.instance_type is not None:
        name = resource.instance_type
        if isinstance(name, dict):
            if "gcp" not in name:
                raise LeptonError(Diagnostic(summary="instance_type names no type for gcp",
                                             hint="add `gcp: <machine type>` to the map, or use size"))
            name = name["gcp"]
        return check_instance_type("gcp", name), []
    return choose_size("gcp", resource.size)


def machine(itype: InstanceType) -> tuple[str, list[dict[str, Any]]]:
    """(machine type, guest accelerators) of a catalog type: `n1-standard-8+T4:1` is an
    n1-standard-8 with one nvidia-tesla-t4 attached; others carry their GPUs themselves."""
    machine_type, _, attached = itype.name.partition("+")
    if not attached:
        return machine_type, []
    gpu, _, count = attached.partition(":")
    return machine_type, [{"type": ATTACHED_GPUS[gpu], "count": int(count)}]


def validate(stack: Stack, name: str) -> list[Diagnostic]:
    resource = stack.resources[name]
    problems = []
    try:
        instance_choice(resource)
    except LeptonError as exc:
        problems += [_at(d, name, "instance_type" if resource.instance_type else "size") for d in exc.diagnostics]
    if not images.is_image_path(resource.image) and resource.image not in images.ALIASES:
        problems.append(images.unknown(resource.image, f"resources.{name}.image"))
    return problems


def _at(d: Diagnostic, name: str, key: str) -> Diagnostic:
    return Diagnostic(summary=d.summary, detail=d.detail, hint=d.hint, path=f"resources.{name}.{key}")


def balancer_ports(stack: Stack, name: str) -> list[int]:
    """The ports load balancers on GCP send to group `name` (each listener's target port, else
    its port): the group's named ports. Scanned here so the dependency runs LB -> group."""
    ports = set()
    for other, resource in stack.resources.items():
        if resource.kind == "load_balancer" and resource.target == name and stack.cloud_of(other) == "gcp":
            ports |= {listener.target_port or listener.port for listener in resource.listeners}
    return sorted(ports)


def scheduling(gpus: bool, spot: bool) -> dict[str, Any]:
    """GPU and spot VMs cannot live-migrate: they stop on host maintenance. Spot VMs are
    deleted when preempted (the group recreates them) and never restart by themselves."""
    return {"provisioning_model": "SPOT" if spot else "STANDARD",
            "on_host_maintenance": "TERMINATE" if gpus or spot else "MIGRATE",
            "automatic_restart": not spot,
            "instance_termination_action": "DELETE" if spot else ""}


def update_policy(zones: int) -> dict[str, Any]:
    """Proactive rolling replacement. A regional group's fixed surge must be 0 or at least its
    number of zones: surge one per zone, never take a serving instance down first."""
    return {"type": "PROACTIVE", "minimal_action": "REPLACE", "max_surge": zones, "max_unavailable": 0}


def expand(driver, stack: Stack, name: str, region: str, ctx: ExpandContext) -> list[Primitive]:
    resource: Compute = stack.resources[name]
    itype, notes = instance_choice(resource)
    machine_type, accelerators = machine(itype)
    tag = instance_tag(stack.stack, name)
    lb_ports = balancer_ports(stack, name)

    def prim(type_: str, props: dict[str, Any], region_: str = region, **extra) -> Primitive:
        return Primitive(address=f"{name}/gcp.{type_}", type=f"gcp.{type_}", cloud="gcp", region=region_,
                         resource=name, kind="compute", properties=props, **extra)

    prims = []
    if resource.ports and resource.allow_from:
        prims.append(firewall.rule(f"{name}/gcp.firewall", name, "compute",
                                   physical_name(stack.stack, name, "allow", limit=63),
                                   resource.allow_from, resource.ports, [tag]))
    settings = {
        "machine_type": machine_type, "accelerators": accelerators,
        "image": images.resolve(resource.image), "disk_gb": resource.disk_gb, "disk_type": DISK_TYPE,
        "network": network.network_ref(), "subnetwork": network.subnetwork_ref(region),
        "external_ip": not lb_ports,
        "startup_script": ctx.interpolate(resource.user_data) if resource.user_data else "",
        "tags": [tag],
        "labels": {TAG_STACK: encode_label_value(stack.stack), GROUP_LABEL: name},
        "scheduling": scheduling(bool(itype.gpu_count), resource.spot),
    }
    count = (resource.autoscale.min, resource.autoscale.max) if resource.autoscale else resource.desired_count
    template = prim("instance_template", {"name": template_name(stack.stack, name, settings), **settings},
                    region_=GLOBAL, summary=(*describe(itype, count), *(f"note: {n}" for n in notes)))
    group = physical_name(stack.stack, name, limit=63)
    manager = prim("region_instance_group_manager", {
        "name": group, "base_instance_name": physical_name(stack.stack, name, limit=BASE_NAME_LIMIT),
        "instance_template": Ref(template.address, "self_link"), "target_size": resource.desired_count,
        "zones": zone_names(region, resource.zones),
        "named_ports": [{"name": named_port(p), "port": p} for p in lb_ports],
        "update_policy": update_policy(resource.zones),
    }, ignore_changes=AUTOSCALER_OWNS if resource.autoscale else frozenset())
    prims += [template, manager]
    if resource.autoscale:
        prims.append(prim("region_autoscaler", {
            "name": group, "target": Ref(manager.address, "self_link"),
            "min_replicas": resource.autoscale.min, "max_replicas": resource.autoscale.max,
            "cpu_target": resource.autoscale.target_cpu / 100}))
    return prims


def template_name(stack: str, name: str, settings: dict[str, Any]) -> str:
    """`<stack>-<name>-<8 hex>`: the hash of the template's settings (references by address,
    strings with `${..}` as written), so any change is a new name."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return physical_name(stack, name, digest(text, 8), limit=63)


# -- instance template ---------------------------------------------------------------------------------
class InstanceTemplateType(ComputeType):
    """Immutable: every property forces a replacement, which gets a new name (see
    `template_name`) and so is created before the old template goes."""

    type_name = "gcp.instance_template"
    collection, resource_field, ident_field = "InstanceTemplates", "instance_template_resource", "instance_template"
    scope = GLOBAL
    noun = "instance template"
    property_keys = frozenset({"name", "machine_type", "accelerators", "image", "disk_gb", "disk_type", "network",
                               "subnetwork", "external_ip", "startup_script", "tags", "labels", "scheduling"})
    output_keys = frozenset({"id", "self_link", "name"})
    replace_on = property_keys
    name_key, name_scope = "name", NameScope.GLOBAL

    def normalize(self, properties):
        return {**properties, "tags": sorted(properties["tags"]),
                "accelerators": sorted(properties["accelerators"], key=lambda a: a["type"])}

    def body(self, primitive: Primitive, p: dict[str, Any]) -> dict[str, Any]:
        interface: dict[str, Any] = {"network": p["network"], "subnetwork": p["subnetwork"]}
        if p["external_ip"]:
            interface["access_configs"] = [{"name": "External NAT", "type_": "ONE_TO_ONE_NAT"}]
        schedule = p["scheduling"]
        properties: dict[str, Any] = {
            "machine_type": p["machine_type"],
            "disks": [{"boot": True, "auto_delete": True, "type_": "PERSISTENT",
                       "initialize_params": {"source_image": p["image"], "disk_size_gb": p["disk_gb"],
                                             "disk_type": p["disk_type"]}}],
            "network_interfaces": [interface],
            "tags": {"items": list(p["tags"])},
            "labels": dict(p["labels"]),
            "scheduling": {"provisioning_model": schedule["provisioning_model"],
                           "on_host_maintenance": schedule["on_host_maintenance"],
                           "automatic_restart": schedule["automatic_restart"]},
        }
        if schedule["instance_termination_action"]:
            properties["scheduling"]["instance_termination_action"] = schedule["instance_termination_action"]
        if p["accelerators"]:
            properties["guest_accelerators"] = [{"accelerator_type": a["type"], "accelerator_count": a["count"]}
                                                for a in p["accelerators"]]
        if p["startup_script"]:
            properties["metadata"] = {"items": [{"key": STARTUP_SCRIPT, "value": p["startup_script"]}]}
        return {"name": p["name"], "properties": properties}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        p = item.properties
        boot = next((d for d in p.disks if d.boot), p.disks[0] if p.disks else None)
        params = boot.initialize_params if boot is not None else None
        interface = p.network_interfaces[0] if p.network_interfaces else None
        schedule = p.scheduling
        metadata = {i.key: i.value for i in p.metadata.items}
        return self.observed(address, region, item, self.normalize({
            "name": item.name, "machine_type": name_of(p.machine_type),
            "accelerators": [{"type": name_of(a.accelerator_type), "count": a.accelerator_count}
                             for a in p.guest_accelerators],
            "image": path_of(params.source_image) if params else None,
            "disk_gb": params.disk_size_gb if params else None,
            "disk_type": name_of(params.disk_type) if params else None,
            "network": url_of(interface.network) if interface else None,
            "subnetwork": url_of(interface.subnetwork) if interface else None,
            "external_ip": bool(interface and interface.access_configs),
            "startup_script": metadata.get(STARTUP_SCRIPT, ""),
            "tags": list(p.tags.items), "labels": dict(p.labels),
            "scheduling": {"provisioning_model": schedule.provisioning_model or "STANDARD",
                           "on_host_maintenance": schedule.on_host_maintenance or "MIGRATE",
                           "automatic_restart": schedule.automatic_restart if "automatic_restart" in schedule
                           else True,
                           "instance_termination_action": schedule.instance_termination_action or ""},
        }))

    def update(self, primitive, properties, current, changed) -> Observed:
        raise NotImplementedError("instance templates are immutable: every change replaces them")


# -- regional managed instance group ----------------------------------------------------------------
class RegionInstanceGroupManagerType(ComputeType):
    type_name = MANAGER
    collection = "RegionInstanceGroupManagers"
    resource_field, ident_field = "instance_group_manager_resource", "instance_group_manager"
    scope = "region"
    noun = "managed instance group"
    property_keys = frozenset({"name", "base_instance_name", "instance_template", "target_size", "zones",
                               "named_ports", "update_policy"})
    output_keys = frozenset({"id", "self_link", "name", "instance_group"})
    replace_on = frozenset({"name", "base_instance_name", "zones"})
    update_notes = {"target_size": "resizes the group in place",
                    "instance_template": "rolls the group's instances onto the new template (proactive update)",
                    "named_ports": "changes the group's named ports",
                    "update_policy": "changes how the group rolls out updates"}

    def normalize(self, properties):
        return {**properties, "zones": sorted(properties["zones"]),
                "named_ports": sorted(properties["named_ports"], key=lambda p: (p["name"], p["port"]))}

    def _policy(self, policy: dict[str, Any]) -> dict[str, Any]:
        return {"type_": policy["type"], "minimal_action": policy["minimal_action"],
                "max_surge": {"fixed": policy["max_surge"]}, "max_unavailable": {"fixed": policy["max_unavailable"]}}

    def body(self, primitive: Primitive, p: dict[str, Any]) -> dict[str, Any]:
        return {"name": p["name"], "base_instance_name": p["base_instance_name"],
                "instance_template": p["instance_template"], "target_size": p["target_size"],
                "distribution_policy": {"zones": [{"zone": f"{API}projects/{self.project}/zones/{z}"}
                                                  for z in p["zones"]]},
                "named_ports": [dict(n) for n in p["named_ports"]],
                "update_policy": self._policy(p["update_policy"])}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        policy = item.update_policy
        return self.observed(address, region, item, self.normalize({
            "name": item.name, "base_instance_name": item.base_instance_name,
            "instance_template": url_of(item.instance_template), "target_size": item.target_size,
            "zones": [name_of(z.zone) for z in item.distribution_policy.zones],
            "named_ports": [{"name": n.name, "port": n.port} for n in item.named_ports],
            "update_policy": {"type": policy.type_, "minimal_action": policy.minimal_action,
                              "max_surge": policy.max_surge.fixed, "max_unavailable": policy.max_unavailable.fixed},
        }), {"instance_group": url_of(item.instance_group)})

    def update(self, primitive, properties, current, changed) -> Observed:
        name, location = properties["name"], self.where_of(current)
        patch: dict[str, Any] = {}
        if "instance_template" in changed or "update_policy" in changed:
            patch = {"instance_template": properties["instance_template"],
                     "update_policy": self._policy(properties["update_policy"])}
        if patch:
            self.call("patch", f"rolling the group {name} onto its template", primitive.address, location=location,
                      instance_group_manager=name, instance_group_manager_resource=patch)
        if "named_ports" in changed:
            self._set_named_ports(primitive, name, location, properties["named_ports"])
        if "target_size" in changed:
            self.call("resize", f"resizing the group {name}", primitive.address, location=location,
                      instance_group_manager=name, size=properties["target_size"])
        return self.observe(primitive.address, primitive.region, self.get(primitive.region, name))

    def _set_named_ports(self, primitive: Primitive, name: str, location: dict[str, str],
                         ports: list[dict[str, Any]]) -> None:
        """Named ports live on the manager's instance group (same name): setNamedPorts with the
        group's current fingerprint, as the API asks."""
        groups = self.driver.compute("RegionInstanceGroups")
        action = f"setting the named ports of the group {name}"
        with translate(action, primitive.address):
            group = groups.get(request={**location, "instance_group": name}, retry=self.driver.retry)
            body = {"named_ports": [dict(p) for p in ports], "fingerprint": group.fingerprint}
            operation = groups.set_named_ports_unary(request={
                **location, "instance_group": name, "region_instance_groups_set_named_ports_request_resource": body,
                "request_id": request_id()},
                retry=self.driver.retry)
            self.driver.wait(operation)


# -- regional autoscaler ------------------------------------------------------------------------------
class RegionAutoscalerType(ComputeType):
    type_name = "gcp.region_autoscaler"
    collection, resource_field, ident_field = "RegionAutoscalers", "autoscaler_resource", "autoscaler"
    scope = "region"
    noun = "autoscaler"
    property_keys = frozenset({"name", "target", "min_replicas", "max_replicas", "cpu_target"})
    output_keys = frozenset({"id", "self_link", "name"})
    replace_on = frozenset({"name", "target"})
    update_notes = {k: "changes the autoscaling policy" for k in ("min_replicas", "max_replicas", "cpu_target")}

    def _policy(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"min_num_replicas": p["min_replicas"], "max_num_replicas": p["max_replicas"], "mode": "ON",
                "cpu_utilization": {"utilization_target": p["cpu_target"]}}

    def body(self, primitive: Primitive, p: dict[str, Any]) -> dict[str, Any]:
        return {"name": p["name"], "target": p["target"], "autoscaling_policy": self._policy(p)}

    def observe(self, address: str, region: str, item: Any) -> Observed:
        policy = item.autoscaling_policy
        return self.observed(address, region, item, {
            "name": item.name, "target": url_of(item.target), "min_replicas": policy.min_num_replicas,
            "max_replicas": policy.max_num_replicas,
            "cpu_target": round(policy.cpu_utilization.utilization_target, 6)})

    def update(self, primitive, properties, current, changed) -> Observed:
        name = properties["name"]
        self.call("patch", f"changing the autoscaler {name}", primitive.address, location=self.where_of(current),
                  autoscaler=name,
                  autoscaler_resource={"name": name, "autoscaling_policy": self._policy(properties)})
        return self.observe(primitive.address, primitive.region, self.get(primitive.region, name))


TYPES = [InstanceTemplateType, RegionInstanceGroupManagerType, RegionAutoscalerType]
