"""SDK models as ARM's own JSON: lepton builds request bodies and reads answers in the field
names of the ARM REST reference (`properties.virtualMachineProfile...`), whichever generation
of model class an azure-mgmt package uses (TypeSpec mappings or msrest models); and the
`Observed` every ARM object becomes (its ARM id as id, outputs naming id and name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lepton_cli.drivers.base import Observed, PrimitiveType


def as_json(item: Any) -> dict[str, Any]:
    """`item` as the JSON ARM sent (camelCase keys, `properties` nested)."""
    if item is None:
        return {}
    if hasattr(item, "serialize") and not isinstance(item, Mapping):  # msrest (azure-mgmt-monitor)
        return item.serialize(keep_readonly=True)
    if hasattr(item, "as_dict"):  # TypeSpec models: mappings of the wire JSON
        return item.as_dict()
    return dict(item)


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """`value[p0][p1]...`, or `default` where a step is missing (ARM leaves unset fields out)."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or len(value) <= step:
                return default
        elif not isinstance(value, Mapping) or step not in value:
            return default
        value = value[step]
    return default if value is None else value


def location_of(item: dict[str, Any]) -> str:
    """ARM's location as lepton keeps it: lowercase, no spaces ("East US" -> "eastus")."""
    return (item.get("location") or "").replace(" ", "").lower()


def observed(ptype: PrimitiveType, address: str, region: str, item: Any, properties: dict[str, Any],
             outputs: dict[str, Any] | None = None) -> Observed:
    """An Observed for an ARM object: id is its ARM id; outputs always name id and name."""
    data = as_json(item)
    return Observed(address=address, type=ptype.type_name, region=region, id=data["id"], properties=properties,
                    outputs={"id": data["id"], "name": data["name"], **(outputs or {})})
