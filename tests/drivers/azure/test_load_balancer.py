"""load_balancer on Azure: a Standard public IP and load balancer in front of a scale set,
through the real driver and engine against the ARM emulator, checked with azure-mgmt-network
directly: the whole chain, in-place listener and health-check changes, https refused, ownership,
and a destroy that leaves nothing."""

from __future__ import annotations

import pytest

from lepton_cli.drivers.azure.load_balancer import lb_name
from lepton_cli.spec.loader import load_plan_text
from tests.drivers.azure.conftest import REGION

PIP, LB = "lb/azure.public_ip", "lb/azure.load_balancer"
STACK = """\
resources:
  web:
    kind: compute
    instance_type: Standard_B2s
    image: ubuntu-22.04
    count: 1
    ports: [8080, 9000]
  lb:
    kind: load_balancer
    target: web
    listeners: [{listeners}]
    health_check: {{path: {path}}}
"""
HTTP = "{port: 80, protocol: http, target_port: 8080}"


def stack(listeners: str = HTTP, path: str = "/healthz") -> str:
    return STACK.format(listeners=listeners, path=path)


def leftovers(azure) -> list[str]:
    """Public IPs and load balancers left in the stack's resource group, listed directly."""
    from azure.core.exceptions import ResourceNotFoundError

    network = azure.client("network")
    try:
        return ([p.name for p in network.public_ip_addresses.list(azure.group)]
                + [b.name for b in network.load_balancers.list(azure.group)])
    except ResourceNotFoundError:  # the resource group is gone, and everything in it
        return []


def test_balancer_chain_scale_set_joins_the_pool_no_op_and_destroy(azure):
    azure.converge(stack())
    network = azure.client("network")
    name = lb_name(azure.stack, "lb")
    ip = network.public_ip_addresses.get(azure.group, name)
    assert (ip.sku.name, ip.public_ip_allocation_method) == ("Standard", "Static")
    assert sorted(ip.zones) == ["1", "2", "3"]  # zone-redundant in a region with zones
    assert ip.dns_settings.domain_name_label == name
    assert ip.dns_settings.fqdn == f"{name}.{REGION}.cloudapp.azure.com"
    balancer = network.load_balancers.get(azure.group, name)
    assert balancer.sku.name == "Standard"
    (frontend,) = balancer.frontend_ip_configurations
    assert frontend.public_ip_address.id.lower() == ip.id.lower()
    (pool,) = balancer.backend_address_pools
    (probe,) = balancer.probes
    assert (probe.protocol, probe.port, probe.request_path) == ("Http", 8080, "/healthz")
    (rule,) = balancer.load_balancing_rules
    assert (rule.protocol, rule.frontend_port, rule.backend_port) == ("Tcp", 80, 8080)
    assert rule.probe.id.lower() == probe.id.lower() and rule.backend_address_pool.id.lower() == pool.id.lower()

    state = azure.store.read().primitives
    assert state[LB].outputs["backend_pool_id"] == pool.id
    assert state[PIP].outputs["fqdn"] == ip.dns_settings.fqdn and state[PIP].outputs["address"] == ip.ip_address
    scale_set = next(a for a in state if a.endswith("azure.vm_scale_set"))
    vmss = azure.client("compute").virtual_machine_scale_sets.get(azure.group, state[scale_set].properties["name"])
    pools = [p.id for nic in vmss.virtual_machine_profile.network_profile.network_interface_configurations
             for ipc in nic.ip_configurations for p in ipc.load_balancer_backend_address_pools or []]
    assert [p.lower() for p in pools] == [pool.id.lower()]

    azure.destroy(stack())
    assert leftovers(azure) == []


def test_health_check_path_changes_in_place(azure):
    azure.converge(stack())
    before = azure.store.read().primitives[LB].id
    plan = azure.plan(stack(path="/ready"))
    (change,) = plan.actionable
    assert (change.address, change.action.value, set(change.diff)) == (LB, "update", {"probe"})
    azure.converge(stack(path="/ready"))
    balancer = azure.client("network").load_balancers.get(azure.group, lb_name(azure.stack, "lb"))
    assert balancer.id == before and balancer.probes[0].request_path == "/ready"
    azure.destroy(stack(path="/ready"))


def test_listener_port_change_updates_the_rules_in_place(azure):
    azure.converge(stack())
    moved = stack(listeners="{port: 8081, protocol: http, target_port: 8080}, {port: 9000, protocol: tcp}")
    plan = azure.plan(moved)
    changes = {c.address: (c.action.value, set(c.diff)) for c in plan.actionable}
    assert changes[LB] == ("update", {"rules"})
    assert all(action == "update" for action, _ in changes.values())  # nothing replaced
    azure.converge(moved)
    balancer = azure.client("network").load_balancers.get(azure.group, lb_name(azure.stack, "lb"))
    assert sorted((r.frontend_port, r.backend_port) for r in balancer.load_balancing_rules) == [(8081, 8080),
                                                                                                 (9000, 9000)]
    assert balancer.probes[0].protocol == "Http"  # an http listener remains: the probe stays HTTP
    azure.destroy(moved)


def test_tcp_only_balancer_probes_by_tcp(azure):
    body = stack(listeners="{port: 9000, protocol: tcp}")
    azure.converge(body)
    (probe,) = azure.client("network").load_balancers.get(azure.group, lb_name(azure.stack, "lb")).probes
    assert (probe.protocol, probe.port, probe.request_path) == ("Tcp", 9000, None)
    azure.destroy(body)
    assert leftovers(azure) == []


def test_https_listener_is_a_validate_error(azure):
    body = stack(listeners="{port: 443, protocol: https, target_port: 8080, certificate: kv-cert}")
    loaded = load_plan_text(azure.text(body))
    problems = azure.driver().validate(loaded.stack, ["lb"])
    assert any("cannot terminate TLS" in p.summary and "protocol: tcp" in p.hint for p in problems)


def test_target_port_the_group_does_not_open_is_a_validate_error(azure):
    loaded = load_plan_text(azure.text(stack(listeners="{port: 80, protocol: http, target_port: 7000}")))
    (problem,) = azure.driver().validate(loaded.stack, ["lb"])
    assert "7000" in problem.summary


def test_a_foreign_balancer_with_the_wanted_name_is_refused_and_left_alone(azure):
    network = azure.client("network")
    azure.converge(stack().split("  lb:")[0])  # the scale set alone: the stack's resource group exists
    name = lb_name(azure.stack, "lb")
    network.public_ip_addresses.begin_create_or_update(azure.group, name, {
        "location": REGION, "sku": {"name": "Standard"}, "tags": {"team": "theirs"},
        "properties": {"publicIPAllocationMethod": "Static"}}).result()
    before = network.public_ip_addresses.get(azure.group, name).as_dict()
    result = azure.apply(azure.plan(stack()))
    assert not result.ok
    assert any("not owned by stack" in str(error) for error in result.failed.values())
    assert network.public_ip_addresses.get(azure.group, name).as_dict() == before
    assert PIP not in azure.store.read().primitives
    network.public_ip_addresses.begin_delete(azure.group, name).result()
    azure.destroy(stack())
    assert leftovers(azure) == []


def renamed(address: str, suffix: str = "-2"):
    """A patch of the expansion: `address`'s object under another name (as a newer lepton
    might name it), so its successor is created beside it and its users move over."""
    import dataclasses

    def patch(primitives):
        out = []
        for p in primitives:
            if p.address == address:
                props = {**p.properties, "name": p.properties["name"] + suffix}
                if "dns_label" in props:
                    props["dns_label"] = props["name"]
                p = dataclasses.replace(p, properties=props)
            out.append(p)
        return out
    return patch


def patched(azure, patch):
    """The fixture's plan/apply with the driver's expansion patched."""
    from lepton_cli.engine.executor import apply_plan
    from lepton_cli.engine.planner import make_plan

    def driver():
        d = azure.driver()
        expand = d.expand
        d.expand = lambda stack, names, ctx: patch(expand(stack, names, ctx))
        return {"azure": d}

    def plan(body):
        loaded = load_plan_text(azure.text(body))
        return make_plan(loaded.stack, driver(), azure.store.read(), plan_digest=loaded.digest,
                         resource_graph=loaded.graph)

    return plan, lambda p: apply_plan(p, driver(), azure.store, azure.store.read())


SCALE_SET = "web/azure.vm_scale_set"


@pytest.mark.parametrize("renamed_addresses, expected", [
    # The public IP's successor is made first; the balancer moves to it in place.
    ((PIP,), {PIP: "replace", LB: "update"}),
    # Both renamed: the new balancer is made first on the new address; the scale set moves to
    # its pool in place; then the old balancer and address go.
    ((PIP, LB), {PIP: "replace", LB: "replace", SCALE_SET: "update"}),
    # The balancer alone: its successor would need the same public IP, which serves one balancer
    # at a time, so the old one goes first, and with it the scale set that joins its pool.
    ((LB,), {LB: "replace", SCALE_SET: "replace"}),
])
def test_replacing_an_object_in_use_succeeds_in_one_apply(azure, renamed_addresses, expected):
    """Azure refuses to delete a public IP on a balancer, or a balancer whose pool a scale set
    joins, and lets a public IP serve one balancer: every order still works in one apply."""
    azure.converge(stack())
    old = {a: azure.store.read().primitives[a] for a in renamed_addresses}

    def patch(primitives):
        for address in renamed_addresses:
            primitives = renamed(address)(primitives)
        return primitives

    plan, apply = patched(azure, patch)
    changes = {c.address: c.action.value for c in plan(stack()).actionable}
    assert {a: changes.get(a) for a in expected} == expected
    result = apply(plan(stack()))
    assert result.ok, result.failed
    state = azure.store.read()
    assert not {a: d for a, d in state.deposed.items() if d}
    assert not plan(stack()).has_changes
    network = azure.client("network")
    names = {PIP: [p.name for p in network.public_ip_addresses.list(azure.group)],
             LB: [b.name for b in network.load_balancers.list(azure.group)]}
    for address, record in old.items():
        assert state.primitives[address].properties["name"] == record.properties["name"] + "-2"
        assert names[address] == [record.properties["name"] + "-2"]
    balancer = network.load_balancers.get(azure.group, state.primitives[LB].properties["name"])
    assert balancer.frontend_ip_configurations[0].public_ip_address.id.lower() == state.primitives[PIP].id.lower()
    assert state.primitives[SCALE_SET].properties["backend_pools"] == [state.primitives[LB].outputs["backend_pool_id"]]
    result = apply(azure.plan(stack(), destroy=True))
    assert result.ok, result.failed
    assert leftovers(azure) == []
