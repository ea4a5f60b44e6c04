"""Change sets: a Plan saved by `plan -o`, applied exactly by `apply CHANGES`, or refused as
stale when the state or the plan file moved on since it was saved.

The file is JSON; Refs, Templates and unknown values are encoded losslessly as `{"$ref": ...}`,
`{"$template": ...}` and `{"$unknown": true}`. It holds no credentials (plans never do), and no
sensitive value: those are sealed (engine/sensitive.py), and `apply CHANGES` rebuilds them from
the variables given again, refusing values that differ from the ones planned with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from lepton_cli.drivers.base import UNKNOWN, Observed, Primitive, Ref, ReplaceStrategy, Template
from lepton_cli.engine.model import Action, Change, FieldDiff, Plan
from lepton_cli.engine.sensitive import Secrets
from lepton_cli.errors import Diagnostic, LeptonError, StaleChangeSetError
from lepton_cli.state.model import State

FORMAT = "lepton-changeset"
VERSION = 1


def encode(value: Any) -> Any:
    if value is UNKNOWN:
        return {"$unknown": True}
    if isinstance(value, Ref):
        return {"$ref": [value.address, value.attr]}
    if isinstance(value, Template):
        return {"$template": [encode(p) for p in value.parts]}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if value.keys() == {"$unknown"}:
            return UNKNOWN
        if value.keys() == {"$ref"}:
            return Ref(*value["$ref"])
        if value.keys() == {"$template"}:
            return Template(tuple(decode(p) for p in value["$template"]))
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _primitive(p: Primitive | None) -> dict | None:
    if p is None:
        return None
    return {"address": p.address, "type": p.type, "cloud": p.cloud, "region": p.region, "resource": p.resource,
            "kind": p.kind, "properties": encode(dict(p.properties)), "depends_on": list(p.depends_on),
            "ignore_changes": sorted(p.ignore_changes)}


def _observed(o: Observed | None) -> dict | None:
    if o is None:
        return None
    return {"address": o.address, "type": o.type, "region": o.region, "id": o.id,
            "properties": encode(o.properties), "outputs": encode(o.outputs), "private": encode(o.private)}


def to_document(plan: Plan) -> dict[str, Any]:
    return {
        "format": FORMAT, "version": VERSION, "stack": plan.stack, "lineage": plan.lineage,
        "serial": plan.serial, "plan_digest": plan.plan_digest, "destroy": plan.destroy,
        "context": plan.context, "forget": plan.forget, "forget_deposed": plan.forget_deposed,
        "forget_pending": plan.forget_pending,
        "targets": plan.targets, "outputs": encode(plan.outputs),
        "changes": [{
            "address": c.address, "type": c.type, "resource": c.resource, "kind": c.kind, "cloud": c.cloud,
            "region": c.region, "action": c.action.value,
            "diff": {k: {"before": encode(d.before), "after": encode(d.after)} for k, d in c.diff.items()},
            "replace_fields": c.replace_fields, "notes": c.notes, "depends_on": list(c.depends_on),
            "desired": _primitive(c.desired), "current": _observed(c.current),
            "strategy": c.strategy.value if c.strategy else None, "strategy_reason": c.strategy_reason,
            "deposed": c.deposed, "adopt": c.adopt,
        } for c in plan.changes],
    }


def from_document(doc: dict[str, Any]) -> Plan:
    changes = []
    for c in doc["changes"]:
        desired = c["desired"]
        current = c["current"]
        changes.append(Change(
            address=c["address"], type=c["type"], resource=c["resource"], kind=c["kind"], cloud=c["cloud"],
            region=c["region"], action=Action(c["action"]),
            diff={k: FieldDiff(decode(d["before"]), decode(d["after"])) for k, d in c["diff"].items()},
            replace_fields=list(c["replace_fields"]), notes=list(c["notes"]), depends_on=tuple(c["depends_on"]),
            desired=None if desired is None else Primitive(
                address=desired["address"], type=desired["type"], cloud=desired["cloud"], region=desired["region"],
                resource=desired["resource"], kind=desired["kind"], properties=decode(desired["properties"]),
                depends_on=tuple(desired["depends_on"]),
                ignore_changes=frozenset(desired.get("ignore_changes", ()))),
            current=None if current is None else Observed(
                address=current["address"], type=current["type"], region=current["region"], id=current["id"],
                properties=decode(current["properties"]), outputs=decode(current["outputs"]),
                private=decode(current.get("private") or {})),
            strategy=ReplaceStrategy(c["strategy"]) if c.get("strategy") else None,
            strategy_reason=c.get("strategy_reason", ""), deposed=c.get("deposed"), adopt=bool(c.get("adopt")),
        ))
    return Plan(stack=doc["stack"], changes=changes, outputs=decode(doc["outputs"]), lineage=doc["lineage"],
                serial=doc["serial"], plan_digest=doc["plan_digest"], destroy=doc["destroy"],
                context=doc.get("context") or {}, forget=list(doc.get("forget") or []),
                forget_deposed=[list(pair) for pair in doc.get("forget_deposed") or []],
                forget_pending=list(doc.get("forget_pending") or []), targets=list(doc.get("targets") or []))


def _sealed(doc: dict[str, Any], secrets: Secrets | None) -> dict[str, Any]:
    """The document with every value built from a secret sealed, and secrets out of its notes."""
    if not secrets:
        return doc
    # The variables to give again, and where the stack's key is (never the key itself).
    doc["sensitive"] = {"variables": sorted(set(secrets.texts.values())),
                        "key_file": str(secrets.key_file) if secrets.key_file else None}
    doc["outputs"] = secrets.seal(doc["outputs"])
    for change in doc["changes"]:
        change["diff"] = secrets.seal(change["diff"])
        change["notes"] = [secrets.redact_text(n) for n in change["notes"]]
        change["strategy_reason"] = secrets.redact_text(change["strategy_reason"])
        for part, keys in (("desired", ("properties",)), ("current", ("properties", "outputs", "private"))):
            for key in keys if change[part] else ():
                change[part][key] = secrets.seal(change[part][key])
    return doc


def save_changeset(plan: Plan, path: Path) -> None:
    path = Path(path)
    text = json.dumps(_sealed(to_document(plan), plan.secrets), indent=2, default=str) + "\n"
    temp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temp, path)
    except OSError as exc:
        raise LeptonError(f"cannot write the change set to {path}: {exc.strerror}") from None


def load_changeset(path: Path, variables: Any = None) -> Plan:
    """The saved plan; its sealed values rebuilt from `variables` (name -> value), which must
    hold the sensitive ones it was planned with."""
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise LeptonError(Diagnostic(summary=f"no change set at {path}",
                                     hint="save one with `lepton plan -o FILE`")) from None
    except (OSError, ValueError, UnicodeDecodeError):
        raise LeptonError(f"{path} is not a change set saved by `lepton plan -o`") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LeptonError(f"{path} is not a change set saved by `lepton plan -o`")
    if doc.get("version") != VERSION:
        raise LeptonError(f"{path} is a change set of version {doc.get('version')}; this lepton reads {VERSION}")
    secrets = None
    if doc.get("sensitive"):
        try:
            names, key_file = doc["sensitive"]["variables"], doc["sensitive"]["key_file"]
        except (KeyError, TypeError):
            raise LeptonError(f"{path} is a damaged change set; run `lepton plan -o` again") from None
        if callable(variables):  # the values depend on where it was planned (the plan file's defaults)
            variables = variables(doc.get("context") or {})
        secrets = Secrets.of(variables or {}, names, Path(key_file) if key_file else None)
        doc = secrets.unseal(doc, strict=True)
    try:
        plan = from_document(doc)
    except (KeyError, TypeError, ValueError):
        raise LeptonError(f"{path} is a damaged change set; run `lepton plan -o` again") from None
    plan.secrets = secrets
    return plan


def check_fresh(plan: Plan, state: State | None, plan_digest: str | None) -> None:
    """Refuse a change set made against another version of the state or the plan file."""
    reasons = []
    if plan.lineage is None and state is not None:
        reasons.append(f"the stack was applied since the plan was made (state serial {state.serial})")
    elif plan.lineage is not None and (state is None or state.lineage != plan.lineage):
        reasons.append("the state belongs to another history (lineage changed)")
    elif state is not None and state.serial != plan.serial:
        reasons.append(f"the state changed since the plan was made (serial {plan.serial} -> {state.serial})")
    if plan_digest is not None and plan_digest != plan.plan_digest:
        reasons.append("the plan file changed since the plan was made")
    if reasons:
        raise StaleChangeSetError(Diagnostic(summary="the saved change set is stale: " + "; ".join(reasons),
                                             hint="run `lepton plan -o FILE` again and apply the new change set"))
