"""Azure Front Door Standard through azure-mgmt-cdn: profile, endpoint, origin group, origin and
route (all long-running), host names, references, the in-use origin group, cascade delete."""

from __future__ import annotations

import re

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cdn import models as cd

from tests.sandbox.azure import world


def front_door(c, origins: int = 1):
    cdn = c.cdn
    profile = cdn.profiles.begin_create("rg", "fd", cd.Profile(
        location="Global", sku=cd.Sku(name="Standard_AzureFrontDoor"))).result()
    endpoint = cdn.afd_endpoints.begin_create("rg", "fd", "web", cd.AFDEndpoint(
        location="Global", enabled_state="Enabled")).result()
    group = cdn.afd_origin_groups.begin_create("rg", "fd", "og", cd.AFDOriginGroup(
        load_balancing_settings=cd.LoadBalancingSettingsParameters(sample_size=4, successful_samples_required=3),
        health_probe_settings=cd.HealthProbeParameters(
            probe_path="/", probe_protocol="Http", probe_request_type="HEAD", probe_interval_in_seconds=100))).result()
    for i in range(origins):
        cdn.afd_origins.begin_create("rg", "fd", "og", f"origin{i}", cd.AFDOrigin(
            host_name=f"origin{i}.example.com", http_port=80, https_port=443, enabled_state="Enabled")).result()
    route = cdn.routes.begin_create("rg", "fd", "web", "default", cd.Route(
        origin_group=cd.ResourceReference(id=group.id), supported_protocols=["Http", "Https"], patterns_to_match=["/*"],
        forwarding_protocol="HttpOnly", https_redirect="Enabled", link_to_default_domain="Enabled",
        cache_configuration=cd.AfdRouteCacheConfiguration(query_string_caching_behavior="IgnoreQueryString"))).result()
    return profile, endpoint, group, route


def test_front_door_chain_create_get_update(c):
    world.group(c)
    profile, endpoint, group, route = front_door(c)
    assert profile.sku.name == "Standard_AzureFrontDoor" and profile.location == "Global"
    assert profile.provisioning_state == "Succeeded" and profile.front_door_id
    assert re.fullmatch(r"web-[a-z0-9]{16}\.z01\.azurefd\.net", endpoint.host_name)
    assert group.load_balancing_settings.sample_size == 4
    origin = c.cdn.afd_origins.get("rg", "fd", "og", "origin0")
    assert origin.host_name == "origin0.example.com" and origin.origin_host_header == "origin0.example.com"
    got = c.cdn.routes.get("rg", "fd", "web", "default")
    assert got.origin_group.id == group.id and got.https_redirect == "Enabled" and got.forwarding_protocol == "HttpOnly"
    updated = c.cdn.afd_origins.begin_update("rg", "fd", "og", "origin0", cd.AFDOriginUpdateParameters(
        host_name="other.example.com")).result()
    assert updated.host_name == "other.example.com"
    assert c.cdn.profiles.get("rg", "fd").provisioning_state == "Succeeded"


def test_lists_page_with_next_link(arm):
    c, app = arm
    world.group(c)
    front_door(c, origins=3)
    origins = c.cdn.afd_origins.list_by_origin_group("rg", "fd", "og")
    assert [o.name for o in origins] == ["origin0", "origin1", "origin2"]
    assert sum(1 for m, p in app.calls if m == "GET" and p.endswith("/origins")) == 2
    assert [p.name for p in c.cdn.profiles.list_by_resource_group("rg")] == ["fd"]
    assert [e.name for e in c.cdn.afd_endpoints.list_by_profile("rg", "fd")] == ["web"]
    assert [r.name for r in c.cdn.routes.list_by_endpoint("rg", "fd", "web")] == ["default"]


def test_references_and_in_use_refusals(c):
    world.group(c)
    _, _, group, _ = front_door(c)
    with pytest.raises(HttpResponseError) as err:
        c.cdn.routes.begin_create("rg", "fd", "web", "bad", cd.Route(
            origin_group=cd.ResourceReference(id=group.id + "x"))).result()
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        c.cdn.afd_origin_groups.begin_delete("rg", "fd", "og").result()
    assert err.value.status_code == 409
    with pytest.raises(HttpResponseError) as err:
        c.cdn.profiles.begin_create("rg", "cdn2", cd.Profile(location="eastus", sku=cd.Sku(
            name="Standard_AzureFrontDoor"))).result()
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        c.cdn.afd_origins.begin_create("rg", "fd", "og", "nohost", cd.AFDOrigin(http_port=80)).result()
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:  # the last origin of a group a route uses
        c.cdn.afd_origins.begin_delete("rg", "fd", "og", "origin0").result()
    assert err.value.status_code == 400 and "last origin" in err.value.error.message
    c.cdn.afd_origin_groups.begin_create("rg", "fd", "empty", cd.AFDOriginGroup(
        load_balancing_settings=cd.LoadBalancingSettingsParameters(sample_size=4))).result()
    with pytest.raises(HttpResponseError) as err:  # a route needs an enabled origin behind it
        c.cdn.routes.begin_create("rg", "fd", "web", "empty", cd.Route(
            origin_group=cd.ResourceReference(id=group.id.replace("/og", "/empty")))).result()
    assert err.value.status_code == 400 and "at least one enabled origin" in err.value.error.message
    c.cdn.routes.begin_delete("rg", "fd", "web", "default").result()
    c.cdn.afd_origin_groups.begin_delete("rg", "fd", "og").result()
    with pytest.raises(ResourceNotFoundError):
        c.cdn.afd_origins.get("rg", "fd", "og", "origin0")  # went with its group


def test_profile_delete_cascades(c):
    world.group(c)
    front_door(c)
    c.cdn.profiles.begin_delete("rg", "fd").result()
    with pytest.raises(ResourceNotFoundError):
        c.cdn.profiles.get("rg", "fd")
    with pytest.raises(ResourceNotFoundError) as err:
        c.cdn.routes.get("rg", "fd", "web", "default")
    assert err.value.status_code == 404
