"""Microsoft.Network through azure-mgmt-network: VNets and subnets (inline and child), NSGs,
public IPs and Standard load balancers; computed back-references; in-use refusals."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network import models as nm

from tests.sandbox.azure import world


def _error(call) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as err:
        call()
    return err.value


def test_vnet_create_get_list_pages_update_delete(arm):
    c, app = arm
    world.group(c)
    for name in ("a", "b", "c"):
        created = world.vnet(c, name=name, subnets=("web", "db"))
        assert created.provisioning_state == "Succeeded" and created.resource_guid and created.etag
    got = c.network.virtual_networks.get("rg", "B")
    assert got.name == "b" and got.location == "eastus"
    assert {s.provisioning_state for s in got.subnets} == {"Succeeded"}
    assert c.network.subnets.get("rg", "b", "web").provisioning_state == "Succeeded"
    assert {s.name for s in got.subnets} == {"web", "db"}
    assert got.subnets[0].id.startswith(got.id + "/subnets/")
    assert [v.name for v in c.network.virtual_networks.list("rg")] == ["a", "b", "c"]
    assert [v.name for v in c.network.virtual_networks.list_all()] == ["a", "b", "c"]
    assert sum(1 for m, p in app.calls if m == "GET" and p.endswith("/virtualNetworks")) == 2 + 2  # 2 pages each
    c.network.virtual_networks.update_tags("rg", "a", nm.TagsObject(tags={"lepton-stack": "x"}))
    tagged = c.network.virtual_networks.get("rg", "a")
    assert tagged.tags == {"lepton-stack": "x"} and len(tagged.subnets) == 2  # a tag update keeps the subnets
    c.network.virtual_networks.begin_delete("rg", "a").result()
    with pytest.raises(ResourceNotFoundError):
        c.network.virtual_networks.get("rg", "a")
    with pytest.raises(ResourceNotFoundError):  # its subnets went with it
        c.network.subnets.get("rg", "a", "web")


def test_subnet_child_crud_and_address_rules(c):
    world.group(c)
    world.vnet(c)
    nsg = world.nsg(c)
    sub = c.network.subnets.begin_create_or_update("rg", "vnet", "apps", nm.Subnet(
        address_prefix="10.0.5.0/24", network_security_group=nm.NetworkSecurityGroup(id=nsg.id))).result()
    assert sub.provisioning_state == "Succeeded" and sub.network_security_group.id == nsg.id
    assert {s.name for s in c.network.virtual_networks.get("rg", "vnet").subnets} == {"default", "apps"}
    assert [s.name for s in c.network.subnets.list("rg", "vnet")] == ["apps", "default"]
    overlap = _error(lambda: c.network.subnets.begin_create_or_update(
        "rg", "vnet", "x", nm.Subnet(address_prefix="10.0.5.128/25")).result())
    assert overlap.status_code == 400 and overlap.error.code == "NetcfgSubnetRangesOverlap"
    outside = _error(lambda: c.network.subnets.begin_create_or_update(
        "rg", "vnet", "x", nm.Subnet(address_prefix="192.168.0.0/24")).result())
    assert outside.error.code == "NetcfgSubnetRangeOutsideVnet"
    bad = _error(lambda: c.network.subnets.begin_create_or_update(
        "rg", "vnet", "x", nm.Subnet(address_prefix="10.0.9.0/33")).result())
    assert bad.status_code == 400
    c.network.subnets.begin_delete("rg", "vnet", "apps").result()
    assert [s.name for s in c.network.virtual_networks.get("rg", "vnet").subnets] == ["default"]
    # an NSG a subnet uses is in use
    c.network.subnets.begin_create_or_update("rg", "vnet", "apps", nm.Subnet(
        address_prefix="10.0.5.0/24", network_security_group=nm.NetworkSecurityGroup(id=nsg.id))).result()
    assert _error(lambda: c.network.network_security_groups.begin_delete("rg", "nsg").result()).error.code == \
        "InUseNetworkSecurityGroupCannotBeDeleted"


def test_nsg_rules_defaults_and_validation(c):
    world.group(c)
    nsg = world.nsg(c, ports=(22, 443))
    assert [r.name for r in nsg.security_rules] == ["allow-22", "allow-443"]
    assert nsg.security_rules[1].id.endswith("/networkSecurityGroups/nsg/securityRules/allow-443")
    assert {r.name for r in nsg.default_security_rules} >= {"DenyAllInBound", "AllowVnetInBound"}
    bad = _error(lambda: c.network.network_security_groups.begin_create_or_update("rg", "bad", nm.NetworkSecurityGroup(
        location="eastus", security_rules=[nm.SecurityRule(name="r", protocol="Tcp", direction="Inbound",
                                                           access="Allow", priority=5000)])).result())
    assert bad.status_code == 400 and bad.error.code == "SecurityRuleInvalidPriority"
    twice = [nm.SecurityRule(name=n, protocol="Tcp", direction="Inbound", access="Allow", priority=100) for n in "ab"]
    clash = _error(lambda: c.network.network_security_groups.begin_create_or_update(
        "rg", "bad", nm.NetworkSecurityGroup(location="eastus", security_rules=twice)).result())
    assert clash.error.code == "SecurityRuleConflict"
    c.network.network_security_groups.begin_create_or_update("rg", "nsg", nm.NetworkSecurityGroup(
        location="eastus", security_rules=[])).result()
    assert c.network.network_security_groups.get("rg", "nsg").security_rules == []
    assert [n.name for n in c.network.network_security_groups.list("rg")] == ["nsg"]
    c.network.network_security_groups.begin_delete("rg", "nsg").result()
    assert list(c.network.network_security_groups.list("rg")) == []


def test_public_ip_standard_is_static_with_an_address(c):
    world.group(c)
    ip = world.pip(c)
    assert ip.ip_address and ip.public_ip_allocation_method == "Static" and ip.zones == ["1", "2", "3"]
    again = world.pip(c)  # an update keeps the address
    assert again.ip_address == ip.ip_address
    other = world.pip(c, name="pip2")
    assert other.ip_address != ip.ip_address
    dynamic = _error(lambda: c.network.public_ip_addresses.begin_create_or_update("rg", "dyn", nm.PublicIPAddress(
        location="eastus", sku=nm.PublicIPAddressSku(name="Standard"), public_ip_allocation_method="Dynamic")).result())
    assert dynamic.status_code == 400
    assert [p.name for p in c.network.public_ip_addresses.list_all()] == ["pip", "pip2"]


def test_load_balancer_sub_resources_and_references(c):
    world.group(c)
    ip = world.pip(c)
    lb = world.lb(c, ip)
    assert lb.sku.name == "Standard" and lb.provisioning_state == "Succeeded"
    fe = lb.frontend_ip_configurations[0]
    assert fe.id == lb.id + "/frontendIPConfigurations/fe" and fe.public_ip_address.id == ip.id
    assert fe.load_balancing_rules[0].id == lb.id + "/loadBalancingRules/tcp-80"
    assert lb.probes[0].id == lb.id + "/probes/probe"
    assert c.network.public_ip_addresses.get("rg", "pip").ip_configuration.id == fe.id
    # a rule pointing at a pool of another load balancer is refused
    wrong = world.lb_part("rg", "elsewhere", "backendAddressPools", "be")["id"]
    body = c.network.load_balancers.get("rg", "lb")
    body.load_balancing_rules[0].backend_address_pool = nm.SubResource(id=wrong)
    bad = _error(lambda: c.network.load_balancers.begin_create_or_update("rg", "lb", body).result())
    assert bad.status_code == 400 and bad.error.code == "InvalidResourceReference"
    missing_ip = _error(lambda: world.lb(c, nm.PublicIPAddress(id=ip.id + "-gone"), name="lb2"))
    assert missing_ip.error.code == "InvalidResourceReference"
    malformed = _error(lambda: world.lb(c, nm.PublicIPAddress(id="pip"), name="lb2"))
    assert malformed.error.code == "LinkedInvalidPropertyId"
    # the listener port changes in place
    moved = world.lb(c, ip, port=8080)
    assert [r.frontend_port for r in moved.load_balancing_rules] == [8080]
    assert [x.name for x in c.network.load_balancers.list("rg")] == ["lb"]


def test_in_use_refusals_and_back_references(c):
    s = world.stack(c)
    n = c.network
    pool = n.load_balancers.get("rg", "lb").backend_address_pools[0]
    assert len(pool.backend_ip_configurations) == 2  # the scale set's two instances
    assert "/virtualMachineScaleSets/web/virtualMachines/" in pool.backend_ip_configurations[0].id
    assert len(n.subnets.get("rg", "vnet", "default").ip_configurations) == 2
    refusals = {
        "LoadBalancerInUseByVirtualMachineScaleSet": lambda: n.load_balancers.begin_delete("rg", "lb").result(),
        "InUseSubnetCannotBeDeleted": lambda: n.subnets.begin_delete("rg", "vnet", "default").result(),
        "PublicIPAddressCannotBeDeleted": lambda: n.public_ip_addresses.begin_delete("rg", "pip").result(),
        "InUseNetworkSecurityGroupCannotBeDeleted":
            lambda: n.network_security_groups.begin_delete("rg", "nsg").result(),
    }
    for code, call in refusals.items():
        err = _error(call)
        assert (err.status_code, err.error.code) == (400, code)
    # the VNet's subnet cannot be dropped by a PUT either, nor the pool by a load balancer update
    vnet_put = _error(lambda: world.vnet(c, subnets=("other",)))
    assert vnet_put.error.code == "InUseSubnetCannotBeDeleted"
    body = n.load_balancers.get("rg", "lb")
    body.backend_address_pools, body.load_balancing_rules = [], []
    assert _error(lambda: n.load_balancers.begin_create_or_update("rg", "lb", body).result()).status_code == 400
    # a read-modify-write of the load balancer is accepted; back-references stay computed
    n.load_balancers.begin_create_or_update("rg", "lb", n.load_balancers.get("rg", "lb")).result()
    # once the scale set is gone, everything can go, in dependency order
    c.compute.virtual_machine_scale_sets.begin_delete("rg", "web").result()
    assert n.load_balancers.get("rg", "lb").backend_address_pools[0].backend_ip_configurations is None
    n.load_balancers.begin_delete("rg", "lb").result()
    n.public_ip_addresses.begin_delete("rg", "pip").result()
    n.subnets.begin_delete("rg", "vnet", "default").result()
    n.network_security_groups.begin_delete("rg", "nsg").result()
    assert s["vnet"].id and [r.name for r in c.resource.resources.list_by_resource_group("rg")] == ["vnet"]
