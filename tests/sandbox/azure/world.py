"""Builders for the resources the conformance tests need, through the SDKs' own models."""

from __future__ import annotations

from typing import Any

from azure.mgmt.compute import models as cm
from azure.mgmt.network import models as nm

from tests.sandbox.azure.support import SUB, Clients

LOCATION = "eastus"


def lb_part(group: str, lb: str, part: str, name: str) -> dict:
    base = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network/loadBalancers/{lb}"
    return {"id": f"{base}/{part}/{name}"}


def group(c: Clients, name: str = "rg", **tags: str) -> Any:
    return c.resource.resource_groups.create_or_update(name, {"location": LOCATION, "tags": tags})


def nsg(c: Clients, rg: str = "rg", name: str = "nsg", ports: tuple[int, ...] = (22,)) -> Any:
    rules = [nm.SecurityRule(name=f"allow-{p}", protocol="Tcp", direction="Inbound", access="Allow", priority=100 + i,
                             source_address_prefix="10.0.0.0/8", source_port_range="*",
                             destination_address_prefix="*", destination_port_range=str(p))
             for i, p in enumerate(ports)]
    return c.network.network_security_groups.begin_create_or_update(
        rg, name, nm.NetworkSecurityGroup(location=LOCATION, security_rules=rules)).result()


def vnet(c: Clients, rg: str = "rg", name: str = "vnet", subnets: tuple[str, ...] = ("default",)) -> Any:
    return c.network.virtual_networks.begin_create_or_update(rg, name, nm.VirtualNetwork(
        location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]),
        subnets=[nm.Subnet(name=s, address_prefix=f"10.0.{i}.0/24") for i, s in enumerate(subnets)])).result()


def pip(c: Clients, rg: str = "rg", name: str = "pip") -> Any:
    return c.network.public_ip_addresses.begin_create_or_update(rg, name, nm.PublicIPAddress(
        location=LOCATION, sku=nm.PublicIPAddressSku(name="Standard"), public_ip_allocation_method="Static",
        zones=["1", "2", "3"])).result()


def lb(c: Clients, public_ip: Any, rg: str = "rg", name: str = "lb", port: int = 80) -> Any:
    part = lambda p, n: lb_part(rg, name, p, n)  # noqa: E731
    return c.network.load_balancers.begin_create_or_update(rg, name, nm.LoadBalancer(
        location=LOCATION, sku=nm.LoadBalancerSku(name="Standard"),
        frontend_ip_configurations=[nm.FrontendIPConfiguration(
            name="fe", public_ip_address=nm.PublicIPAddress(id=public_ip.id))],
        backend_address_pools=[nm.BackendAddressPool(name="be")],
        probes=[nm.Probe(name="probe", protocol="Tcp", port=port)],
        load_balancing_rules=[nm.LoadBalancingRule(
            name=f"tcp-{port}", protocol="Tcp", frontend_port=port, backend_port=port,
            frontend_ip_configuration=nm.SubResource(id=part("frontendIPConfigurations", "fe")["id"]),
            backend_address_pool=nm.SubResource(id=part("backendAddressPools", "be")["id"]),
            probe=nm.SubResource(id=part("probes", "probe")["id"]))])).result()


def vmss_model(subnet_id: str, capacity: int = 2, pool_id: str | None = None, nsg_id: str | None = None,
               size: str = "Standard_B2s", version: str = "latest", mode: str = "Manual",
               zones: list[str] | None = None) -> Any:
    ipc = cm.VirtualMachineScaleSetIPConfiguration(
        name="ipc", subnet=cm.ApiEntityReference(id=subnet_id),
        load_balancer_backend_address_pools=[cm.SubResource(id=pool_id)] if pool_id else None)
    return cm.VirtualMachineScaleSet(
        location=LOCATION, sku=cm.Sku(name=size, capacity=capacity), zones=zones or ["1", "2", "3"],
        orchestration_mode="Uniform", upgrade_policy=cm.UpgradePolicy(mode=mode),
        virtual_machine_profile=cm.VirtualMachineScaleSetVMProfile(
            storage_profile=cm.VirtualMachineScaleSetStorageProfile(image_reference=cm.ImageReference(
                publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version=version)),
            os_profile=cm.VirtualMachineScaleSetOSProfile(
                computer_name_prefix="web", admin_username="lepton", custom_data="IyEvYmluL3NoCmVjaG8gaGk=",
                linux_configuration=cm.LinuxConfiguration(disable_password_authentication=True, ssh=cm.SshConfiguration(
                    public_keys=[cm.SshPublicKey(path="/home/lepton/.ssh/authorized_keys",
                                                 key_data="ssh-ed25519 AAAAC3 x")]))),
            network_profile=cm.VirtualMachineScaleSetNetworkProfile(network_interface_configurations=[
                cm.VirtualMachineScaleSetNetworkConfiguration(
                    name="nic", primary=True, ip_configurations=[ipc],
                    network_security_group=cm.SubResource(id=nsg_id) if nsg_id else None)])))


def vmss(c: Clients, subnet_id: str, rg: str = "rg", name: str = "web", **kwargs: Any) -> Any:
    model = vmss_model(subnet_id, **kwargs)
    return c.compute.virtual_machine_scale_sets.begin_create_or_update(rg, name, model).result()


def stack(c: Clients, rg: str = "rg") -> dict[str, Any]:
    """A group with an NSG, a VNet, a public IP, a load balancer and a scale set in its pool."""
    group(c, rg)
    out = {"nsg": nsg(c, rg), "vnet": vnet(c, rg), "pip": pip(c, rg)}
    out["lb"] = lb(c, out["pip"], rg)
    out["vmss"] = vmss(c, out["vnet"].subnets[0].id, rg, pool_id=out["lb"].backend_address_pools[0].id,
                       nsg_id=out["nsg"].id)
    return out
