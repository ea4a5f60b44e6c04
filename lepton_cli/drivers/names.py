"""Physical names of cloud objects (DESIGN §4): deterministic, within each cloud's limits.

- `physical_name(stack, resource, *suffix, limit=..)`: `<stack>-<resource>[-<suffix>...]`, for
  names unique in a region, a project or a parent (load balancers, target groups, GCP
  instance templates, Azure scale sets).
- `unique_name(stack, resource, scope, limit=..)`: a name unique in the whole cloud (S3 and
  GCS buckets, Azure storage accounts): `<stack>-<resource>-<hash>`, the hash of stack,
  resource and `scope` (the account, project or subscription), so a retried create in the same
  account finds the same name while another account's stack gets another.
- `fit(name, limit)`: the rule both use. A name that is already within the limit and the
  character set is kept as is. Otherwise it is reduced to the character set, cut, and ends in
  a short hash of the whole original name, so two names that differ only beyond the cut (or
  in characters the set drops) stay distinct, and the same input always gives the same name.

Character sets: `DNS_LABEL` (lowercase letters, digits and `-`: most names) and `LOWER_ALNUM`
(lowercase letters and digits only: Azure storage accounts, 3–24 characters). With a set
lacking `-`, the parts and the hash are joined without a separator.

Names of existing stacks never change: for valid stack and resource names (which are
`[a-z][a-z0-9-]*`), `fit(.., 32)` is the AWS load balancer name lepton has always used and
`unique_name(.., limit=63, hash_length=8)` the S3 bucket name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Charset:
    """The characters a cloud allows in a name."""

    name: str
    disallowed: re.Pattern  # runs of characters outside the set
    replacement: str  # what such a run becomes ("-" where allowed, else nothing)

    @property
    def separator(self) -> str:
        return self.replacement

    def clean(self, text: str) -> str:
        return self.disallowed.sub(self.replacement, text.lower())

    def allows(self, text: str) -> bool:
        return self.disallowed.search(text) is None


DNS_LABEL = Charset("lowercase letters, digits and hyphens", re.compile(r"[^a-z0-9-]+"), "-")
LOWER_ALNUM = Charset("lowercase letters and digits", re.compile(r"[^a-z0-9]+"), "")

SHORT_HASH = 6  # hex digits of the hash that ends a cut name
UNIQUE_HASH = 8  # hex digits of the hash that makes a name globally unique


def digest(text: str, length: int) -> str:
    """The first `length` hex digits of the SHA-256 of `text`: stable across runs and hosts."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fit(name: str, limit: int, *, charset: Charset = DNS_LABEL, hash_length: int = SHORT_HASH,
        min_length: int = 1) -> str:
    """`name` within `limit` characters of `charset`, deterministically.

    Kept unchanged when it already fits. Else: reduced to the character set, cut, and ended
    with `<sep><hash of the original name>` (trailing separators of the cut part dropped), so a
    cut name stays unique and the same input gives the same output. A name shorter than
    `min_length` is lengthened the same way.
    """
    if hash_length + len(charset.separator) > limit:
        raise ValueError(f"a limit of {limit} leaves no room for a {hash_length}-character hash")
    if len(name) <= limit and len(name) >= min_length and charset.allows(name):
        return name
    sep = charset.separator
    keep = charset.clean(name)[: limit - hash_length - len(sep)]
    if sep:
        keep = keep.rstrip(sep)
    return f"{keep}{sep}{digest(name, hash_length)}" if keep else digest(name, hash_length)


def physical_name(stack: str, resource: str, *suffix: str, limit: int, charset: Charset = DNS_LABEL,
                  hash_length: int = SHORT_HASH, min_length: int = 1) -> str:
    """`<stack>-<resource>[-<suffix>...]` within the limit (see `fit`).

    A character set without `-` runs the parts together, which loses where one part ends
    (`web-1` and `web1` would meet): such a name always ends in the hash of the parts as given.
    """
    name = "-".join((stack, resource, *suffix))
    if charset.separator:
        return fit(name, limit, charset=charset, hash_length=hash_length, min_length=min_length)
    if hash_length > limit:
        raise ValueError(f"a limit of {limit} leaves no room for a {hash_length}-character hash")
    return charset.clean(name)[: limit - hash_length] + digest(name, hash_length)


def unique_name(stack: str, resource: str, scope: str, *, limit: int, charset: Charset = DNS_LABEL,
                hash_length: int = UNIQUE_HASH) -> str:
    """A globally unique, deterministic name: `<stack>-<resource>` (reduced to the character
    set and cut to fit) followed by `<sep><hash>`, the hash of `<stack>/<resource>/<scope>`
    where `scope` is the account, project or subscription."""
    sep = charset.separator
    if hash_length + len(sep) >= limit:
        raise ValueError(f"a limit of {limit} leaves no room for a {hash_length}-character hash")
    base = charset.clean(f"{stack}{sep}{resource}") if sep else charset.clean(stack) + charset.clean(resource)
    return base[: limit - hash_length - len(sep)] + sep + digest(f"{stack}/{resource}/{scope}", hash_length)
