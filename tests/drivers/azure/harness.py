"""The Azure driver in the shared contract suite (tests/drivers/contract): the project's own ARM
emulator and the sandbox's Azurite, in process (the `azure_endpoints` session fixture), and
foreign objects made with the azure-mgmt SDKs directly.

Foreign objects per type come from `tests/drivers/azure/foreign_*.py`, each a module with
`FOREIGN = {type_name: make}` where `make(harness, built, same_name) -> ForeignObject`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from lepton_cli.drivers.azure.driver import AzureDriver
from lepton_cli.drivers.base import DriverConfig
from tests.drivers.contract.harness import Built, DriverHarness, ForeignObject

REGION = "eastus"

# One plan whose expansion holds every Azure primitive type; each type's checks build only the
# dependency closure of its primitive. `autoscale` with min 0: an autoscale setting, no VMs.
EVERYTHING = """\
resources:
  web:
    kind: compute
    instance_type: Standard_B2s
    image: ubuntu-22.04
    autoscale: {min: 0, max: 2}
    ports: [8080]
    allow_from: ["10.0.0.0/8"]
  lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80, protocol: http, target_port: 8080}]
    health_check: {path: /healthz}
  assets:
    kind: bucket
    lifecycle: [{prefix: "tmp/", expire_days: 7}]
  cdn:
    kind: cdn
    origin: assets
"""

READS = ("GET", "HEAD")


def _foreign_makers() -> dict[str, Callable[..., ForeignObject]]:
    makers: dict[str, Callable[..., ForeignObject]] = {}
    for path in sorted(Path(__file__).parent.glob("foreign_*.py")):
        makers.update(importlib.import_module(f"tests.drivers.azure.{path.stem}").FOREIGN)
    return makers


class AzureHarness(DriverHarness):
    cloud = "azure"
    # ARM names are unique per resource group (= per stack and region) and in the whole cloud for
    # storage accounts: a foreign holder is always refused. Child resources (subnets, containers,
    # Front Door children) are owned through their owned parent: a foreign one with the wanted
    # name lives in a parent of its own and is left alone.
    unique_name_types = frozenset(t.type_name for t in AzureDriver(DriverConfig(stack="contract"))
                                  .primitive_type_classes() if not t.child)

    # Write-only in ARM itself (real and emulated): a scale set's customData is never returned.
    read_gaps = {"azure.vm_scale_set": frozenset({"custom_data"})}

    def __init__(self, endpoints: dict[str, str]):
        self.endpoints = endpoints

    @classmethod
    def type_names(cls) -> list[str]:
        return sorted(t.type_name for t in AzureDriver(DriverConfig(stack="contract")).primitive_type_classes())

    @classmethod
    def start(cls, request) -> "AzureHarness":
        return cls(request.getfixturevalue("azure_endpoints"))

    def driver(self, stack: str) -> AzureDriver:
        return AzureDriver(DriverConfig(stack=stack, endpoints=self.endpoints))

    def plan_text(self, stack: str, body: str) -> str:
        return f"stack: {stack}\ndefaults: {{cloud: azure, region: {REGION}}}\n{body}"

    def body_for(self, type_name: str) -> str:
        return EVERYTHING

    def after_calls(self, driver: AzureDriver, hook: Callable[[str], None]) -> None:
        driver.observers.append(hook)

    def mutating(self, operation: str) -> bool:
        return operation.split(" ", 1)[0] not in READS and "/listKeys" not in operation \
            and "checkNameAvailability" not in operation and "/operations/" not in operation

    def lost_answer(self, operation: str) -> Exception:
        from azure.core.exceptions import HttpResponseError

        return HttpResponseError(message=f"{operation}: the answer was lost (injected)")

    def make_foreign(self, type_name: str, built: Built, *, same_name: bool) -> ForeignObject:
        return _foreign_makers()[type_name](self, built, same_name)


HARNESS = AzureHarness
