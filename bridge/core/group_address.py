"""Build a group's e-mail address (``<slug>@<group domain>``) from its name.

Google Cloud Directory Sync keys a Google group by its address, so every group in the
directory carries one (``mail`` on the group's class ``mimsGroup``). The address is
made once, when the group is made, and kept: a rename does not change it, because people and
mailing lists already send to it.

Decisions (group name -> local part), in the style of :mod:`bridge.core.naming`:

    Clementi Primary School / P4 / 4A -> clementi-primary-school-p4-4a
    Chess Club, CHESS  club!          -> chess-club   (lower case; any run of characters
                                         but a-z and 0-9 becomes one "-", none at the ends)
    St. Andrew's School, O’Brien Fans -> st-andrews-school, obrien-fans   (apostrophes join,
                                         as in login IDs)
    École Nationale, 华侨中学          -> ecole-nationale, huaqiaozhongxue   (anyascii)
    (), ---, "", 😀                   -> group   (nothing left: the fallback)
    longer than 64 characters         -> cut at a "-" where possible (RFC 5321's 64-character
                                         local part, suffix included)

Two groups whose names give the same slug: the first keeps it, the next get ``-2``, ``-3``, ...
tried in order by the directory's allocator (the unique overlay refuses a second entry with the
same ``mail`` anywhere in the tree, and a look after each write catches the adds that raced past
it; see ``bridge/directory/group_addresses.py``). The
group domain is configuration (``[naming] group_domain``) and is kept apart from the login-ID
domains, so a person's login ID and a group's address never compete for one name.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from anyascii import anyascii

from bridge.core.naming import (
    RFC5321_MAX_LOCAL_LENGTH,
    InvalidLoginId,
    LoginId,
    cut_at,
    numbered,
)

__all__ = [
    "DEFAULT_GROUP_DOMAIN",
    "FALLBACK_LOCAL_PART",
    "AddressRules",
    "base_local_part",
    "candidates",
    "suffix_number",
    "with_suffix",
]

DEFAULT_GROUP_DOMAIN = "groups.schools.gov.sg"
FALLBACK_LOCAL_PART = "group"

_APOSTROPHES = frozenset("'`\u00b4\u2018\u2019\u02bc\u02bb\u2032\uff07")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SUFFIXED = re.compile(r"^(?P<head>.+)-(?P<n>[1-9][0-9]*)$")


@dataclass(frozen=True)
class AddressRules:
    """Hold the group domain and the longest local part an address may have."""

    domain: str = DEFAULT_GROUP_DOMAIN
    max_local_length: int = RFC5321_MAX_LOCAL_LENGTH

    def __post_init__(self) -> None:
        """Lowercase the domain and refuse one that is not a DNS name."""
        if not 1 <= self.max_local_length <= RFC5321_MAX_LOCAL_LENGTH:
            raise ValueError(
                f"max_local_length must be between 1 and {RFC5321_MAX_LOCAL_LENGTH},"
                f" got {self.max_local_length}"
            )
        try:
            checked = LoginId(FALLBACK_LOCAL_PART, self.domain)  # the same domain rules
        except InvalidLoginId as error:
            raise ValueError(str(error)) from None
        object.__setattr__(self, "domain", checked.domain)

    def address(self, local: str) -> str:
        """Return ``local@domain``."""
        return f"{local}@{self.domain}"


DEFAULT_RULES = AddressRules()


def _pre_nfkc(ch: str) -> str:
    """Return ch, '' for an apostrophe or invisible character, ' ' for a symbol."""
    if ch in _APOSTROPHES or unicodedata.category(ch) == "Cf":
        return ""
    if not ch.isascii() and unicodedata.category(ch).startswith("S"):
        return " "  # emoji and (TM) are not words: anyascii would spell out ":grinning:"
    return ch


def _ascii(name: str) -> str:
    """Return the name in lower-case ASCII, apostrophes joined, symbols made separators."""
    kept = "".join(_pre_nfkc(ch) for ch in name)
    return anyascii(unicodedata.normalize("NFKC", kept)).replace("'", "").lower()


def _cut(slug: str, limit: int) -> str:
    """Return slug cut to at most limit characters, at a '-' if possible."""
    return cut_at(slug, limit, "-")


def base_local_part(name: str, rules: AddressRules = DEFAULT_RULES) -> str:
    """Return the address's local part for a group name, without any ``-N`` suffix."""
    slug = _NOT_SLUG.sub("-", _ascii(name)).strip("-")
    return _cut(slug, rules.max_local_length) or FALLBACK_LOCAL_PART


def with_suffix(base: str, n: int, rules: AddressRules = DEFAULT_RULES) -> str:
    """Return base for n == 1, else base-<n>, cut so the whole fits max_local_length.

    The last part of ``base-<n>`` is always n itself, so distinct n give distinct local parts;
    only a base that already ends in ``-<n>`` needs one more character cut.
    """
    if not _SLUG.fullmatch(base):
        raise ValueError(f"not a group address slug: {base!r}")
    if n < 1:
        raise ValueError(f"suffix number must be >= 1, got {n}")
    if n == 1:
        return _cut(base, rules.max_local_length)
    return numbered(base, n, "-", rules.max_local_length)


def candidates(base: str, start: int = 1, rules: AddressRules = DEFAULT_RULES) -> Iterator[str]:
    """Yield the addresses to try in order: base, base-2, base-3, ... from ``start``."""
    for n in itertools.count(max(start, 1)):
        yield rules.address(with_suffix(base, n, rules))


def suffix_number(address: str, base: str, rules: AddressRules = DEFAULT_RULES) -> int | None:
    """Return n when ``address`` is ``with_suffix(base, n)`` in the rules' domain, else None."""
    local, _, domain = address.lower().rpartition("@")
    if domain != rules.domain:
        return None
    if local == with_suffix(base, 1, rules):
        return 1
    match = _SUFFIXED.match(local)
    if match is None:
        return None
    n = int(match["n"])
    return n if with_suffix(base, n, rules) == local else None
