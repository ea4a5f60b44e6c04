"""Instance templates, regional managed instance groups (with their managed instances and the
instance group they control), and regional autoscalers."""

from __future__ import annotations

import secrets
import string

from lepton_cli.sandbox.gcp import errors
from lepton_cli.sandbox.gcp.compute import catalog, reads, refs
from lepton_cli.sandbox.gcp.compute.backend import AsyncFailure, new_id, now, paginate, public
from lepton_cli.sandbox.gcp.compute.spec import Collection, RefField

_IMAGE_LINK = "https://www.googleapis.com/compute/v1/projects/{}/global/images/{}"
# A template alone does not hold its network: the instances made from it do (see networking).
TEMPLATE_REFS = (
    RefField("properties.networkInterfaces[].network", (("global", "networks"),), bare="networks",
             blocks_delete=False),
    RefField("properties.networkInterfaces[].subnetwork", (("region", "subnetworks"),), blocks_delete=False),
)
MANAGER_REFS = (
    RefField("instanceTemplate", (("global", "instanceTemplates"),)),
    RefField("versions[].instanceTemplate", (("global", "instanceTemplates"),)),
    RefField("autoHealingPolicies[].healthCheck", (("global", "healthChecks"), ("region", "healthChecks"))),
)
MINIMAL_ACTIONS = ("NONE", "REFRESH", "RESTART", "REPLACE")


# --- instance templates --------------------------------------------------------------------
def _image_link(project: str, value: object) -> tuple[str, str, str]:
    """(project, "family"|"image", name) of a sourceImage as the API accepts it."""
    text = str(value or "")
    parts = text.split("/compute/v1/", 1)[-1].split("/")
    if parts[0] == "projects" and len(parts) >= 2:
        project, parts = parts[1], parts[2:]
    if parts[:2] == ["global", "images"]:
        parts = parts[2:]
    if len(parts) == 2 and parts[0] == "family":
        return project, "family", parts[1]
    if len(parts) == 1 and parts[0]:
        return project, "image", parts[0]
    raise errors.invalid_field("resource.properties.disks[].initializeParams.sourceImage", value,
                               "The URL is malformed.")


def _template_validate(backend, project, loc, res) -> None:
    props = res["properties"]
    machine = props["machineType"]
    if "/" in str(machine):
        raise errors.invalid_field("resource.properties.machineType", machine,
                                   "Instance templates take a machine type name, not a URL.")
    if machine not in catalog.MACHINE_TYPES:
        raise errors.invalid_field("resource.properties.machineType", machine,
                                   f"Machine type with name '{machine}' does not exist.")
    backend.check_labels(props.get("labels"), "resource.properties.labels")
    accelerators = props.get("guestAccelerators") or []
    for acc in accelerators:
        if acc.get("acceleratorType") not in catalog.ACCELERATOR_TYPES:
            raise errors.invalid_field("resource.properties.guestAccelerators[].acceleratorType",
                                       acc.get("acceleratorType"), "Unknown accelerator type.")
        if not machine.startswith("n1-"):
            # A2/G2 carry their GPUs; other series take none.
            raise errors.invalid_field("resource.properties.guestAccelerators", acc.get("acceleratorType"),
                                       f"Accelerators cannot be attached to machine type '{machine}'.")
        if acc.get("acceleratorCount", 1) not in (1, 2, 4):
            raise errors.invalid_field("resource.properties.guestAccelerators[].acceleratorCount",
                                       acc.get("acceleratorCount"), "Must be 1, 2 or 4.")
    has_gpu = bool(accelerators) or catalog.MACHINE_TYPES[machine][2] is not None
    if has_gpu and (props.get("scheduling") or {}).get("onHostMaintenance") != "TERMINATE":
        raise errors.invalid(
            "Instances with guest accelerators do not support live migration: set "
            "'scheduling.onHostMaintenance' to TERMINATE."
        )
    disks = props.get("disks") or []
    boots = [d for d in disks if d.get("boot")]
    if len(boots) != 1:
        raise errors.invalid("Instance template must specify exactly one boot disk ('disks[].boot').")
    if not props.get("networkInterfaces"):
        raise errors.required("resource.properties.networkInterfaces")
    for disk in disks:
        params = disk.get("initializeParams") or {}
        if "sourceImage" not in params:
            continue
        image_project, how, name = _image_link(project, params["sourceImage"])
        found = (reads.image_from_family if how == "family" else reads.find_image)(image_project, name)
        path = f"projects/{image_project}/global/images/{'family/' if how == 'family' else ''}{name}"
        params["sourceImage"] = _IMAGE_LINK.format(image_project, ("family/" if how == "family" else "") + name)
        if found is None:
            # The real API accepts the call and fails the operation.
            raise AsyncFailure(errors.not_found(path), res)


# --- managed instance groups ---------------------------------------------------------------
def _zones(res: dict) -> list[str]:
    return [z["zone"].rsplit("/", 1)[1] for z in res["distributionPolicy"]["zones"]]


def _instance_name(base: str) -> str:
    return f"{base}-{''.join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(4))}"


def _desired_versions(res: dict) -> list[tuple[dict, int]]:
    """Each version with how many instances it should run (fixed/percent, the rest last)."""
    versions = res["versions"]
    total, counts = res["targetSize"], []
    for version in versions[:-1]:
        size = version.get("targetSize") or {}
        n = size.get("fixed") if "fixed" in size else total * size.get("percent", 0) // 100
        counts.append(min(int(n), total - sum(counts)))
    counts.append(total - sum(counts))
    return list(zip(versions, counts))


def _version_of(version: dict) -> dict:
    out = {"instanceTemplate": version["instanceTemplate"]}
    if version.get("name"):
        out["name"] = version["name"]
    return out


def _new_instance(backend, project: str, res: dict, zone: str, version: dict) -> dict:
    name = _instance_name(res["baseInstanceName"])
    template = backend.find_link(version["instanceTemplate"]) or {"properties": {}}
    nics = template["properties"].get("networkInterfaces") or [{}]
    return {
        "instance": f"{refs.BASE}/projects/{project}/zones/{zone}/instances/{name}",
        "name": name, "id": new_id(), "instanceStatus": "RUNNING", "currentAction": "NONE",
        "targetStatus": "RUNNING", "version": _version_of(version),
        "_ip": backend.allocate_private_ip(nics[0].get("subnetwork")),
    }


def _emptiest_zone(res: dict) -> str:
    zones = _zones(res)
    load = {z: 0 for z in zones}
    for inst in res["_instances"]:
        zone = inst["instance"].split("/zones/")[1].split("/")[0]
        load[zone] = load.get(zone, 0) + 1
    return min(zones, key=lambda z: (load[z], zones.index(z)))


def _reconcile(backend, project: str, res: dict, proactive: bool) -> None:
    """Brings the managed instances to targetSize, spread evenly over the distribution zones;
    `proactive` also moves every instance to the version it should run."""
    instances = res["_instances"]
    wanted = _desired_versions(res)
    if proactive:
        action = (res.get("updatePolicy") or {}).get("minimalAction", "REPLACE")
        assigned: list[dict] = []
        for version, count in wanted:
            template = version["instanceTemplate"]
            keep = [i for i in instances if i["version"]["instanceTemplate"] == template and i not in assigned]
            assigned.extend(keep[:count])
        for inst in instances:
            if inst in assigned:
                continue
            for version, count in wanted:
                mine = [i for i in assigned if i["version"]["instanceTemplate"] == version["instanceTemplate"]]
                if len(mine) < count:
                    if action == "REPLACE":
                        zone = inst["instance"].split("/zones/")[1].split("/")[0]
                        inst.clear()
                        inst.update(_new_instance(backend, project, res, zone, version))
                    else:
                        inst["version"] = _version_of(version)
                    assigned.append(inst)
                    break
    while len(instances) > res["targetSize"]:
        # Scale in: outdated instances first, then the newest.
        current = {v["instanceTemplate"] for v in res["versions"]}
        outdated = [i for i in instances if i["version"]["instanceTemplate"] not in current]
        instances.remove(outdated[-1] if outdated else instances[-1])
    while len(instances) < res["targetSize"]:
        counts = {v["instanceTemplate"]: 0 for v, _ in wanted}
        for inst in instances:
            counts[inst["version"]["instanceTemplate"]] = counts.get(inst["version"]["instanceTemplate"], 0) + 1
        version = next((v for v, n in wanted if counts[v["instanceTemplate"]] < n), wanted[-1][0])
        instances.append(_new_instance(backend, project, res, _emptiest_zone(res), version))
    _refresh_status(backend, res)


def _refresh_status(backend, res: dict) -> None:
    res["currentActions"] = {k: 0 for k in ("abandoning", "creating", "creatingWithoutRetries", "deleting",
                                            "recreating", "refreshing", "restarting", "resuming", "starting",
                                            "stopping", "suspending", "verifying")}
    res["currentActions"]["none"] = len(res["_instances"])
    current = {v["instanceTemplate"] for v in res["versions"]}
    reached = all(i["version"]["instanceTemplate"] in current for i in res["_instances"])
    status = res.setdefault("status", {})
    status.update(isStable=True, versionTarget={"isReached": reached},
                  allInstancesConfig={"effective": True}, stateful={"hasStatefulConfig": False,
                                                                    "perInstanceConfigs": {"allEffective": True}})
    group = backend.find_link(res["instanceGroup"]) if res.get("instanceGroup") else None
    if group is not None:
        group["size"] = len(res["_instances"])


def _manager_normalize(backend, project, loc, res) -> None:
    """instanceTemplate and versions are two spellings of the same thing: keep both."""
    region = loc.split("/")[1]
    if res.get("instanceTemplate") and res.get("instanceTemplate") != res.get("_template"):
        res["versions"] = [{"instanceTemplate": res["instanceTemplate"]}]  # set directly: it wins
    if not res.get("versions"):
        if not res.get("instanceTemplate"):
            raise errors.invalid("Either 'instanceTemplate' or 'versions' must be set.")
        res["versions"] = [{"instanceTemplate": res["instanceTemplate"]}]
    backend.resolve_refs(_MANAGER, project, loc, res)
    if len(res["versions"]) == 1:
        res["instanceTemplate"] = res["versions"][0]["instanceTemplate"]
    else:
        res.pop("instanceTemplate", None)
    res["_template"] = res.get("instanceTemplate")
    size = res.get("targetSize", 0)
    if not isinstance(size, int) or size < 0:
        raise errors.invalid_field("resource.targetSize", size, "Must be a non-negative integer.")
    res["targetSize"] = size
    base = res.get("baseInstanceName", "")
    if not base or len(base) > 58:
        backend.check_name(base or None, "resource.baseInstanceName")
        raise errors.invalid_field("resource.baseInstanceName", base, "Must be at most 58 characters.")
    backend.check_name(base, "resource.baseInstanceName")
    policy = res.setdefault("distributionPolicy", {})
    zones = policy.get("zones") or [{"zone": f"zones/{region}-{s}"} for s in catalog.REGIONS[region][:3]]
    normalized = []
    for entry in zones:
        zone = str(entry.get("zone", "")).rsplit("/", 1)[-1]
        if catalog.ZONES.get(zone) != region:
            raise errors.invalid_field("resource.distributionPolicy.zones[].zone", entry.get("zone"),
                                       f"Zone must be in region '{region}'.")
        normalized.append({"zone": f"{refs.BASE}/projects/{project}/zones/{zone}"})
    policy["zones"] = normalized
    policy.setdefault("targetShape", "EVEN")
    update = res.setdefault("updatePolicy", {})
    update.setdefault("type", "PROACTIVE")
    update.setdefault("minimalAction", "REPLACE")
    update.setdefault("instanceRedistributionType", "PROACTIVE")
    update.setdefault("replacementMethod", "SUBSTITUTE")
    update.setdefault("maxSurge", {"fixed": len(normalized), "calculated": len(normalized)})
    update.setdefault("maxUnavailable", {"fixed": len(normalized), "calculated": len(normalized)})
    if update["type"] not in ("PROACTIVE", "OPPORTUNISTIC"):
        raise errors.invalid_field("resource.updatePolicy.type", update["type"], "Must be PROACTIVE or OPPORTUNISTIC.")
    if update["minimalAction"] not in MINIMAL_ACTIONS:
        raise errors.invalid_field("resource.updatePolicy.minimalAction", update["minimalAction"],
                                   f"Must be one of {', '.join(MINIMAL_ACTIONS)}.")
    _check_surge(update, len(normalized))
    for port in res.get("namedPorts") or []:
        _check_named_port(port, "resource.namedPorts[]")


def _check_surge(update: dict, zones: int) -> None:
    """The real API's rules for a regional group's rolling updates: a fixed surge or
    unavailability is 0 or at least the number of zones, and not both 0; RECREATE cannot surge."""
    fixed = {}
    for key in ("maxSurge", "maxUnavailable"):
        value = update[key]
        if "fixed" in value:
            fixed[key] = value["fixed"]
            if not isinstance(value["fixed"], int) or not (value["fixed"] == 0 or value["fixed"] >= zones):
                raise errors.invalid_field(f"resource.updatePolicy.{key}.fixed", value["fixed"],
                                           f"Fixed {key} for a regional group must be 0 or at least the "
                                           f"number of zones ({zones}).")
            value["calculated"] = value["fixed"]
    if fixed.get("maxSurge") == 0 and fixed.get("maxUnavailable") == 0:
        raise errors.invalid("Fixed updatePolicy.maxSurge and updatePolicy.maxUnavailable cannot both be 0.")
    if update.get("replacementMethod") == "RECREATE" and fixed.get("maxSurge", 0) > 0:
        raise errors.invalid_field("resource.updatePolicy.maxSurge.fixed", fixed["maxSurge"],
                                   "maxSurge must be 0 when replacementMethod is RECREATE.")


def _check_named_port(port: dict, field: str) -> None:
    if not port.get("name") or not isinstance(port.get("port"), int) or not 1 <= port["port"] <= 65535:
        raise errors.invalid_field(field, port, "A named port needs a name and a port between 1 and 65535.")


def _manager_insert(backend, project, loc, res) -> None:
    res["_instances"] = []
    group_link = refs.Ref(project, loc, "instanceGroups", res["name"]).url
    template = backend.find_link(res["versions"][0]["instanceTemplate"])
    interfaces = template["properties"].get("networkInterfaces") or [{}]
    group = {
        "kind": "compute#instanceGroup", "id": new_id(), "creationTimestamp": now(), "name": res["name"],
        "description": ("This instance group is controlled by Regional Instance Group Manager "
                        f"'{res['name']}'. To modify instances in this group, use the Regional Instance Group "
                        "Manager API: "
                        "https://cloud.google.com/compute/docs/reference/latest/regionInstanceGroupManagers"),
        "namedPorts": list(res.get("namedPorts") or []), "fingerprint": backend.fingerprint(), "size": 0,
        "region": refs.loc_url(project, loc), "selfLink": group_link, "_manager": res["selfLink"],
    }
    for key in ("network", "subnetwork"):
        if interfaces[0].get(key):
            group[key] = interfaces[0][key]
    backend.table(project, loc, "instanceGroups")[res["name"]] = group
    res["instanceGroup"] = group_link
    _reconcile(backend, project, res, proactive=True)


def _manager_update(backend, project, loc, old, new) -> None:
    if _zones(new) != _zones(old):
        raise errors.invalid_field("resource.distributionPolicy.zones", new["distributionPolicy"]["zones"],
                                   "The zones of a regional managed instance group cannot be changed.")
    if new["baseInstanceName"] != old["baseInstanceName"]:
        raise errors.invalid_field("resource.baseInstanceName", new["baseInstanceName"], "Cannot be changed.")
    for key in ("instanceGroup", "_instances", "status", "currentActions"):
        if key in old:
            new[key] = old[key]
    group = backend.find_link(new["instanceGroup"])
    if group is not None and new.get("namedPorts") != old.get("namedPorts"):
        group["namedPorts"] = list(new.get("namedPorts") or [])
        group["fingerprint"] = backend.fingerprint()
    _reconcile(backend, project, new, proactive=new["updatePolicy"]["type"] == "PROACTIVE")


def _manager_users(backend, project, loc, res) -> list[str]:
    return [res["instanceGroup"]] if res.get("instanceGroup") else []


def _manager_delete(backend, project, loc, res) -> None:
    backend.table(project, loc, "instanceGroups").pop(res["name"], None)


def _resize(backend, project, loc, res, body, query) -> None:
    size = query.get("size")
    if size is None:
        raise errors.required("size")
    if not str(size).isdigit():
        raise errors.invalid_field("size", size, "Must be a non-negative integer.")
    res["targetSize"] = int(size)
    _reconcile(backend, project, res, proactive=False)
    res["fingerprint"] = backend.fingerprint()


def _set_instance_template(backend, project, loc, res, body, query) -> None:
    """Sets the template for instances created from now on; existing ones are not touched."""
    if not body.get("instanceTemplate"):
        raise errors.required("instanceTemplate")
    link = backend.resolve(project, loc, MANAGER_REFS[0], body["instanceTemplate"])
    res["instanceTemplate"] = res["_template"] = link
    res["versions"] = [{"instanceTemplate": link}]
    _refresh_status(backend, res)
    res["fingerprint"] = backend.fingerprint()


def _list_managed_instances(backend, project, loc, res, body, query) -> dict:
    items = [{k: v for k, v in public(i).items()} for i in res["_instances"]]
    chunk, page = paginate(items, query, key=lambda i: i["name"])
    page["managedInstances"] = page.pop("items", [])
    if not page["managedInstances"]:
        page.pop("managedInstances")
    return page


_list_managed_instances.read_only = True


# --- the instance group a manager controls --------------------------------------------------
def _set_named_ports(backend, project, loc, res, body, query) -> None:
    if body.get("fingerprint") not in (None, "", res.get("fingerprint")):
        raise errors.fingerprint_mismatch()
    ports = body.get("namedPorts") or []
    for port in ports:
        _check_named_port(port, "namedPorts[]")
    res["namedPorts"] = ports
    res["fingerprint"] = backend.fingerprint()
    manager = backend.find_link(res["_manager"])
    if manager is not None:
        manager["namedPorts"] = list(ports)
        manager["fingerprint"] = backend.fingerprint()


_set_named_ports.op_type = "setNamedPorts"


def _list_instances(backend, project, loc, res, body, query) -> dict:
    manager = backend.find_link(res["_manager"]) or {"_instances": []}
    items = [{"instance": i["instance"], "status": i["instanceStatus"], "namedPorts": res.get("namedPorts", [])}
             for i in manager["_instances"]]
    _, page = paginate(items, query, key=lambda i: i["instance"])
    return {"kind": "compute#regionInstanceGroupsListInstances", "id": res["selfLink"], **page}


_list_instances.read_only = True


# --- the managed instances, read as zonal instances ----------------------------------------
def instance_view(backend, project: str, manager: dict, inst: dict) -> dict:
    """A managed instance as instances.get shows it, built from the template it runs."""
    zone = inst["instance"].split("/zones/")[1].split("/")[0]
    template = backend.find_link(inst["version"]["instanceTemplate"]) or {"properties": {}}
    props = template["properties"]
    nics = [{**nic, "name": f"nic{i}", **({"networkIP": inst["_ip"]} if i == 0 and inst.get("_ip") else {})}
            for i, nic in enumerate(props.get("networkInterfaces", []))]
    out = {
        "kind": "compute#instance", "id": inst["id"], "name": inst["name"], "status": inst["instanceStatus"],
        "creationTimestamp": manager["creationTimestamp"], "selfLink": inst["instance"],
        "zone": f"{refs.BASE}/projects/{project}/zones/{zone}",
        "machineType": f"{refs.BASE}/projects/{project}/zones/{zone}/machineTypes/{props.get('machineType')}",
        "networkInterfaces": nics, "labels": dict(props.get("labels") or {}),
        "tags": props.get("tags", {}), "scheduling": props.get("scheduling", {}),
        "guestAccelerators": props.get("guestAccelerators", []),
        "metadata": {"items": [*((props.get("metadata") or {}).get("items") or []),
                               {"key": "instance-template", "value": template.get("selfLink", "")},
                               {"key": "created-by", "value": manager["selfLink"].split("/compute/v1/", 1)[1]}]},
    }
    return {k: v for k, v in out.items() if v not in ({}, [])}


def read_instances(backend, project: str, loc: str, tail: list[str], query: dict, method: str) -> dict:
    """instances.get/list in a zone: the managed instances living there (read-only)."""
    if method != "GET" or not loc.startswith("zones/") or len(tail) > 2:
        raise errors.bad_method(method, f"{loc}/{'/'.join(tail)}")
    zone = loc.split("/")[1]
    with backend.lock:
        items = [instance_view(backend, project, res, inst)
                 for _spec, _loc, res in backend.resources(project)
                 for inst in res.get("_instances", ())
                 if f"/zones/{zone}/" in inst["instance"]]
    if len(tail) == 1:
        return reads.listing("compute#instanceList", f"{refs.loc_url(project, loc)}/instances", items, query)
    found = next((i for i in items if i["name"] == tail[1]), None)
    if found is None:
        raise errors.not_found(f"projects/{project}/{loc}/instances/{tail[1]}")
    return found


# --- autoscalers ----------------------------------------------------------------------------
def _autoscaler_validate(backend, project, loc, res) -> None:
    policy = res["autoscalingPolicy"]
    low, high = policy.setdefault("minNumReplicas", 1), policy["maxNumReplicas"]
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
        raise errors.invalid_field("resource.autoscalingPolicy.minNumReplicas", low,
                                   "Must be between 0 and maxNumReplicas.")
    policy.setdefault("coolDownPeriodSec", 60)
    policy.setdefault("mode", "ON")
    cpu = policy.setdefault("cpuUtilization", {"utilizationTarget": 0.6})
    cpu.setdefault("predictiveMethod", "NONE")
    target = cpu.get("utilizationTarget", 0.6)
    if not 0 < float(target) <= 1:
        raise errors.invalid_field("resource.autoscalingPolicy.cpuUtilization.utilizationTarget", target,
                                   "Must be greater than 0 and at most 1.")
    for _spec, _loc, other in backend.resources(project):
        if (other.get("kind") == "compute#autoscaler" and other["target"] == res["target"]
                and other["selfLink"] != res["selfLink"]):
            raise errors.invalid(f"Instance group manager '{res['target']}' already has an autoscaler.")


def _autoscale(backend, project, loc, res, *rest) -> None:
    """The autoscaler owns the group's size: keep it inside [min, max]."""
    new = rest[-1] if rest else res
    manager = backend.find_link(new["target"])
    policy = new["autoscalingPolicy"]
    size = min(max(manager["targetSize"], policy["minNumReplicas"]), policy["maxNumReplicas"])
    if size != manager["targetSize"]:
        manager["targetSize"] = size
        _reconcile(backend, project, manager, proactive=False)
    manager.setdefault("status", {})["autoscaler"] = new["selfLink"]
    new.update(status="ACTIVE", recommendedSize=size)


def _autoscaler_delete(backend, project, loc, res) -> None:
    manager = backend.find_link(res["target"])
    if manager is not None:
        manager.get("status", {}).pop("autoscaler", None)


_MANAGER = Collection("instanceGroupManagers", "region", "compute#instanceGroupManager", "instance_group_manager",
                      refs=MANAGER_REFS)

COLLECTIONS = [
    Collection(
        "instanceTemplates", "global", "compute#instanceTemplate", "instance_template",
        required=("properties", "properties.machineType"), refs=TEMPLATE_REFS,
        validate=_template_validate,
    ),
    Collection(
        "instanceGroupManagers", "region", "compute#instanceGroupManager", "instance_group_manager",
        required=("baseInstanceName",), refs=MANAGER_REFS, fingerprint=True,
        methods=frozenset({"insert", "get", "list", "delete", "patch"}),
        validate=_manager_normalize, on_insert=_manager_insert, on_update=_manager_update,
        on_delete=_manager_delete, users=_manager_users,
        actions={"resize": _resize, "setInstanceTemplate": _set_instance_template,
                 "listManagedInstances": _list_managed_instances},
    ),
    Collection(
        "instanceGroups", "region", "compute#instanceGroup", "instance_group",
        methods=frozenset({"get", "list"}),
        actions={"setNamedPorts": _set_named_ports, "listInstances": _list_instances},
    ),
    Collection(
        "autoscalers", "region", "compute#autoscaler", "autoscaler",
        required=("target", "autoscalingPolicy", "autoscalingPolicy.maxNumReplicas"),
        refs=(RefField("target", (("region", "instanceGroupManagers"),)),),
        methods=frozenset({"insert", "get", "list", "delete", "patch", "update"}), name_in_query="autoscaler",
        validate=_autoscaler_validate, on_insert=_autoscale, on_update=_autoscale, on_delete=_autoscaler_delete,
    ),
]
