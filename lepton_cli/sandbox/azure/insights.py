"""Microsoft.Insights autoscale settings (not long-running: plain 200/201): profiles with
capacity bounds and metric rules; the target must be an existing scale set."""

from __future__ import annotations

from typing import Any

from lepton_cli.sandbox.azure import compute, refs, versions
from lepton_cli.sandbox.azure.errors import ArmError
from lepton_cli.sandbox.azure.spec import ResourceType

AUTOSCALE = "Microsoft.Insights/autoscalesettings"
_DIRECTIONS = ("Increase", "Decrease", "None")
_OPERATORS = ("Equals", "NotEquals", "GreaterThan", "GreaterThanOrEqual", "LessThan", "LessThanOrEqual")


def _bad(message: str, code: str = "InvalidRequestContent") -> ArmError:
    return ArmError(400, code, message)


def _capacity(value: Any, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise _bad(f"{where} must be an integer given as a string, not {value!r}.") from None
    if number < 0:
        raise _bad(f"{where} must not be negative.")
    return number


def prepare(backend: Any, new: dict, old: dict | None) -> None:
    props = new["properties"]
    target = props.get("targetResourceUri")
    if not target or backend.get(target) is None or refs.type_of(target).lower() != compute.VMSS.lower():
        raise _bad(f"The target resource id '{target}' was not found (an existing virtual machine scale set is "
                   "expected).", "TargetResourceNotFound" if target else "InvalidRequestContent")
    profiles = props.get("profiles")
    if not isinstance(profiles, list) or not 1 <= len(profiles) <= 20:
        raise _bad("An autoscale setting needs between 1 and 20 profiles.")
    for profile in profiles:
        name = profile.get("name") or "?"
        cap = profile.get("capacity") or {}
        low, high, default = (_capacity(cap.get(k), f"profile {name}: capacity.{k}")
                              for k in ("minimum", "maximum", "default"))
        if not low <= default <= high:
            raise _bad(f"Profile {name}: the default capacity {default} must lie between minimum {low} and "
                       f"maximum {high}.")
        for rule in profile.get("rules") or []:
            trigger, action = rule.get("metricTrigger") or {}, rule.get("scaleAction") or {}
            for key in ("metricName", "metricResourceUri", "timeGrain", "statistic", "timeWindow", "timeAggregation",
                        "operator", "threshold"):
                if trigger.get(key) is None:
                    raise _bad(f"Profile {name}: metricTrigger.{key} is required.")
            if trigger["operator"] not in _OPERATORS:
                raise _bad(f"Profile {name}: operator '{trigger['operator']}' is invalid.")
            if action.get("direction") not in _DIRECTIONS or not action.get("type") or not action.get("cooldown"):
                raise _bad(f"Profile {name}: scaleAction needs direction, type and cooldown.")
    props.setdefault("enabled", True)
    props["name"] = new["name"]
    props.setdefault("notifications", [])


TYPES = [ResourceType(AUTOSCALE, versions.INSIGHTS, lro=False, patch="sync", prepare=prepare)]
