"""The operation graph the executor walks: which cloud operation waits for which.

Nodes are `(APPLY, key)` (a create, an update, or the create half of a replace) and
`(DELETE, key)` (a delete, or the delete half of a replace); `key` is a change's key.
Edges point from an operation to what it waits for:

- an APPLY waits for the APPLY of every changed primitive it references;
- a DELETE waits until every primitive that, *according to state*, references the object has
  stopped referencing it (its update or its successor's create is done) or is gone (its delete
  is done), so the cloud never sees a delete of an object still in use;
- a create-before-destroy replace deletes its predecessor after creating the successor; a
  destroy-before-create replace creates after deleting;
- softly, a resource's objects that are going away are deleted after that resource's new
  and updated objects are done (a load balancer's new target group is attached and its
  listener switched before the old one is detached), unless that would make a cycle.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping

from lepton_cli.engine.model import Action, Change
from lepton_cli.errors import Diagnostic, LeptonError

APPLY, DELETE = "apply", "delete"
Node = tuple[str, str]  # (APPLY | DELETE, change key)


def resource_of(address: str) -> str:
    """The resource part of a primitive address: `web` in `web/aws.autoscaling_group`."""
    return address.split("/", 1)[0]


def closure(roots: Iterable[str], edges: Mapping[str, Iterable[str]]) -> set[str]:
    """`roots` and everything reachable from them along `edges`."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        item = todo.pop()
        if item not in seen:
            seen.add(item)
            todo.extend(edges.get(item, ()))
    return seen


def invert(edges: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """`a -> needs b` becomes `b -> needed by a`."""
    inverted: dict[str, set[str]] = {}
    for source, targets in edges.items():
        for target in targets:
            inverted.setdefault(target, set()).add(source)
    return inverted


def static_order(edges: Mapping[str, Iterable[str]], what: str) -> list[str]:
    """Every key after those it needs; a cycle is a clear error naming it."""
    try:
        return list(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as exc:
        raise LeptonError(Diagnostic(summary=f"{what} depend on each other in a cycle",
                                     detail=" -> ".join(map(str, exc.args[1])),
                                     hint="this is a lepton bug; please report it")) from None


def operation_graph(changes: Iterable[Change], referrers: Mapping[str, Iterable[str]]) -> dict[Node, set[Node]]:
    """node -> the nodes it waits for. `referrers` maps an address to the addresses that, in
    state, reference it.

    Hard edges (references, the two halves of a replace, deletes after their referrers'
    deletes) always hold; the waits that keep things in service (a delete after its referrers
    switched away, removed objects after their resource's new ones) are added in that order
    wherever they make no cycle.
    """
    active = [c for c in changes if c.action is not Action.NOOP]
    current = {c.address: c for c in active if c.deposed is None}
    deposed_of: dict[str, list[Change]] = {}
    for c in active:
        if c.deposed is not None:
            deposed_of.setdefault(c.address, []).append(c)
    graph: dict[Node, set[Node]] = {}
    soft: list[tuple[Node, Node]] = []
    new_by_resource: dict[str, list[Node]] = {}

    for c in active:
        if _has_apply(c):
            waits = {(APPLY, d) for d in c.depends_on if _has_apply(current.get(d))}
            if c.action is Action.REPLACE and not c.create_first:
                waits.add((DELETE, c.key))
            graph[(APPLY, c.key)] = waits
            # Its objects as they will be: created, replacing, or updated in place (a listener
            # switched to the new target group) before its removed objects go.
            if c.action in (Action.CREATE, Action.UPDATE) or c.create_first:
                new_by_resource.setdefault(c.resource, []).append((APPLY, c.key))
        if c.action in (Action.DELETE, Action.REPLACE):
            node = (DELETE, c.key)
            waits = {(APPLY, c.key)} if c.create_first else set()
            for r in referrers.get(c.address, ()):
                other = current.get(r)
                if other is not None and other.key != c.key:
                    if other.action in (Action.DELETE, Action.REPLACE):
                        waits.add((DELETE, other.key))
                    if other.action in (Action.UPDATE, Action.REPLACE):
                        soft.append((node, (APPLY, other.key)))
                waits |= {(DELETE, d.key) for d in deposed_of.get(r, ())}
            graph[node] = waits
    for c in active:
        if c.action is Action.DELETE:
            soft += [((DELETE, c.key), new) for new in new_by_resource.get(c.resource, ())]
    for node, wait_for in soft:
        if node not in closure([wait_for], graph):
            graph[node].add(wait_for)
    return graph


def referrers(changes: Iterable[Change], recorded: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """address -> what references it: as state records, plus what each object being deleted
    uses as the plan read it (objects a killed run never recorded have no record to go by)."""
    found = {address: set(users) for address, users in recorded.items()}
    for c in changes:
        if c.action is Action.DELETE:
            for used in c.depends_on:
                found.setdefault(used, set()).add(c.address)
    return found


def _has_apply(c: Change | None) -> bool:
    return c is not None and c.deposed is None and c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE)


def check_acyclic(graph: Mapping[Node, Iterable[Node]]) -> graphlib.TopologicalSorter:
    """A prepared sorter for the executor; a cycle is a lepton bug, reported before anything runs."""
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(f"{kind} {key}" for kind, key in exc.args[1])
        raise LeptonError(Diagnostic(summary="the plan's operations wait for each other in a cycle; nothing was changed",
                                     detail=cycle, hint="this is a lepton bug; please report it")) from None
    return sorter
