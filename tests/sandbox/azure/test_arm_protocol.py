"""ARM's protocol through the SDKs: bearer and api-version checks, error shapes, resource
groups (CRUD, tag filter, nextLink pages, cascade delete), the generic resources list and its
`$filter`, and long-running operations (InProgress on the first poll, Succeeded after)."""

from __future__ import annotations

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.network import models as nm

from tests.sandbox.azure import world
from tests.sandbox.azure.support import SUB

GROUPS = f"/subscriptions/{SUB}/resourcegroups"


def test_a_request_without_a_bearer_token_is_refused_401(c):
    response = requests.get(f"{c.endpoint}{GROUPS}?api-version=2025-04-01", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_api_version_is_required_and_must_be_known(c):
    bearer = {"Authorization": "Bearer sandbox"}
    missing = requests.get(f"{c.endpoint}{GROUPS}", headers=bearer, timeout=5)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    unknown = requests.get(f"{c.endpoint}{GROUPS}?api-version=1999-01-01", headers=bearer, timeout=5)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "InvalidApiVersionParameter"
    # a version known for one provider is not valid for another's types
    vnets = f"{GROUPS}/rg/providers/Microsoft.Network/virtualNetworks?api-version=2025-04-01"
    assert requests.get(c.endpoint + vnets, headers=bearer, timeout=5).json()["error"]["code"] == \
        "InvalidApiVersionParameter"


def test_resource_group_create_get_update_and_check_existence(c):
    created = world.group(c, "Lepton-Web", **{"lepton-stack": "web"})
    assert created.id == f"/subscriptions/{SUB}/resourceGroups/Lepton-Web"
    assert created.location == "eastus" and created.properties.provisioning_state == "Succeeded"
    got = c.resource.resource_groups.get("lepton-web")  # lookups are case-insensitive, case is kept
    assert got.name == "Lepton-Web" and got.tags == {"lepton-stack": "web"}
    c.resource.resource_groups.update("lepton-web", {"tags": {"lepton-stack": "web", "team": "a"}})
    assert c.resource.resource_groups.get("Lepton-Web").tags == {"lepton-stack": "web", "team": "a"}
    assert c.resource.resource_groups.check_existence("Lepton-Web") is True
    assert c.resource.resource_groups.check_existence("nope") is False
    with pytest.raises(ResourceNotFoundError) as err:
        c.resource.resource_groups.get("nope")
    assert err.value.error.code == "ResourceGroupNotFound"


def test_resource_group_rules(c):
    with pytest.raises(HttpResponseError) as err:
        c.resource.resource_groups.create_or_update("bad/name", {"location": "eastus"})
    assert err.value.status_code in (400, 404)
    with pytest.raises(HttpResponseError) as err:
        c.resource.resource_groups.create_or_update("ends-with.", {"location": "eastus"})
    assert err.value.status_code == 400 and err.value.error.code == "InvalidResourceGroupName"
    with pytest.raises(HttpResponseError) as err:
        c.resource.resource_groups.create_or_update("rg", {"tags": {}})
    assert err.value.status_code == 400 and err.value.error.code == "LocationRequired"
    with pytest.raises(HttpResponseError) as err:
        c.resource.resource_groups.create_or_update("rg", {"location": "middleearth"})
    assert err.value.status_code == 400 and err.value.error.code == "LocationNotAvailableForResourceGroup"
    world.group(c, "rg")
    with pytest.raises(ResourceExistsError) as err:
        c.resource.resource_groups.create_or_update("rg", {"location": "westeurope"})
    assert err.value.status_code == 409


def test_resource_groups_list_pages_with_next_link_and_filters_by_tag(arm):
    c, app = arm
    for i in range(5):
        world.group(c, f"g{i}", **({"lepton-stack": "web"} if i % 2 else {}))
    assert [g.name for g in c.resource.resource_groups.list()] == [f"g{i}" for i in range(5)]
    assert sum(1 for m, p in app.calls if m == "GET" and p == GROUPS) == 3  # pages of 2: 2, 2, 1
    tagged = c.resource.resource_groups.list(filter="tagName eq 'lepton-stack' and tagValue eq 'web'")
    assert [g.name for g in tagged] == ["g1", "g3"]
    with pytest.raises(HttpResponseError) as err:
        list(c.resource.resource_groups.list(filter="startswith(name, 'g')"))
    assert err.value.status_code == 400 and err.value.error.code == "InvalidFilterInQueryString"


def test_resource_group_delete_cascades_to_its_resources(c):
    world.stack(c)
    world.group(c, "other")
    world.vnet(c, "other")
    c.resource.resource_groups.begin_delete("rg").result()
    assert c.resource.resource_groups.check_existence("rg") is False
    with pytest.raises(ResourceNotFoundError) as err:
        c.network.virtual_networks.get("rg", "vnet")
    assert err.value.error.code == "ResourceGroupNotFound"
    assert [r.name for r in c.resource.resources.list()] == ["vnet"]  # the other group's is untouched


def test_lro_reads_in_progress_on_the_first_poll_and_succeeded_after(arm):
    c, app = arm
    world.group(c)
    started = c.network.virtual_networks.begin_create_or_update("rg", "vnet", nm.VirtualNetwork(
        location="eastus", address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"])), polling=False).result()
    assert started.provisioning_state == "Creating"
    assert c.network.virtual_networks.get("rg", "vnet").provisioning_state == "Creating"
    before = len(app.calls)
    world.pip(c)
    polls = [p for m, p in app.calls[before:] if "/operations/" in p]
    assert len(polls) == 2  # InProgress, then Succeeded
    assert c.network.public_ip_addresses.get("rg", "pip").provisioning_state == "Succeeded"
    before = len(app.calls)
    c.network.public_ip_addresses.begin_delete("rg", "pip").result()
    assert [m for m, _ in app.calls[before:]][0] == "DELETE"
    assert sum(1 for _, p in app.calls[before:] if "/operations/" in p) == 2
    with pytest.raises(ResourceNotFoundError):
        c.network.public_ip_addresses.get("rg", "pip")


def test_generic_resources_list_by_group_and_subscription_with_filters(c):
    world.group(c, "rg", **{"lepton-stack": "web"})
    world.vnet(c)
    world.pip(c)
    world.nsg(c)
    c.network.public_ip_addresses.update_tags("rg", "pip", nm.TagsObject(tags={"lepton-stack": "web"}))
    names = [r.name for r in c.resource.resources.list_by_resource_group("rg")]
    assert names == ["nsg", "pip", "vnet"]  # three items over two pages
    assert [r.type for r in c.resource.resources.list(filter="resourceType eq 'Microsoft.Network/virtualNetworks'")] \
        == ["Microsoft.Network/virtualNetworks"]
    tagged = list(c.resource.resources.list(filter="tagName eq 'lepton-stack' and tagValue eq 'web'"))
    assert [r.name for r in tagged] == ["pip"]
    with pytest.raises(HttpResponseError) as err:
        list(c.resource.resources.list(filter="tagName eq 'a' and resourceType eq 'Microsoft.Network/virtualNetworks'"))
    assert err.value.status_code == 400
    with pytest.raises(HttpResponseError) as err:
        list(c.resource.resources.list(filter="location eq 'eastus'"))
    assert err.value.status_code == 400


def test_resources_in_a_missing_group_or_parent(c):
    with pytest.raises(ResourceNotFoundError) as err:
        c.network.virtual_networks.get("nope", "vnet")
    assert err.value.error.code == "ResourceGroupNotFound"
    world.group(c)
    with pytest.raises(ResourceNotFoundError) as err:
        c.network.virtual_networks.get("rg", "vnet")
    assert err.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        c.network.subnets.get("rg", "vnet", "default")
    assert err.value.error.code == "ParentResourceNotFound"
    vnet_id = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet"
    assert c.resource.resources.check_existence_by_id(vnet_id, api_version="2026-03-01") is False
    world.vnet(c)
    assert c.resource.resources.check_existence_by_id(vnet_id, api_version="2026-03-01") is True
    assert c.resource.resources.get_by_id(vnet_id, api_version="2026-03-01").name == "vnet"
    c.network.virtual_networks.begin_delete("rg", "vnet").result()
    with pytest.raises(HttpResponseError) as err:
        c.network.virtual_networks.begin_create_or_update("rg", "vnet", nm.VirtualNetwork(
            address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]))).result()
    assert err.value.status_code == 400 and err.value.error.code == "LocationRequired"


def test_malformed_bodies_and_subscriptions_are_refused(c):
    bearer = {"Authorization": "Bearer sandbox", "Content-Type": "application/json"}
    world.group(c)
    vnet = f"{c.endpoint}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v"
    broken = requests.put(f"{vnet}?api-version=2026-03-01", data="{not json", headers=bearer, timeout=5)
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "InvalidRequestContent")
    not_object = requests.put(f"{vnet}?api-version=2026-03-01", data="[1]", headers=bearer, timeout=5)
    assert not_object.status_code == 400
    bad_sub = requests.get(f"{c.endpoint}/subscriptions/not-a-guid/resourcegroups?api-version=2025-04-01",
                           headers=bearer, timeout=5)
    assert (bad_sub.status_code, bad_sub.json()["error"]["code"]) == (400, "InvalidSubscriptionId")
    other_sub = requests.get(f"{c.endpoint}/subscriptions/{'1' * 8}-1111-1111-1111-{'1' * 12}/resourcegroups"
                             "?api-version=2025-04-01", headers=bearer, timeout=5)
    assert other_sub.status_code == 200 and other_sub.json()["value"] == []  # any GUID: its own, empty world


def test_top_sets_the_page_size(arm):
    c, app = arm
    for i in range(3):
        world.group(c, f"g{i}")
    assert [g.name for g in c.resource.resource_groups.list(top=1)] == ["g0", "g1", "g2"]
    assert sum(1 for m, p in app.calls if m == "GET" and p == GROUPS) == 3
