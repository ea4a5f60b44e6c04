"""VPC networks, subnetworks, firewall rules and reserved addresses."""

from __future__ import annotations

import ipaddress

from lepton_cli.sandbox.gcp import errors
from lepton_cli.sandbox.gcp.compute.spec import Collection, RefField

NETWORK = RefField("network", (("global", "networks"),), bare="networks")
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")]


def _cidr(value: object, field: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        raise errors.invalid_field(field, value, "Must be a valid IPv4 CIDR range.") from None


def _network_validate(backend, project, loc, res) -> None:
    if res.get("autoCreateSubnetworks"):
        raise errors.invalid_field(
            "resource.autoCreateSubnetworks", True,
            "The sandbox emulates custom-mode networks only (autoCreateSubnetworks: false).",
        )
    mtu = res.get("mtu", 1460)
    if not isinstance(mtu, int) or not 1300 <= mtu <= 8896:
        raise errors.invalid_field("resource.mtu", mtu, "Must be between 1300 and 8896.")


def _network_insert(backend, project, loc, res) -> None:
    res["subnetworks"] = []


def _network_update(backend, project, loc, old, new) -> None:
    new["subnetworks"] = old.get("subnetworks", [])
    if new.get("routingConfig", {}).get("routingMode") not in ("REGIONAL", "GLOBAL"):
        raise errors.invalid_field("resource.routingConfig.routingMode", new.get("routingConfig"),
                                   "Must be REGIONAL or GLOBAL.")


def _subnet_validate(backend, project, loc, res) -> None:
    cidr = _cidr(res["ipCidrRange"], "resource.ipCidrRange")
    if not any(cidr.subnet_of(block) for block in _PRIVATE) or cidr.prefixlen > 29:
        raise errors.invalid_field("resource.ipCidrRange", res["ipCidrRange"],
                                   "Must be a private range of prefix length /29 or shorter.")
    for _spec, _loc, other in backend.resources(project):
        if (other.get("kind") == "compute#subnetwork" and other["network"] == res["network"]
                and other["selfLink"] != res["selfLink"]
                and cidr.overlaps(ipaddress.IPv4Network(other["ipCidrRange"]))):
            raise errors.invalid(
                f"Invalid IPCidrRange: {res['ipCidrRange']} conflicts with existing subnetwork "
                f"'{other['name']}' in region '{other['region'].rsplit('/', 1)[1]}'."
            )
    res["gatewayAddress"] = str(cidr.network_address + 1)


def _subnet_insert(backend, project, loc, res) -> None:
    network = backend.find_link(res["network"])
    network["subnetworks"].append(res["selfLink"])


def _subnet_update(backend, project, loc, old, new) -> None:
    for field in ("network", "ipCidrRange"):
        if new.get(field) != old.get(field):
            raise errors.invalid_field(f"resource.{field}", new.get(field),
                                       "This field cannot be changed by patch (use expandIpCidrRange).")


def _subnet_delete(backend, project, loc, res) -> None:
    network = backend.find_link(res["network"])
    if network and res["selfLink"] in network["subnetworks"]:
        network["subnetworks"].remove(res["selfLink"])


def _instance_using(backend, project, link: str) -> str | None:
    """A managed instance whose template puts it on `link` (a network or subnetwork)."""
    for _spec, _loc, res in backend.resources(project):
        for inst in res.get("_instances", ()):
            template = backend.find_link(inst["version"]["instanceTemplate"])
            nics = (template or {}).get("properties", {}).get("networkInterfaces", [])
            if any(link in (nic.get("network"), nic.get("subnetwork")) for nic in nics):
                return inst["instance"].split("/compute/v1/", 1)[1]
    return None


def _refuse_if_instances(noun: str):
    def check(backend, project, loc, res) -> None:
        user = _instance_using(backend, project, res["selfLink"])
        if user:
            raise errors.in_use(noun, res["selfLink"].split("/compute/v1/", 1)[1], user)
    return check


def _subnet_delete_checked(backend, project, loc, res) -> None:
    _refuse_if_instances("subnetwork")(backend, project, loc, res)
    _subnet_delete(backend, project, loc, res)


def _firewall_validate(backend, project, loc, res) -> None:
    if bool(res.get("allowed")) == bool(res.get("denied")):
        raise errors.invalid("Exactly one of 'allowed' or 'denied' must be specified.")
    for rule in res.get("allowed") or res.get("denied"):
        if not rule.get("IPProtocol"):
            raise errors.required("resource.allowed[].IPProtocol")
        for port in rule.get("ports", []):
            low, _, high = str(port).partition("-")
            if not (low.isdigit() and (not high or high.isdigit()) and 0 <= int(low) <= 65535
                    and (not high or int(low) <= int(high) <= 65535)):
                raise errors.invalid_field("resource.allowed[].ports[]", port, "Must be a port or port range.")
    if res["direction"] not in ("INGRESS", "EGRESS"):
        raise errors.invalid_field("resource.direction", res["direction"], "Must be INGRESS or EGRESS.")
    if not 0 <= int(res["priority"]) <= 65535:
        raise errors.invalid_field("resource.priority", res["priority"], "Must be between 0 and 65535.")
    for cidr in [*res.get("sourceRanges", []), *res.get("destinationRanges", [])]:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise errors.invalid_field("resource.sourceRanges[]", cidr, "Must be a valid CIDR range.") from None
    sources = ("sourceRanges", "sourceTags", "sourceServiceAccounts")
    if res["direction"] == "INGRESS" and not any(res.get(k) for k in sources):
        res["sourceRanges"] = ["0.0.0.0/0"]  # the real API's default for ingress rules


def _firewall_network_fixed(backend, project, loc, old, new) -> None:
    if new["network"] != old["network"]:
        raise errors.invalid_field("resource.network", new["network"],
                                   "The network of a firewall rule cannot be changed.")


def _address_validate(backend, project, loc, res) -> None:
    if res.get("addressType", "EXTERNAL") not in ("EXTERNAL", "INTERNAL"):
        raise errors.invalid_field("resource.addressType", res["addressType"], "Must be EXTERNAL or INTERNAL.")


def _address_insert(backend, project, loc, res) -> None:
    if res.get("address"):
        try:
            ipaddress.IPv4Address(res["address"])
        except ValueError:
            raise errors.invalid_field("resource.address", res["address"], "Must be an IPv4 address.") from None
    else:
        res["address"] = backend.allocate_ip(loc)
    res.setdefault("addressType", "EXTERNAL")
    res["status"] = "RESERVED"
    if loc != "global":
        res.setdefault("networkTier", "PREMIUM")


def _address_delete(backend, project, loc, res) -> None:
    if res.get("users"):
        raise errors.in_use("address", res["selfLink"].split("/compute/v1/", 1)[1],
                            res["users"][0].split("/compute/v1/", 1)[1])


def set_labels(backend, project, loc, res, body, query) -> None:
    """setLabels: replaces all labels; a stale `labelFingerprint` (when sent) is 412."""
    if body.get("labelFingerprint") not in (None, "", res.get("labelFingerprint")):
        raise errors.fingerprint_mismatch()
    labels = body.get("labels") or {}
    backend.check_labels(labels, "labels")
    res["labels"] = labels
    if not labels:
        res.pop("labels")
    res["labelFingerprint"] = backend.fingerprint()


set_labels.op_type = "setLabels"

COLLECTIONS = [
    Collection(
        "networks", "global", "compute#network", "network",
        methods=frozenset({"insert", "get", "list", "delete", "patch"}),
        defaults={"autoCreateSubnetworks": False, "routingConfig": {"routingMode": "REGIONAL"}, "mtu": 1460,
                  "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL"},
        validate=_network_validate, on_insert=_network_insert, on_update=_network_update,
        on_delete=_refuse_if_instances("network"),
    ),
    Collection(
        "subnetworks", "region", "compute#subnetwork", "subnetwork",
        required=("network", "ipCidrRange"), refs=(NETWORK,), fingerprint=True,
        methods=frozenset({"insert", "get", "list", "delete", "patch"}),
        defaults={"privateIpGoogleAccess": False, "stackType": "IPV4_ONLY", "purpose": "PRIVATE"},
        validate=_subnet_validate, on_insert=_subnet_insert, on_update=_subnet_update,
        on_delete=_subnet_delete_checked,
    ),
    Collection(
        "firewalls", "global", "compute#firewall", "firewall",
        required=("network",), refs=(NETWORK,),
        methods=frozenset({"insert", "get", "list", "delete", "patch", "update"}),
        defaults={"direction": "INGRESS", "priority": 1000, "disabled": False, "logConfig": {"enable": False}},
        validate=_firewall_validate, on_update=_firewall_network_fixed,
    ),
    Collection(
        "addresses", "global", "compute#address", "address", labels=True,
        validate=_address_validate, on_insert=_address_insert, on_delete=_address_delete,
        defaults={"networkTier": "PREMIUM", "ipVersion": "IPV4"},
        actions={"setLabels": set_labels},
    ),
    Collection(
        "addresses", "region", "compute#address", "address", labels=True,
        validate=_address_validate, on_insert=_address_insert, on_delete=_address_delete,
        actions={"setLabels": set_labels},
    ),
]
