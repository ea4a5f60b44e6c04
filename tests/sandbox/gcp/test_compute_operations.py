"""Operations: every mutation answers an Operation that completes asynchronously (RUNNING,
then DONE on a later poll), `wait` returns it DONE, and a failed create reports its error the
way ExtendedOperation expects."""

from __future__ import annotations

import re

import pytest
from google.api_core import exceptions

from tests.sandbox.gcp.compute_support import Compute, serve
from tests.sandbox.gcp.compute_world import REGION, World, template


@pytest.fixture(scope="module")
def slow_ops():
    """The default emulator: operations read RUNNING on the first get, as the real API's often do."""
    with serve() as (url, app):
        yield url, app


@pytest.fixture(scope="module")
def fast_ops():
    """`make_app(running_polls=0)`: DONE on the first get, so `op.result()` never sleeps."""
    with serve(running_polls=0) as (url, app):
        yield url, app


def _gets(app, project: str) -> int:
    return sum(1 for method, path in app.calls if method == "GET" and f"/projects/{project}/" in path
               and "/operations/" in path)


def test_an_operation_reads_running_then_done(slow_ops):
    url, app = slow_ops
    compute = Compute(url)
    op = compute.networks.insert_unary(project=compute.project,
                                       network_resource={"name": "net", "auto_create_subnetworks": False})
    assert op.status.name == "RUNNING"
    assert re.fullmatch(r"operation-\d{13}-[0-9a-f]+-[0-9a-f]+", op.name)
    assert op.kind == "compute#operation" and op.operation_type == "insert"
    assert op.target_link == compute.link("global/networks/net")
    assert op.target_id == compute.networks.get(project=compute.project, network="net").id
    assert op.self_link == compute.link(f"global/operations/{op.name}")
    ops = compute.global_operations
    assert ops.get(project=compute.project, operation=op.name).status.name == "RUNNING"
    done = ops.get(project=compute.project, operation=op.name)
    assert done.status.name == "DONE" and done.progress == 100 and done.end_time
    assert [o.name for o in ops.list(request={"project": compute.project})] == [op.name]


def test_result_polls_until_done(slow_ops):
    url, app = slow_ops
    compute = Compute(url)
    before = _gets(app, compute.project)
    op = compute.networks.insert(project=compute.project,
                                 network_resource={"name": "net", "auto_create_subnetworks": False})
    op.result()
    assert op.done() and _gets(app, compute.project) - before == 2  # RUNNING once, then DONE


def test_wait_returns_done_at_once(slow_ops):
    url, app = slow_ops
    compute = Compute(url)
    world = World(compute)
    op = world.insert("subnetwork", {"name": "s", "network": world.need("network"), "ip_cidr_range": "10.9.0.0/24"})
    assert op.status.name == "RUNNING"
    waited = compute.region_operations.wait(project=compute.project, region=REGION, operation=op.name)
    assert waited.status.name == "DONE"
    assert waited.region == compute.link(f"regions/{REGION}")
    assert waited.self_link == compute.link(f"regions/{REGION}/operations/{op.name}")


def test_a_fast_emulator_completes_on_the_first_poll(fast_ops):
    url, app = fast_ops
    compute = Compute(url)
    before = _gets(app, compute.project)
    compute.networks.insert(project=compute.project,
                            network_resource={"name": "net", "auto_create_subnetworks": False}).result()
    assert _gets(app, compute.project) - before == 1


def test_a_create_that_fails_late_fails_its_operation(fast_ops):
    compute = Compute(fast_ops[0])
    world = World(compute)
    op = world.insert("template", template("tpl", world, image="no-such-family"))
    assert op.status.name == "RUNNING"  # accepted...
    with pytest.raises(exceptions.NotFound) as err:
        op.result()  # ...then failed
    assert err.value.message == "NOT FOUND"  # httpErrorMessage, as the real API words it
    assert "projects/ubuntu-os-cloud/global/images/family/no-such-family" in err.value.errors[0].message
    failed = compute.global_operations.get(project=compute.project, operation=op.name)
    assert failed.http_error_status_code == 404 and failed.error.errors[0].message
    with pytest.raises(exceptions.NotFound):
        world.get("template", "tpl")


def test_unknown_operation_is_not_found(fast_ops):
    compute = Compute(fast_ops[0])
    with pytest.raises(exceptions.NotFound):
        compute.global_operations.get(project=compute.project, operation="operation-1-ab-cd")
    with pytest.raises(exceptions.NotFound):
        compute.region_operations.wait(project=compute.project, region=REGION, operation="operation-1-ab-cd")


def test_concurrent_creates_of_one_name_make_exactly_one(fast_ops):
    from concurrent.futures import ThreadPoolExecutor

    compute = Compute(fast_ops[0])

    def create(i: int) -> str:
        try:
            compute.networks.insert(project=compute.project,
                                    network_resource={"name": "race", "auto_create_subnetworks": False}).result()
            return "created"
        except exceptions.Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(create, range(16)))
    assert outcomes.count("created") == 1 and outcomes.count("conflict") == 15
    assert [n.name for n in compute.networks.list(project=compute.project)] == ["race"]
