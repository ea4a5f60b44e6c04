"""Azure public-cloud regions (ARM's normalised names) and how many availability zones each
has (0: none), so locations and zones are refused as ARM refuses them."""

from __future__ import annotations

from lepton_cli.sandbox.azure.errors import ArmError

_ZONAL = """eastus eastus2 centralus southcentralus westus2 westus3 canadacentral brazilsouth mexicocentral
northeurope westeurope uksouth francecentral germanywestcentral swedencentral switzerlandnorth norwayeast
polandcentral italynorth spaincentral qatarcentral uaenorth israelcentral southafricanorth centralindia
japaneast japanwest koreacentral southeastasia eastasia australiaeast newzealandnorth"""
_PLAIN = """westus northcentralus westcentralus canadaeast ukwest francesouth germanynorth norwaywest
switzerlandwest swedensouth southindia westindia jioindiawest jioindiacentral koreasouth australiasoutheast
australiacentral australiacentral2 brazilsoutheast southafricawest uaecentral"""
REGIONS: dict[str, int] = {**{r: 0 for r in _PLAIN.split()}, **{r: 3 for r in _ZONAL.split()}}


def check_location(location: str, type_: str) -> None:
    if location not in REGIONS:
        code = ("LocationNotAvailableForResourceGroup" if type_ == "Microsoft.Resources/resourceGroups"
                else "LocationNotAvailableForResourceType")
        raise ArmError(400, code, f"The provided location '{location}' is not available for resource type "
                                  f"'{type_}'. List of available regions for the resource type is "
                                  f"'{','.join(sorted(REGIONS))}'.")


def check_zones(location: str, zones: list | None, type_: str) -> None:
    count = REGIONS.get(location, 0)
    for zone in zones or []:
        if str(zone) not in {str(i) for i in range(1, count + 1)}:
            raise ArmError(400, "InvalidParameter",
                           f"The zone(s) '{zone}' for resource type '{type_}' is not supported in location "
                           f"'{location}'" + ("." if count else ": the region has no availability zones."),
                           "zones")
