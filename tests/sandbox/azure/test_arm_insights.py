"""Autoscale settings through azure-mgmt-monitor (not long-running): CRUD, list pages, the
target must be an existing scale set, capacity bounds are checked."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.monitor import models as mm

from tests.sandbox.azure import world


def setting(target: str, low: int = 1, high: int = 4, default: int = 2) -> mm.AutoscaleSettingResource:
    def rule(direction: str, operator: str, threshold: float) -> mm.ScaleRule:
        return mm.ScaleRule(
            metric_trigger=mm.MetricTrigger(metric_name="Percentage CPU", metric_resource_uri=target,
                                            time_grain="PT1M", statistic="Average", time_window="PT5M",
                                            time_aggregation="Average", operator=operator, threshold=threshold),
            scale_action=mm.ScaleAction(direction=direction, type="ChangeCount", value="1", cooldown="PT5M"))

    return mm.AutoscaleSettingResource(location="eastus", target_resource_uri=target, enabled=True, profiles=[
        mm.AutoscaleProfile(name="cpu", capacity=mm.ScaleCapacity(minimum=str(low), maximum=str(high),
                                                                   default=str(default)),
                            rules=[rule("Increase", "GreaterThan", 70), rule("Decrease", "LessThan", 30)])])


@pytest.fixture
def target(c):
    world.group(c)
    return world.vmss(c, world.vnet(c).subnets[0].id).id


def test_autoscale_create_get_update_list_delete(c, target):
    created = c.monitor.autoscale_settings.create_or_update("rg", "web-autoscale", setting(target))
    assert created.target_resource_uri == target and created.profiles[0].capacity.maximum == "4"
    assert created.profiles[0].rules[0].metric_trigger.metric_name == "Percentage CPU"
    got = c.monitor.autoscale_settings.get("rg", "web-autoscale")
    assert got.name == "web-autoscale" and got.enabled is True
    updated = c.monitor.autoscale_settings.update("rg", "web-autoscale", mm.AutoscaleSettingResourcePatch(
        tags={"lepton-stack": "web"}, enabled=False))
    assert updated.enabled is False and updated.tags == {"lepton-stack": "web"}
    assert updated.profiles[0].capacity.default == "2"
    again = c.monitor.autoscale_settings.create_or_update("rg", "web-autoscale", setting(target, high=6))
    assert again.profiles[0].capacity.maximum == "6"
    for name in ("b", "c"):
        c.monitor.autoscale_settings.create_or_update("rg", name, setting(target))
    assert [s.name for s in c.monitor.autoscale_settings.list_by_resource_group("rg")] == ["b", "c", "web-autoscale"]
    c.monitor.autoscale_settings.delete("rg", "b")
    with pytest.raises(ResourceNotFoundError):
        c.monitor.autoscale_settings.get("rg", "b")


def test_autoscale_refusals(c, target):
    with pytest.raises(HttpResponseError) as err:
        c.monitor.autoscale_settings.create_or_update("rg", "x", setting(target + "-gone"))
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        c.monitor.autoscale_settings.create_or_update("rg", "x", setting(target, low=5, high=4, default=4))
    assert err.value.status_code == 400
    assert list(c.monitor.autoscale_settings.list_by_resource_group("rg")) == []
