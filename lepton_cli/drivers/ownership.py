"""Ownership markers (DESIGN §4): the one place that says how an object names its owner.

Every primitive lepton creates carries its stack and its address:

- **Tags** (AWS tags, Azure tags: any characters): `lepton-stack=<stack>`,
  `lepton-name=<address>`, verbatim. `markers(stack, address)` / `owner_from_tags(tags)`.
- **Labels** (GCP: keys and values of lowercase letters, digits, `-` and `_`, values at most
  63 characters): the same two keys, with the values encoded reversibly (see below).
  `label_markers(stack, address)` / `owner_from_labels(labels)`.
- **Description** (objects that take neither, e.g. CloudFront origin access controls, GCP
  health checks): the marker `lepton:stack=<stack>;name=<address>` inside the object's
  description, which may hold other text around it. Such objects also carry the stack in
  their deterministic name. `description_marker(stack, address)` / `owner_from_description(text)`.

The tool never modifies or deletes an object that lacks its stack's marker: every driver asks
`owner_*` (or `owned_address`) before adopting, updating or deleting what it finds.

Label encoding (reversible, injective, deterministic)
-----------------------------------------------------
A label value may hold only `[a-z0-9_-]` (and be at most 63 characters long). An address
such as `web-lb/aws.lb_listener/80` is encoded character by character:

    a-z 0-9 -        themselves
    _                __
    /                _s
    .                _p
    anything else    _ + two lowercase hex digits for each byte of its UTF-8 encoding
                     (e.g. `A` -> `_41`, `:` -> `_3a`)

`_` is the only escape character and is never left bare, so decoding reads the text left to
right without ambiguity: `_` followed by `_`, `s` or `p` is one character, `_` followed by a
hex digit starts a two-digit byte. A stack name (`[a-z][a-z0-9-]*`) encodes to itself, so a
label filter on `lepton-stack` matches the stack name as written.

The encoded address is cut into chunks stored under `lepton-name`, `lepton-name-1`,
`lepton-name-2`, ...: every chunk but the last is exactly 63 characters and the last is
shorter (an encoding whose length is a multiple of 63 ends with an empty chunk), so the
sequence delimits itself. The chunks are joined before decoding (an escape may straddle two).
The reader refuses (returns None for) a sequence with a gap, a full-length last chunk (a lost
tail), a short middle chunk, or a value that is not a canonical encoding: damaged labels never
yield a wrong owner. With at most 64 labels per GCP object, a few chunks leave ample room for
the user's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

# Tag keys carried by every primitive that supports tags or labels.
TAG_STACK = "lepton-stack"
TAG_NAME = "lepton-name"

LABEL_VALUE_MAX = 63  # GCP: label values are at most 63 characters
_LABEL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_SHORT_ESCAPES = {"_": "__", "/": "_s", ".": "_p"}
_SHORT_UNESCAPES = {"_": "_", "s": "/", "p": "."}
_HEX = frozenset("0123456789abcdef")
_CHUNK_KEY = re.compile(rf"{TAG_NAME}-[1-9][0-9]*")


@dataclass(frozen=True)
class Owner:
    """Who owns an object: a stack and the object's address in it."""

    stack: str
    address: str


# -- tags (any characters) -------------------------------------------------------------------------
def markers(stack: str, address: str) -> dict[str, str]:
    """The ownership tags of the object at `address` in `stack`, as a `{key: value}` dict."""
    return {TAG_STACK: stack, TAG_NAME: address}


def owner_from_tags(tags: Mapping[str, str] | None) -> Owner | None:
    """The owner recorded in `{key: value}` tags, or None if they carry no complete marker."""
    if not tags:
        return None
    stack, address = tags.get(TAG_STACK), tags.get(TAG_NAME)
    if not stack or not address:
        return None
    return Owner(stack, address)


def owned_address(tags: Mapping[str, str] | None, stack: str) -> str | None:
    """The address of an object if its tags say it belongs to `stack`, else None."""
    owner = owner_from_tags(tags)
    return owner.address if owner is not None and owner.stack == stack else None


# -- labels (GCP: [a-z0-9_-], at most 63 characters) -----------------------------------------------
def encode_label_value(text: str) -> str:
    """`text` in the label alphabet, reversibly (see the module docstring); may exceed 63
    characters: `label_markers` splits long values into chunks."""
    out = []
    for char in text:
        if char in _LABEL_SAFE:
            out.append(char)
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        else:
            out.append("".join(f"_{byte:02x}" for byte in char.encode("utf-8")))
    return "".join(out)


def decode_label_value(value: str) -> str:
    """The text `encode_label_value` encoded; ValueError if `value` is not such an encoding."""
    data = bytearray()
    i = 0
    while i < len(value):
        char = value[i]
        if char in _LABEL_SAFE:
            data.append(ord(char))
            i += 1
            continue
        if char != "_" or i + 1 >= len(value):
            raise ValueError(f"not an encoded label value: {value!r}")
        following = value[i + 1]
        if following in _SHORT_UNESCAPES:
            data.append(ord(_SHORT_UNESCAPES[following]))
            i += 2
        elif following in _HEX and i + 2 < len(value) and value[i + 2] in _HEX:
            byte = int(value[i + 1:i + 3], 16)
            if byte < 0x80 and chr(byte) in _LABEL_SAFE | _SHORT_ESCAPES.keys():
                raise ValueError(f"not a canonical encoded label value: {value!r}")
            data.append(byte)
            i += 3
        else:
            raise ValueError(f"not an encoded label value: {value!r}")
    return data.decode("utf-8")  # UnicodeDecodeError is a ValueError


def name_label_key(index: int) -> str:
    """The label key of chunk `index` of the encoded address: lepton-name, lepton-name-1, ..."""
    return TAG_NAME if index == 0 else f"{TAG_NAME}-{index}"


def label_markers(stack: str, address: str) -> dict[str, str]:
    """The ownership labels of the object at `address` in `stack` (GCP label rules)."""
    encoded = encode_label_value(address)
    # Full chunks, then the (possibly empty) shorter rest that ends the sequence.
    chunks = [encoded[i:i + LABEL_VALUE_MAX] for i in range(0, len(encoded), LABEL_VALUE_MAX)]
    if not chunks or len(chunks[-1]) == LABEL_VALUE_MAX:
        chunks.append("")
    stack_value = encode_label_value(stack)
    if len(stack_value) > LABEL_VALUE_MAX:
        raise ValueError(f"stack name {stack!r} does not fit in a label value")
    return {TAG_STACK: stack_value, **{name_label_key(i): chunk for i, chunk in enumerate(chunks)}}


def owner_from_labels(labels: Mapping[str, str] | None) -> Owner | None:
    """The owner recorded in labels written by `label_markers`, or None if they carry no
    complete, well-formed marker."""
    if not labels or TAG_STACK not in labels or TAG_NAME not in labels:
        return None
    chunks = []
    while name_label_key(len(chunks)) in labels:
        chunks.append(labels[name_label_key(len(chunks))])
    numbered = [k for k in labels if _CHUNK_KEY.fullmatch(k)]
    if len(numbered) != len(chunks) - 1:  # a gap: lepton-name-2 without lepton-name-1
        return None
    if any(len(c) != LABEL_VALUE_MAX for c in chunks[:-1]) or len(chunks[-1]) >= LABEL_VALUE_MAX:
        return None
    try:
        stack = decode_label_value(labels[TAG_STACK])
        address = decode_label_value("".join(chunks))
    except ValueError:
        return None
    return Owner(stack, address) if stack and address else None


def owned_address_from_labels(labels: Mapping[str, str] | None, stack: str) -> str | None:
    """The address of an object if its labels say it belongs to `stack`, else None."""
    owner = owner_from_labels(labels)
    return owner.address if owner is not None and owner.stack == stack else None


def stack_label_filter(stack: str) -> str:
    """A GCP list `filter` selecting the stack's labelled objects in one call."""
    return f'labels.{TAG_STACK} = "{encode_label_value(stack)}"'


# -- descriptions (objects without tags or labels) -------------------------------------------------
DESCRIPTION_PREFIX = "lepton:"
# Values are percent-encoded, so `;`, `=`, spaces and `%` inside them cannot end the marker.
_DESCRIPTION_SAFE = "/.-_~:@+,"
_DESCRIPTION_VALUE = r"[A-Za-z0-9/.\-_~:@+,%]+"  # what `quote(.., safe=_DESCRIPTION_SAFE)` produces
_DESCRIPTION_MARKER = re.compile(rf"lepton:stack=({_DESCRIPTION_VALUE});name=({_DESCRIPTION_VALUE})")


def description_marker(stack: str, address: str) -> str:
    """`lepton:stack=<stack>;name=<address>`: the marker for an object's description."""
    return (f"{DESCRIPTION_PREFIX}stack={quote(stack, safe=_DESCRIPTION_SAFE)}"
            f";name={quote(address, safe=_DESCRIPTION_SAFE)}")


def owner_from_description(text: str | None) -> Owner | None:
    """The owner named by the (first) marker inside a description, or None."""
    match = _DESCRIPTION_MARKER.search(text or "")
    if match is None:
        return None
    return Owner(unquote(match.group(1)), unquote(match.group(2)))


def owned_address_from_description(text: str | None, stack: str) -> str | None:
    """The address of an object if its description's marker says it belongs to `stack`."""
    owner = owner_from_description(text)
    return owner.address if owner is not None and owner.stack == stack else None
