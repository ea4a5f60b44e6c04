"""The Azure driver: azure-mgmt-* clients for a real subscription (`DefaultAzureCredential`)
or the sandbox's ARM emulator (a fake bearer token over loopback http), azure-storage-blob for
the data plane. Its kinds are the modules of this package (`drivers/modular.py`); `network`
exposes `expand_network(driver, stack, regions, needs_vnet)` (a resource group per region, a
VNet and subnet where compute runs), `firewall` the network security groups.

Sandbox transport: azure-core's bearer-token policy refuses to send a token over plain http.
lepton replaces that one policy, in sandbox mode only, with `SandboxToken` (the SDK's own
`authentication_policy` setting), which sends DESIGN §8's fake token to the loopback emulator;
every real-cloud client keeps the SDK's policy and its https enforcement. (The alternative, TLS
on loopback with a generated certificate, would need a CA bundle handed to every client and
every status probe, for no gain on a loopback-only emulator.)
"""

from __future__ import annotations

import importlib
import os
from functools import cached_property
from typing import Any

from lepton_cli.drivers.azure.regions import REGIONS
from lepton_cli.drivers.base import Primitive
from lepton_cli.drivers.modular import ModularDriver
from lepton_cli.errors import Diagnostic, LeptonError
from lepton_cli.spec.models import Stack

SANDBOX_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # DESIGN §8
SANDBOX_TOKEN = "lepton-sandbox"

# Management clients by short name: (module, class).
CLIENTS: dict[str, tuple[str, str]] = {
    "resource": ("azure.mgmt.resource.resources", "ResourceManagementClient"),
    "network": ("azure.mgmt.network", "NetworkManagementClient"),
    "compute": ("azure.mgmt.compute", "ComputeManagementClient"),
    "storage": ("azure.mgmt.storage", "StorageManagementClient"),
    "cdn": ("azure.mgmt.cdn", "CdnManagementClient"),
    "monitor": ("azure.mgmt.monitor", "MonitorManagementClient"),
}


def sandbox_token_policy() -> Any:
    """The sandbox's stand-in for the bearer-token policy: a fake token, allowed over http."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class SandboxToken(SansIOHTTPPolicy):
        def on_request(self, request):
            request.http_request.headers["Authorization"] = f"Bearer {SANDBOX_TOKEN}"

    return SandboxToken()


class AzureDriver(ModularDriver):
    cloud = "azure"
    package = "lepton_cli.drivers.azure"
    # The driver's APIs -> the sandbox endpoint serving each (`lepton sandbox status`).
    sandbox_services = {"arm": "azure", "blob": "azblob"}
    regions = REGIONS

    # Observers hear "METHOD path" (the SDK's own `raw_response_hook`).

    # -- subscription and credentials ---------------------------------------------------------------
    @cached_property
    def subscription(self) -> str:
        if self.config.subscription:
            return self.config.subscription
        if self.config.sandbox:
            return SANDBOX_SUBSCRIPTION
        if os.environ.get("AZURE_SUBSCRIPTION_ID"):
            return os.environ["AZURE_SUBSCRIPTION_ID"]
        raise LeptonError(Diagnostic(
            summary="no Azure subscription: the plan names none and the environment has none",
            hint="set defaults.subscription in the plan file, or AZURE_SUBSCRIPTION_ID"))

    @cached_property
    def credential(self) -> Any:
        if self.config.sandbox:
            return None  # the sandbox's token policy stands in for a credential
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _hook(self, response: Any) -> None:
        request = response.http_request
        self.observe(f"{request.method} {request.url.split('?', 1)[0].split('://', 1)[-1].split('/', 1)[-1]}")

    def client_options(self) -> dict[str, Any]:
        """Settings every Azure client of this driver shares: the observers' hook, and in the
        sandbox the emulator's endpoint, token and immediate polling."""
        options: dict[str, Any] = {"raw_response_hook": self._hook}
        if self.config.sandbox:
            options.update(base_url=self.config.endpoint("arm"), authentication_policy=sandbox_token_policy(),
                           polling_interval=0)
        return options

    def client(self, name: str) -> Any:
        """A cached management client (`resource`, `network`, `compute`, `storage`, `cdn`, `monitor`)."""
        def make() -> Any:
            module_name, class_name = CLIENTS[name]
            client_class = getattr(importlib.import_module(module_name), class_name)
            return client_class(self.credential or _NoCredential(), self.subscription, **self.client_options())
        return self.cached_client(name, make)

    def blob_service(self, account_url: str, key: str | None = None) -> Any:
        """A data-plane client for a storage account: its key in the sandbox (Azurite knows no
        tokens), the driver's credential otherwise."""
        from azure.storage.blob import BlobServiceClient

        if self.config.sandbox:
            account = account_url.rstrip("/").rsplit("/", 1)[-1]
            return BlobServiceClient(account_url, credential={"account_name": account, "account_key": key},
                                     raw_response_hook=self._hook)
        return BlobServiceClient(account_url, credential=self.credential, raw_response_hook=self._hook)

    # -- the implicit network ----------------------------------------------------------------------
    def expand_network(self, stack: Stack, names: list[str]) -> list[Primitive]:
        """A resource group in every region the resources use; a VNet where one needs a network."""
        regions = sorted({stack.region_of(n) for n in names})
        if not regions:
            return []
        return self.module("network").expand_network(self, stack, regions,
                                                     needs_vnet=self.network_regions(stack, names))


class _NoCredential:
    """The sandbox's placeholder credential (the token policy above replaces its use)."""

    def get_token(self, *scopes: str, **kwargs: Any):
        raise LeptonError("the sandbox's Azure clients use the sandbox token, never a credential")
