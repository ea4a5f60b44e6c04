"""The Google Cloud driver in the shared contract suite (tests/drivers/contract): the project's
own Compute Engine and Cloud Storage emulators, in process (the `gcp_endpoints` session
fixture), and foreign objects made with the google-cloud SDKs directly.

Foreign objects per type come from `tests/drivers/gcp/foreign_*.py`, each a module with
`FOREIGN = {type_name: make}` where `make(harness, built, same_name) -> ForeignObject`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from lepton_cli.drivers.base import DriverConfig
from lepton_cli.drivers.gcp.driver import SANDBOX_PROJECT, GcpDriver
from tests.drivers.contract.harness import Built, DriverHarness, ForeignObject

REGION = "us-central1"
PROJECT = SANDBOX_PROJECT

# One plan whose expansion holds every GCP primitive type; each type's checks build only the
# dependency closure of its primitive. `autoscale` with min 0: an autoscaler and no instances.
EVERYTHING = """\
resources:
  web:
    kind: compute
    instance_type: e2-small
    image: ubuntu-22.04
    autoscale: {min: 0, max: 2}
    ports: [8080]
  lb:
    kind: load_balancer
    target: web
    listeners: [{port: 80, protocol: http, target_port: 8080}]
    health_check: {path: /healthz}
  db:
    kind: compute
    instance_type: e2-small
    image: ubuntu-22.04
    count: 0
    ports: [5432]
  nlb:
    kind: load_balancer
    target: db
    listeners: [{port: 5432, protocol: tcp}]
  assets:
    kind: bucket
  cdn:
    kind: cdn
    origin: assets
  lb-cdn:
    kind: cdn
    origin: lb
"""

# Mutating calls are everything but these reads (compute: "Collection.method"; storage:
# "storage.METHOD /path").
READS = ("get", "list", "aggregated_list", "wait", "list_managed_instances", "get_iam_policy", "get_health")


def _foreign_makers() -> dict[str, Callable[..., ForeignObject]]:
    makers: dict[str, Callable[..., ForeignObject]] = {}
    for path in sorted(Path(__file__).parent.glob("foreign_*.py")):
        makers.update(importlib.import_module(f"tests.drivers.gcp.{path.stem}").FOREIGN)
    return makers


class GcpHarness(DriverHarness):
    cloud = "gcp"
    # Compute names are unique per project (global collections) or region; bucket names in
    # the whole of GCS: a foreign holder of a wanted name is always refused.
    unique_name_types = frozenset(t.type_name for t in GcpDriver(DriverConfig(stack="contract"))
                                  .primitive_type_classes())

    def __init__(self, endpoints: dict[str, str]):
        self.endpoints = endpoints

    @classmethod
    def type_names(cls) -> list[str]:
        return sorted(cls.unique_name_types)

    @classmethod
    def start(cls, request) -> "GcpHarness":
        return cls(request.getfixturevalue("gcp_endpoints"))

    def driver(self, stack: str) -> GcpDriver:
        return GcpDriver(DriverConfig(stack=stack, endpoints=self.endpoints, project=PROJECT))

    def plan_text(self, stack: str, body: str) -> str:
        return f"stack: {stack}\ndefaults: {{cloud: gcp, region: {REGION}, project: {PROJECT}}}\n{body}"

    def body_for(self, type_name: str) -> str:
        if type_name == "gcp.target_https_proxy":  # needs a certificate (C3, foreign_lb.py)
            from tests.drivers.gcp.foreign_lb import https_body
            return https_body(self.endpoints, EVERYTHING)
        return EVERYTHING

    def after_calls(self, driver: GcpDriver, hook: Callable[[str], None]) -> None:
        driver.observers.append(hook)

    def mutating(self, operation: str) -> bool:
        if operation.startswith("storage."):
            return not operation.startswith("storage.GET ")
        return operation.rsplit(".", 1)[-1] not in READS

    def lost_answer(self, operation: str) -> Exception:
        from google.api_core.exceptions import InternalServerError

        return InternalServerError(f"{operation}: the answer was lost (injected)")

    def make_foreign(self, type_name: str, built: Built, *, same_name: bool) -> ForeignObject:
        return _foreign_makers()[type_name](self, built, same_name)


HARNESS = GcpHarness
