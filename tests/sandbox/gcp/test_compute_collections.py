"""Conformance of every Compute collection the GCP driver uses, through google-cloud-compute
(REST) only: create (waited both ways), get, paginated and filtered list, duplicate -> Conflict,
delete, missing -> NotFound, requestId idempotency."""

from __future__ import annotations

import uuid

import pytest
from google.api_core import exceptions

from tests.sandbox.gcp.compute_support import Compute, new_project, serve
from tests.sandbox.gcp.compute_world import KINDS, World

NAMES = list(KINDS)


@pytest.fixture(scope="module")
def endpoint():
    with serve() as (url, app):
        yield url, app


@pytest.fixture
def world(endpoint):
    return World(Compute(endpoint[0], new_project()))


def _name(kind: str, i: int) -> str:
    return f"c-{kind.replace('_', '-')}-{i}"


@pytest.mark.parametrize("kind", NAMES)
def test_create_get_list_delete(world, kind):
    spec = KINDS[kind]
    # create: the first through the SDK's op.result(), the others through the operations' wait
    first = world.insert(kind, spec.body(_name(kind, 0), world))
    assert first.status.name == "RUNNING"
    assert world.poll(kind, first).status.name == "RUNNING"  # the first get: still running
    first.result()  # polls again: DONE, no sleep needed
    assert first.done() and first.status.name == "DONE"
    for i in (1, 2):
        op = world.insert(kind, spec.body(_name(kind, i), world))
        assert world.wait(kind, op).status.name == "DONE"
    got = world.get(kind, _name(kind, 1))
    assert got.name == _name(kind, 1)
    assert got.self_link == world.compute.link(spec.path(_name(kind, 1)))
    assert int(got.id) > 0 and got.creation_timestamp and got.kind.startswith("compute#")

    mine = [r.name for r in world.list(kind) if r.name.startswith(f"c-{kind.replace('_', '-')}-")]
    assert mine == [_name(kind, i) for i in range(3)]
    pager = world.list(kind, max_results=2, filter=f'name eq "c-{kind.replace("_", "-")}-.*"')
    pages = [[r.name for r in page.items] for page in pager.pages]
    assert pages == [[_name(kind, 0), _name(kind, 1)], [_name(kind, 2)]]
    only = [r.name for r in world.list(kind, filter=f'name = "{_name(kind, 2)}"')]
    assert only == [_name(kind, 2)]
    others = [r.name for r in world.list(kind, filter=f'name != "{_name(kind, 2)}"') if r.name.startswith("c-")]
    assert _name(kind, 2) not in others and _name(kind, 0) in others

    with pytest.raises(exceptions.Conflict) as conflict:
        world.insert(kind, spec.body(_name(kind, 0), world))
    assert conflict.value.errors[0]["reason"] == "alreadyExists"

    world.wait(kind, world.delete(kind, _name(kind, 2)))
    with pytest.raises(exceptions.NotFound) as missing:
        world.get(kind, _name(kind, 2))
    assert missing.value.errors[0]["reason"] == "notFound"
    assert spec.path(_name(kind, 2)) in missing.value.message
    with pytest.raises(exceptions.NotFound):
        world.delete(kind, _name(kind, 2))


@pytest.mark.parametrize("kind", ["network", "manager", "backend_service", "global_forwarding_rule", "address"])
def test_request_id_makes_a_retried_create_idempotent(world, kind, endpoint):
    spec = KINDS[kind]
    rid = str(uuid.uuid4())
    first = world.insert(kind, spec.body("idem", world), request_id=rid)
    world.wait(kind, first)
    created = world.get(kind, "idem")
    again = world.insert(kind, spec.body("idem", world), request_id=rid)  # no Conflict: the same operation
    assert again.name == first.name
    assert world.get(kind, "idem").id == created.id
    world.wait(kind, world.delete(kind, "idem"))
    # the same request id never creates again, even once the object is gone
    world.insert(kind, spec.body("idem", world), request_id=rid)
    with pytest.raises(exceptions.NotFound):
        world.get(kind, "idem")


@pytest.mark.parametrize("bad", ["Upper", "1abc", "a" * 64, "trailing-", "under_score"])
def test_names_follow_the_rfc1035_rule(world, bad):
    with pytest.raises(exceptions.BadRequest) as err:
        world.insert("network", {"name": bad, "auto_create_subnetworks": False})
    assert err.value.errors[0]["reason"] == "invalid"
    world.wait("network", world.insert("network", {"name": "a" * 63, "auto_create_subnetworks": False}))


def test_a_request_id_must_be_a_uuid(world):
    with pytest.raises(exceptions.BadRequest):
        world.insert("network", {"name": "n", "auto_create_subnetworks": False}, request_id="not-a-uuid")


PATCHABLE = ["network", "subnetwork", "firewall", "manager", "autoscaler", "health_check", "region_health_check",
             "backend_service", "region_backend_service", "backend_bucket", "url_map", "target_http_proxy",
             "target_https_proxy", "global_forwarding_rule", "forwarding_rule"]
FINGERPRINTED = ["subnetwork", "manager", "backend_service", "region_backend_service", "url_map",
                 "target_http_proxy", "target_https_proxy", "global_forwarding_rule", "forwarding_rule"]


def _patch(world, kind, body):
    spec = KINDS[kind]
    name = world.links[kind].rsplit("/", 1)[1]
    ident = {"autoscaler": "autoscaler"}.get(kind, spec.field)
    return world.client(kind).patch(request={"project": world.compute.project, **spec.where(), ident: name,
                                             f"{spec.field}_resource": body})


@pytest.mark.parametrize("kind", PATCHABLE)
def test_patch_changes_only_what_it_names(world, kind):
    link = world.need(kind)
    name = link.rsplit("/", 1)[1]
    before = world.get(kind, name)
    world.wait(kind, _patch(world, kind, {"description": "patched"}))
    after = world.get(kind, name)
    assert after.description == "patched"
    assert after.id == before.id and after.creation_timestamp == before.creation_timestamp
    volatile = {"description", "fingerprint"}
    unchanged = lambda r: {k: v for k, v in type(r).to_dict(r).items() if k not in volatile}  # noqa: E731
    assert unchanged(after) == unchanged(before)


@pytest.mark.parametrize("kind", FINGERPRINTED)
def test_a_stale_fingerprint_is_precondition_failed(world, kind):
    name = world.need(kind).rsplit("/", 1)[1]
    stale = world.get(kind, name).fingerprint
    assert stale
    world.wait(kind, _patch(world, kind, {"description": "first", "fingerprint": stale}))
    fresh = world.get(kind, name).fingerprint
    assert fresh != stale
    with pytest.raises(exceptions.PreconditionFailed) as err:
        _patch(world, kind, {"description": "second", "fingerprint": stale})
    assert err.value.errors[0]["reason"] == "conditionNotMet"
    assert world.get(kind, name).description == "first"
