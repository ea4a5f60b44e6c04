"""Plans on Google Cloud end to end through the CLI, in the sandbox, checked with the
google-cloud SDKs directly: the web stack and the quick start unchanged but for `cloud: gcp`,
and a stack spread over AWS and GCP."""

from __future__ import annotations

import re

from tests.e2e.conftest import tagged_with_stack

REGION = "us-central1"


def _managed(gcp, name: str) -> list:
    return list(gcp.compute("RegionInstanceGroupManagers").list_managed_instances(
        request={"project": gcp.project, "region": REGION, "instance_group_manager": name}))


def test_web_stack_on_gcp_applies_noops_scales_moves_its_listener_and_destroys(lepton, sandbox_gcp):
    gcp = sandbox_gcp
    plan_file = lepton.copy_example("web-stack.yaml").name
    on_gcp = ("--var", "cloud=gcp")

    applied = lepton("apply", "-f", plan_file, *on_gcp, "--sandbox", "--yes", "--json").json()
    assert applied["ok"] is True
    outputs = applied["outputs"]
    assert re.fullmatch(r"http://\d+\.\d+\.\d+\.\d+", outputs["url"]), outputs
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", outputs["cdn"]), outputs

    # The group: a regional managed instance group over two zones, two instances, the named
    # port its backend service uses, instances tagged for the firewall.
    managers = gcp.compute("RegionInstanceGroupManagers")
    manager = managers.get(project=gcp.project, region=REGION, instance_group_manager="web-stack-web")
    assert manager.target_size == 2
    assert len(manager.distribution_policy.zones) == 2
    assert [(p.name, p.port) for p in manager.named_ports] == [("port-8080", 8080)]
    assert len(_managed(gcp, "web-stack-web")) == 2
    template = gcp.compute("InstanceTemplates").get(project=gcp.project,
                                                    instance_template=manager.instance_template.rsplit("/", 1)[-1])
    assert "web-stack-web" in template.properties.tags.items
    assert not any(c.access_configs for c in template.properties.network_interfaces)  # no public IPs

    # The load balancer: forwarding rule on 80 -> proxy -> url map -> backend service on the
    # group's named port, health-checked on /healthz:8080, admitted by a firewall rule from
    # Google's health-check ranges only.
    rules = [r for r in gcp.compute("GlobalForwardingRules").list(project=gcp.project)
             if r.name.startswith("web-stack-web-lb")]
    (rule,) = rules
    assert rule.port_range == "80-80" and outputs["url"] == f"http://{rule.I_p_address}"
    proxy = gcp.compute("TargetHttpProxies").get(project=gcp.project, target_http_proxy=rule.target.rsplit("/", 1)[-1])
    url_map = gcp.compute("UrlMaps").get(project=gcp.project, url_map=proxy.url_map.rsplit("/", 1)[-1])
    service = gcp.compute("BackendServices").get(project=gcp.project,
                                                 backend_service=url_map.default_service.rsplit("/", 1)[-1])
    assert service.port_name == "port-8080"
    assert [b.group.rsplit("/", 1)[-1] for b in service.backends] == ["web-stack-web"]
    check = gcp.compute("HealthChecks").get(project=gcp.project, health_check=service.health_checks[0].rsplit("/", 1)[-1])
    assert check.http_health_check.request_path == "/healthz" and check.http_health_check.port == 8080
    firewalls = {f.name: f for f in gcp.compute("Firewalls").list(project=gcp.project)
                 if f.name.startswith("web-stack-")}
    opened = {cidr for f in firewalls.values() for cidr in f.source_ranges}
    assert "0.0.0.0/0" not in opened, firewalls
    assert {"35.191.0.0/16", "130.211.0.0/22"} <= opened

    # The bucket, private and versioned, behind a CDN-enabled backend bucket.
    bucket = gcp.storage().get_bucket(outputs["bucket"])
    assert bucket.versioning_enabled is True
    assert bucket.iam_configuration.public_access_prevention == "enforced"
    assert bucket.labels["lepton-stack"] == "web-stack"
    (backend_bucket,) = [b for b in gcp.compute("BackendBuckets").list(project=gcp.project)
                         if b.name.startswith("web-stack-assets-cdn")]
    assert backend_bucket.bucket_name == outputs["bucket"] and backend_bucket.enable_cdn is True
    assert backend_bucket.cdn_policy.default_ttl == 3600

    assert "No changes" in lepton("plan", "-f", plan_file, *on_gcp, "--sandbox", "--detailed-exitcode").stdout

    # Scaling is a resize of the group in place, nothing else.
    scaled = lepton("plan", "-f", plan_file, *on_gcp, "--var", "web_count=3", "--sandbox", "--json",
                    "--detailed-exitcode", check=2).json()
    assert scaled["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}, scaled
    (change,) = scaled["changes"]
    assert change["address"] == "web/gcp.region_instance_group_manager" and change["action"] == "update"
    lepton("apply", "-f", plan_file, *on_gcp, "--var", "web_count=3", "--sandbox", "--yes")
    assert managers.get(project=gcp.project, region=REGION, instance_group_manager="web-stack-web").target_size == 3
    assert len(_managed(gcp, "web-stack-web")) == 3

    # A listener port moves in one apply (a new forwarding rule; the old one goes), the rest stays.
    moved = ("--var", "web_count=3", "--var", "lb_port=8081")
    lepton("apply", "-f", plan_file, *on_gcp, *moved, "--sandbox", "--yes")
    (rule,) = [r for r in gcp.compute("GlobalForwardingRules").list(project=gcp.project)
               if r.name.startswith("web-stack-web-lb")]
    assert rule.port_range == "8081-8081"
    assert "No changes" in lepton("plan", "-f", plan_file, *on_gcp, *moved, "--sandbox").stdout

    lepton("destroy", "-f", plan_file, *on_gcp, *moved, "--sandbox", "--yes")
    assert gcp.stack_objects("web-stack") == []
    assert lepton("state", "list", "-f", plan_file, "--sandbox").stdout.strip() == ""


def test_quickstart_on_gcp_applies_noops_scales_and_destroys(lepton, sandbox_gcp):
    gcp = sandbox_gcp
    original = lepton.copy_example("quickstart.yaml").read_text()  # unchanged but for the cloud
    plan = lepton.write("quickstart.yaml", original.replace("cloud: aws\n  region: us-east-1", "cloud: gcp")).name

    applied = lepton("apply", "-f", plan, "--sandbox", "--yes")
    assert "Apply complete" in applied.stdout
    bucket_name = lepton("output", "bucket", "-f", plan, "--sandbox").stdout.strip()
    assert bucket_name.startswith("quickstart-assets-")
    bucket = gcp.storage().get_bucket(bucket_name)
    assert bucket.versioning_enabled is True
    assert [(r["action"]["type"], r["condition"]["age"], r["condition"]["matchesPrefix"])
            for r in bucket.lifecycle_rules] == [("Delete", 7, ["tmp/"])]
    manager = gcp.compute("RegionInstanceGroupManagers").get(project=gcp.project, region=REGION,
                                                             instance_group_manager="quickstart-web")
    assert manager.target_size == 2
    # allow_from opens the ports to those ranges only.
    (rule,) = [f for f in gcp.compute("Firewalls").list(project=gcp.project) if f.name.startswith("quickstart-web")]
    assert list(rule.source_ranges) == ["10.0.0.0/8"] and [a.ports for a in rule.allowed] == [["8080"]]

    assert "No changes" in lepton("plan", "-f", plan, "--sandbox", "--detailed-exitcode").stdout
    scaled = lepton("plan", "-f", plan, "--sandbox", "--var", "web_count=1", "--json", "--detailed-exitcode",
                    check=2).json()
    assert [(c["address"], c["action"]) for c in scaled["changes"]] == [
        ("web/gcp.region_instance_group_manager", "update")]

    lepton("destroy", "-f", plan, "--sandbox", "--yes")
    assert gcp.stack_objects("quickstart") == []


MIXED = """\
stack: {stack}
defaults: {{cloud: gcp, region: us-central1}}
resources:
  assets:
    kind: bucket
    cloud: aws
    region: us-east-1
  web:
    kind: compute
    size: {{cpus: 2, memory_gb: 4}}
    count: 1
    ports: [8080]
  web-lb:
    kind: load_balancer
    target: web
    listeners: [{{port: 80, target_port: 8080}}]
  edge:
    kind: cdn
    cloud: aws
    origin: web-lb
outputs:
  site: ${{edge.domain}}
  origin: ${{web-lb.address}}
"""


def test_a_stack_spread_over_aws_and_gcp_applies_noops_and_destroys(lepton, sandbox_aws, sandbox_gcp):
    stack = "mixed-clouds"
    plan = lepton.write("lepton.yaml", MIXED.format(stack=stack)).name
    applied = lepton("apply", "-f", plan, "--sandbox", "--yes", "--json").json()
    assert applied["ok"] is True
    outputs = applied["outputs"]
    assert outputs["site"].endswith(".cloudfront.net")

    # CloudFront's origin is the GCP load balancer's address.
    cloudfront = sandbox_aws("cloudfront")
    (summary,) = [d for d in cloudfront.list_distributions()["DistributionList"]["Items"]
                  if d["DomainName"] == outputs["site"]]
    config = cloudfront.get_distribution_config(Id=summary["Id"])["DistributionConfig"]
    assert config["Origins"]["Items"][0]["DomainName"] == outputs["origin"]
    assert sandbox_gcp.compute("RegionInstanceGroupManagers").get(
        project=sandbox_gcp.project, region=REGION, instance_group_manager=f"{stack}-web").target_size == 1

    assert "No changes" in lepton("plan", "-f", plan, "--sandbox", "--detailed-exitcode").stdout
    lepton("destroy", "-f", plan, "--sandbox", "--yes")
    assert sandbox_gcp.stack_objects(stack) == []
    assert tagged_with_stack(sandbox_aws, stack) == []
