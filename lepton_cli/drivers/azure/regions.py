"""Azure regions lepton ships (validation without an API call): region -> availability zones
(0 where the region has none)."""

from __future__ import annotations

REGIONS: dict[str, int] = {
    "eastus": 3, "eastus2": 3, "westus2": 3, "westus3": 3, "centralus": 3, "southcentralus": 3,
    "northeurope": 3, "westeurope": 3, "uksouth": 3, "francecentral": 3, "germanywestcentral": 3,
    "swedencentral": 3, "japaneast": 3, "southeastasia": 3, "australiaeast": 3, "canadacentral": 3,
    "westus": 0, "northcentralus": 0,
}


def zone_names(region: str, count: int) -> list[str]:
    """The first `count` zones of `region` ("1", "2", ...); none where the region has none."""
    return [str(i) for i in range(1, min(count, REGIONS.get(region, 0)) + 1)]
