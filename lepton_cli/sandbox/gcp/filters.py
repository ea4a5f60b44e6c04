"""The `filter` parameter of Compute Engine list calls, parsed into a predicate.

Supported: ``field = "v"``, ``!=``, ``>``/``<``/``>=``/``<=``, ``field : v`` (has; ``*`` means
present), and the regex forms ``field eq "re"`` / ``field ne "re"`` (full match); nested fields
by dots (``labels.env``, ``status.isStable``); terms joined by ``AND``, ``OR``, ``NOT``, plain
juxtaposition (AND) and parentheses. Anything else is 400 invalid, never silently ignored."""

from __future__ import annotations

import re
from typing import Any, Callable

from lepton_cli.sandbox.gcp.errors import GcpError, invalid

Predicate = Callable[[dict], bool]

_OPS = ("!=", ">=", "<=", "=", ":", "<", ">")
_WORD_OPS = ("eq", "ne")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def _bad(text: str, why: str) -> GcpError:
    return invalid(f"Invalid list filter expression '{text}': {why}.")


class _Parser:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _peek_word(self) -> str:
        self._skip()
        match = re.compile(r"[A-Za-z]+").match(self.text, self.pos)
        return match.group(0) if match else ""

    def _at_end(self) -> bool:
        self._skip()
        return self.pos >= len(self.text)

    def parse(self) -> Predicate:
        if self._at_end():
            return lambda _res: True
        pred = self._or()
        if not self._at_end():
            raise _bad(self.text, f"unexpected text at position {self.pos}")
        return pred

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._keyword("OR"):
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else (lambda res: any(t(res) for t in terms))

    def _and(self) -> Predicate:
        terms = [self._unary()]
        while True:
            if self._keyword("AND"):
                terms.append(self._unary())
                continue
            self._skip()
            if self.pos >= len(self.text) or self.text[self.pos] == ")" or self._peek_word() == "OR":
                break
            terms.append(self._unary())  # juxtaposition means AND
        return terms[0] if len(terms) == 1 else (lambda res: all(t(res) for t in terms))

    def _keyword(self, word: str) -> bool:
        if self._peek_word() == word:
            end = self.pos + len(word)
            if end == len(self.text) or not (self.text[end].isalnum() or self.text[end] in "_.-"):
                self.pos = end
                return True
        return False

    def _unary(self) -> Predicate:
        if self._keyword("NOT"):
            inner = self._unary()
            return lambda res: not inner(res)
        self._skip()
        if self.text.startswith("(", self.pos):
            self.pos += 1
            inner = self._or()
            self._skip()
            if not self.text.startswith(")", self.pos):
                raise _bad(self.text, "unbalanced parentheses")
            self.pos += 1
            return inner
        return self._comparison()

    def _comparison(self) -> Predicate:
        self._skip()
        match = _FIELD.match(self.text, self.pos)
        if not match:
            raise _bad(self.text, f"expected a field name at position {self.pos}")
        field = match.group(0)
        self.pos = match.end()
        self._skip()
        op = next((o for o in _OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            word = self._peek_word()
            if word not in _WORD_OPS:
                raise _bad(self.text, f"expected an operator after '{field}'")
            op = word
        self.pos += len(op)
        value = self._value()
        return _compare(field, op, value, self.text)

    def _value(self) -> str:
        self._skip()
        if self.pos >= len(self.text):
            raise _bad(self.text, "missing value")
        quote = self.text[self.pos]
        if quote in "\"'":
            out, i = [], self.pos + 1
            while i < len(self.text) and self.text[i] != quote:
                if self.text[i] == "\\" and i + 1 < len(self.text):
                    i += 1
                out.append(self.text[i])
                i += 1
            if i >= len(self.text):
                raise _bad(self.text, "unterminated string")
            self.pos = i + 1
            return "".join(out)
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace() and self.text[self.pos] != ")":
            self.pos += 1
        if start == self.pos:
            raise _bad(self.text, "missing value")
        return self.text[start : self.pos]


def _lookup(res: Any, field: str) -> list[Any]:
    """Every value at a dotted path (lists fan out), as strings the way the API compares them."""
    values = [res]
    for part in field.split("."):
        nxt = []
        for value in values:
            if isinstance(value, list):
                value = [v.get(part) for v in value if isinstance(v, dict) and part in v]
                nxt.extend(value)
            elif isinstance(value, dict) and part in value:
                nxt.append(value[part])
        values = nxt
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return [_text(v) for v in flat if v is not None]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare(field: str, op: str, value: str, text: str) -> Predicate:
    if op in _WORD_OPS:
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise _bad(text, f"invalid regular expression '{value}' ({exc})") from None
        positive = op == "eq"
        return lambda res: any(pattern.fullmatch(v) for v in _lookup(res, field)) == positive
    if op == "=":
        return lambda res: value in _lookup(res, field)
    if op == "!=":
        return lambda res: value not in _lookup(res, field)
    if op == ":":
        if value == "*":
            return lambda res: bool(_lookup(res, field))
        return lambda res: any(value == v or value in v.split(",") for v in _lookup(res, field))

    def ordered(res: dict) -> bool:
        for v in _lookup(res, field):
            a, b = (float(v), float(value)) if _numeric(v) and _numeric(value) else (v, value)
            if {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]:
                return True
        return False

    return ordered


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_filter(text: str | None) -> Predicate:
    """A predicate over a resource's JSON; 400 invalid for what it cannot read."""
    return _Parser(text or "").parse()
