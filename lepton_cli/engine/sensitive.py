"""Sensitive values: what a plan may show, and what state and change sets may hold of them.

A variable declared `sensitive: true` is a secret, and so is every string its text appears in
after rendering (`export DB_PASSWORD=hunter2` is built from `hunter2`): a substring match,
simple and predictable. A value shorter than `MIN_LENGTH` characters would match half the plan,
so it only marks strings that are exactly that value.

- For people (plan, apply, errors) such a value becomes `SENSITIVE`, shown as `(sensitive)`.
- In state and change sets it is *sealed*: `{"$sensitive": "hmac-sha256:…", "parts": [...]}`.
  The HMAC (keyed with a per-stack key kept beside the state, never in it) lets the next plan
  tell an unchanged secret from a changed one; `parts` is the string with each secret replaced
  by `{"var": NAME}`, so the value can be rebuilt from the variable, given again, and checked
  against the HMAC. A seal without parts (a value read back from the cloud that held an older
  secret) can never be rebuilt: it only ever compares as changed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_cli.drivers.base import SENSITIVE, Template, leaves
from lepton_cli.errors import Diagnostic, LeptonError

SEAL = "$sensitive"
MIN_LENGTH = 4  # shorter secrets only mark strings equal to them
SENSITIVE_TEXT = str(SENSITIVE)
KEY_BYTES = 32


def secret_text(value: Any) -> str:
    """A variable's value as it appears once rendered (Jinja prints `str(value)`)."""
    return value if isinstance(value, str) else str(value)


def is_seal(value: Any) -> bool:
    return isinstance(value, Mapping) and SEAL in value


def key_path(state_dir: str | Path, stack: str) -> Path:
    """The stack's HMAC key: beside its state, never inside it or a change set."""
    return Path(state_dir) / f"{stack}.key"


@dataclass
class Secrets:
    """The secrets of one run: their texts (by variable) and the key to seal them with."""

    texts: dict[str, str] = field(default_factory=dict)  # secret text -> variable name
    key_file: Path | None = None
    # Whole strings that are sensitive though no current secret is in them: values read back
    # from the cloud whose recorded counterpart is sealed (they hold an older secret).
    whole: set[str] = field(default_factory=set)
    _key: bytes | None = field(default=None, repr=False)
    _compiled: tuple[int, re.Pattern | None] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, values: Mapping[str, Any], names: Iterable[str], key_file: Path | None = None) -> "Secrets":
        return cls(texts={secret_text(values[n]): n for n in names if n in values and secret_text(values[n])},
                   key_file=key_file)

    def __bool__(self) -> bool:
        return bool(self.texts or self.whole)

    # -- recognising -----------------------------------------------------------------------------
    def _pattern(self) -> re.Pattern | None:
        """The long secrets, longest first (one regex, made once per set of secrets)."""
        if self._compiled is None or self._compiled[0] != len(self.texts):
            long = sorted((t for t in self.texts if len(t) >= MIN_LENGTH), key=len, reverse=True)
            self._compiled = (len(self.texts), re.compile("|".join(re.escape(t) for t in long)) if long else None)
        return self._compiled[1]

    def sensitive(self, text: str) -> bool:
        if text in self.texts or text in self.whole:
            return True
        pattern = self._pattern()
        return bool(pattern and pattern.search(text))

    def _scalar_sensitive(self, value: Any) -> bool:
        if isinstance(value, str):
            return self.sensitive(value)
        return isinstance(value, (int, float)) and not isinstance(value, bool) and str(value) in self.texts

    # -- for people --------------------------------------------------------------------------------
    def redact(self, value: Any) -> Any:
        """`value` with every sensitive string (or seal) replaced by `SENSITIVE`."""
        if not self and not _has_seal(value):
            return value
        if is_seal(value):
            return SENSITIVE
        if isinstance(value, Template):
            return SENSITIVE if any(isinstance(p, str) and self.sensitive(p) for p in value.parts) else value
        if isinstance(value, Mapping):
            return {k: self.redact(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(v) for v in value]
        return SENSITIVE if self._scalar_sensitive(value) else value

    def redact_text(self, text: str) -> str:
        """A message with every secret in it replaced by `(sensitive)`."""
        if not isinstance(text, str) or not self:
            return text
        if text in self.texts or text in self.whole:
            return SENSITIVE_TEXT
        for whole in sorted(self.whole, key=len, reverse=True):
            if len(whole) >= MIN_LENGTH:
                text = text.replace(whole, SENSITIVE_TEXT)
        pattern = self._pattern()
        return pattern.sub(SENSITIVE_TEXT, text) if pattern else text

    def redact_error(self, exc: LeptonError) -> LeptonError:
        """The same error with secrets taken out of its diagnostics."""
        if not self:
            return exc
        from dataclasses import replace

        exc.diagnostics = [replace(d, summary=self.redact_text(d.summary), detail=self.redact_text(d.detail),
                                   hint=self.redact_text(d.hint)) for d in exc.diagnostics]
        exc.args = ("\n".join(d.render() for d in exc.diagnostics),)
        return exc

    # -- for state and change sets -------------------------------------------------------------------
    def key(self, create: bool) -> bytes | None:
        """The stack's key, made (0600) the first time something is sealed."""
        if self._key is not None or self.key_file is None:
            return self._key
        try:
            self._key = bytes.fromhex(self.key_file.read_text().strip())
        except FileNotFoundError:
            if not create:
                return None
            self.key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another run made it just now
                return self.key(create)
            with os.fdopen(fd, "w") as handle:
                handle.write(os.urandom(KEY_BYTES).hex() + "\n")
            return self.key(create)
        except (OSError, ValueError) as exc:
            raise LeptonError(Diagnostic(summary=f"cannot read the stack's key {self.key_file}: {exc}",
                                         hint="it holds hex digits; delete it to make a new one (sensitive "
                                              "values then show as changed once)")) from None
        return self._key

    def digest(self, text: str, key: bytes) -> str:
        return "hmac-sha256:" + hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    def seal(self, value: Any) -> Any:
        """`value` (plain JSON) with every sensitive string or number sealed."""
        if not self:
            return value
        if is_seal(value):
            return value
        if isinstance(value, Mapping):
            return {k: self.seal(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.seal(v) for v in value]
        if not self._scalar_sensitive(value):
            return value
        key = self.key(create=True)
        if key is None:
            raise LeptonError("internal error: a sensitive value to seal, but no key file to seal it with")
        text = secret_text(value)
        sealed: dict[str, Any] = {SEAL: self.digest(text, key)}
        parts = self._parts(text)
        if parts is not None:
            sealed["parts"] = parts
            if not isinstance(value, str):
                sealed["number"] = True
        return sealed

    def _parts(self, text: str) -> list[Any] | None:
        """`text` split around the secrets in it; None when none is (a `whole` value)."""
        if text in self.texts:
            return [{"var": self.texts[text]}]
        pattern = self._pattern()
        if pattern is None or not pattern.search(text):
            return None
        parts: list[Any] = []
        position = 0
        for match in pattern.finditer(text):
            if match.start() > position:
                parts.append(text[position:match.start()])
            parts.append({"var": self.texts[match.group()]})
            position = match.end()
        if position < len(text):
            parts.append(text[position:])
        return parts

    def unseal(self, value: Any, *, strict: bool = False) -> Any:
        """`value` with every seal the current secrets rebuild (and the HMAC confirms) restored.

        A seal that does not match stays a seal (it compares as changed), or with `strict`
        (applying a saved change set) is an error naming the variable."""
        if isinstance(value, Mapping) and not is_seal(value):
            return {k: self.unseal(v, strict=strict) for k, v in value.items()}
        if isinstance(value, list):
            return [self.unseal(v, strict=strict) for v in value]
        if not is_seal(value):
            return value
        parts = value.get("parts")
        if parts is None:
            return value
        names = {p["var"] for p in parts if isinstance(p, Mapping)}
        by_name = {n: t for t, n in self.texts.items()}
        missing = sorted(names - by_name.keys())
        if missing:
            if strict:
                raise LeptonError(*[Diagnostic(
                    summary=f"the change set needs the sensitive variable {n!r}, which is not given",
                    hint=f"pass the same value as when it was planned: --var {n}=VALUE, a --var-file, "
                         f"or LEPTON_VAR_{n}") for n in missing])
            return value
        text = "".join(by_name[p["var"]] if isinstance(p, Mapping) else p for p in parts)
        key = self.key(create=False)
        if key is None and strict:
            raise LeptonError(Diagnostic(
                summary=f"cannot check the sensitive values: the stack's key {self.key_file} is missing",
                hint="it is kept beside the state; run `lepton plan -o FILE` again where the state is"))
        if key is None or not hmac.compare_digest(self.digest(text, key), str(value[SEAL])):
            if strict:
                raise LeptonError(Diagnostic(
                    summary=f"the value of sensitive variable {', '.join(repr(n) for n in sorted(names))} "
                            f"differs from the one the change set was planned with",
                    hint="pass the value it was planned with, or run `lepton plan -o FILE` again"))
            return value
        if value.get("number"):
            return float(text) if any(c in text for c in ".eE") else int(text)
        return text

    def note_sealed(self, recorded: Any, observed: Any) -> None:
        """Remember as `whole` every string read back where the recorded value is a seal that
        does not unseal (it holds an older secret, which must not be shown either)."""
        if is_seal(recorded):
            for text in _strings(observed):
                if text:
                    self.whole.add(text)
        elif isinstance(recorded, Mapping) and isinstance(observed, Mapping):
            for k, v in recorded.items():
                self.note_sealed(v, observed.get(k))
        elif isinstance(recorded, list) and isinstance(observed, (list, tuple)):
            for r, o in zip(recorded, observed):
                self.note_sealed(r, o)


def _strings(value: Any) -> Iterable[str]:
    return (leaf for leaf in leaves(value) if isinstance(leaf, str))


def _has_seal(value: Any) -> bool:
    if is_seal(value):
        return True
    if isinstance(value, Mapping):
        return any(_has_seal(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_seal(v) for v in value)
    return False


def redacted_plan(plan: Any) -> Any:
    """A copy of `plan` safe to show: diffs and notes without secrets (the plan's `secrets`,
    set by the API; a plan without them is returned as is)."""
    secrets: Secrets | None = getattr(plan, "secrets", None)
    if not secrets and not any(_has_seal(d.before) or _has_seal(d.after) for c in plan.changes for d in c.diff.values()):
        return plan
    import copy

    from lepton_cli.engine.model import FieldDiff

    secrets = secrets or Secrets()
    shown = copy.copy(plan)
    shown.changes = []
    for change in plan.changes:
        c = copy.copy(change)
        c.diff = {k: FieldDiff(secrets.redact(d.before), secrets.redact(d.after)) for k, d in change.diff.items()}
        c.notes = [secrets.redact_text(n) for n in change.notes]
        c.strategy_reason = secrets.redact_text(change.strategy_reason)
        shown.changes.append(c)
    shown.outputs = {k: secrets.redact(v) for k, v in plan.outputs.items()}
    return shown


def unsealed_state(secrets: Secrets, state: Any) -> Any:
    """A copy of `state` for planning, with the seals the current secrets rebuild restored:
    an unchanged secret then compares equal (a no-op), a changed one stays a seal (an update)."""
    if state is None:
        return None
    from lepton_cli.state.model import State

    copy = State.from_dict(state.to_dict())
    for _, record in copy.records():
        record.properties = secrets.unseal(record.properties)
        record.outputs = secrets.unseal(record.outputs)
        record.private = secrets.unseal(record.private)
    return copy


def note_plan(secrets: Secrets, plan: Any, state: Any) -> None:
    """Mark as sensitive what the plan read back from the cloud where state holds a seal the
    current secrets do not rebuild (an older secret, or one no longer declared)."""
    if state is None:
        return
    records = {(address, r.id): r for address, r in state.records()}
    for change in plan.changes:
        record = records.get((change.address, change.current.id)) if change.current is not None else None
        if record is not None and _has_seal(record.properties):
            secrets.note_sealed(secrets.unseal(record.properties), change.current.properties)
