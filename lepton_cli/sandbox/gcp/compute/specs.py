"""Every collection the emulator serves, gathered from the per-family modules."""

from __future__ import annotations

from lepton_cli.sandbox.gcp.compute import groups, loadbalancing, networking
from lepton_cli.sandbox.gcp.compute.spec import Collection

_ALL: list[Collection] = [*networking.COLLECTIONS, *groups.COLLECTIONS, *loadbalancing.COLLECTIONS]

SPECS: dict[tuple[str, str], Collection] = {(c.scope, c.coll): c for c in _ALL}

# aggregated/{collection} -> the key each scope's items sit under
AGGREGATED_KEYS = {
    "subnetworks": "subnetworks", "addresses": "addresses", "forwardingRules": "forwardingRules",
    "instanceGroupManagers": "instanceGroupManagers", "autoscalers": "autoscalers",
    "backendServices": "backendServices", "healthChecks": "healthChecks", "instanceGroups": "instanceGroups",
}
