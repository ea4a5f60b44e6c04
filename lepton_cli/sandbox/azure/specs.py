"""Every resource type the emulator serves, by lower-case full type, and the subscription-level
POST actions (checkNameAvailability)."""

from __future__ import annotations

from lepton_cli.sandbox.azure import cdn, compute, insights, network, storage
from lepton_cli.sandbox.azure.spec import ResourceType

_ALL: list[ResourceType] = [*network.TYPES, *compute.TYPES, *storage.TYPES, *cdn.TYPES, *insights.TYPES]
TYPES: dict[str, ResourceType] = {t.key: t for t in _ALL}
SUBSCRIPTION_ACTIONS = dict(storage.SUBSCRIPTION_ACTIONS)
