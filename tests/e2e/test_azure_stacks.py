"""Plans on Azure end to end through the CLI, in the sandbox (the project's ARM emulator and
Azurite), checked with the azure-mgmt SDKs directly: the web stack and the quick start unchanged
but for `cloud: azure`."""

from __future__ import annotations

REGION = "eastus"


def test_web_stack_on_azure_applies_noops_scales_moves_its_listener_and_destroys(lepton, sandbox_azure):
    az = sandbox_azure
    plan_file = lepton.copy_example("web-stack.yaml").name
    on_azure = ("--var", "cloud=azure")
    group = f"lepton-web-stack-{REGION}"

    applied = lepton("apply", "-f", plan_file, *on_azure, "--sandbox", "--yes", "--json").json()
    assert applied["ok"] is True
    outputs = applied["outputs"]
    assert outputs["url"].startswith("http://") and outputs["cdn"].endswith(".azurefd.net"), outputs

    # The scale set: two instances over two zones, in the load balancer's backend pool.
    compute = az.client("compute")
    (scale_set,) = [s for s in compute.virtual_machine_scale_sets.list(group) if s.name == "web-stack-web"]
    assert scale_set.sku.capacity == 2 and sorted(scale_set.zones) == ["1", "2"]
    assert len(list(compute.virtual_machine_scale_set_vms.list(group, scale_set.name))) == 2
    (nic,) = scale_set.virtual_machine_profile.network_profile.network_interface_configurations
    pools = [p.id for c in nic.ip_configurations for p in (c.load_balancer_backend_address_pools or [])]
    network = az.client("network")
    (balancer,) = list(network.load_balancers.list(group))
    assert pools == [balancer.backend_address_pools[0].id]
    (rule,) = balancer.load_balancing_rules
    assert (rule.frontend_port, rule.backend_port) == (80, 8080)
    (probe,) = balancer.probes
    assert probe.request_path == "/healthz" and probe.port == 8080

    # The world reaches the instances only through the balancer's listener: its target port,
    # nothing else (the instances have no public address).
    opened = [port for nsg in network.network_security_groups.list(group) for r in nsg.security_rules
              if r.access == "Allow" and r.direction == "Inbound" and r.source_address_prefix in ("*", "Internet", "0.0.0.0/0")
              for port in [r.destination_port_range, *(r.destination_port_ranges or [])] if port]
    assert opened == ["8080"], opened
    assert nic.ip_configurations[0].public_ip_address_configuration is None

    # The bucket: a storage account with versioning on, no public blob access.
    storage = az.client("storage")
    account = storage.storage_accounts.get_properties(group, outputs["bucket"])
    assert account.allow_blob_public_access is False
    assert storage.blob_services.get_service_properties(group, account.name).is_versioning_enabled is True

    assert "No changes" in lepton("plan", "-f", plan_file, *on_azure, "--sandbox", "--detailed-exitcode").stdout

    # Scaling is an in-place capacity update of the scale set, nothing else.
    scaled = lepton("plan", "-f", plan_file, *on_azure, "--var", "web_count=3", "--sandbox", "--json",
                    "--detailed-exitcode", check=2).json()
    assert [(c["address"], c["action"]) for c in scaled["changes"]] == [("web/azure.vm_scale_set", "update")]
    lepton("apply", "-f", plan_file, *on_azure, "--var", "web_count=3", "--sandbox", "--yes")
    assert compute.virtual_machine_scale_sets.get(group, "web-stack-web").sku.capacity == 3
    assert len(list(compute.virtual_machine_scale_set_vms.list(group, "web-stack-web"))) == 3

    # A listener's port changes in one apply.
    moved = ("--var", "web_count=3", "--var", "lb_port=8081")
    lepton("apply", "-f", plan_file, *on_azure, *moved, "--sandbox", "--yes")
    (balancer,) = list(network.load_balancers.list(group))
    assert [r.frontend_port for r in balancer.load_balancing_rules] == [8081]
    assert "No changes" in lepton("plan", "-f", plan_file, *on_azure, *moved, "--sandbox").stdout

    lepton("destroy", "-f", plan_file, *on_azure, *moved, "--sandbox", "--yes")
    assert az.groups("web-stack") == []
    assert lepton("state", "list", "-f", plan_file, "--sandbox").stdout.strip() == ""


def test_quickstart_on_azure_applies_noops_scales_and_destroys(lepton, sandbox_azure):
    az = sandbox_azure
    original = lepton.copy_example("quickstart.yaml").read_text()  # unchanged but for the cloud
    plan = lepton.write("quickstart.yaml", original.replace("cloud: aws\n  region: us-east-1", "cloud: azure")).name
    group = f"lepton-quickstart-{REGION}"

    assert "Apply complete" in lepton("apply", "-f", plan, "--sandbox", "--yes").stdout
    account = lepton("output", "bucket", "-f", plan, "--sandbox").stdout.strip()
    storage = az.client("storage")
    policy = storage.management_policies.get(group, account, "default")
    (rule,) = policy.policy.rules
    assert rule.definition.actions.base_blob.delete.days_after_modification_greater_than == 7
    assert [p.endswith("tmp/") for p in rule.definition.filters.prefix_match] == [True]
    assert az.client("compute").virtual_machine_scale_sets.get(group, "quickstart-web").sku.capacity == 2

    assert "No changes" in lepton("plan", "-f", plan, "--sandbox", "--detailed-exitcode").stdout
    scaled = lepton("plan", "-f", plan, "--sandbox", "--var", "web_count=1", "--json", "--detailed-exitcode",
                    check=2).json()
    assert [(c["address"], c["action"]) for c in scaled["changes"]] == [("web/azure.vm_scale_set", "update")]

    lepton("destroy", "-f", plan, "--sandbox", "--yes")
    assert az.groups("quickstart") == []
