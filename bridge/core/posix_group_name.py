"""Build a group's NSS name (``mimsPosixName``) from its name, as its address is built.

Linux sees a group through NSS (SSSD, nslcd) by a name that tools and file systems accept:
``ls -l``, ``chgrp``, ``sudoers`` and ``getent group`` use it. A group's own name ("3/A",
"Clementi Primary School / P4 / 4A") has spaces and slashes, which nslcd refuses, so each
group also carries a name made for NSS, and keeps its human name in ``cn``.

Decisions, in the style of :mod:`bridge.core.group_address` (whose slug this reuses):

    Clementi Primary School / P4 / 4A -> clementi-primary-school-p4-4a
    École Nationale, 华侨中学          -> ecole-nationale, huaqiaozhongxue   (anyascii)
    3/A, 2024                         -> group-3-a, group-2024   (a name must begin with a
                                         letter: shadow-utils and systemd refuse a leading
                                         digit, and chown/chgrp read an all-digit name as a GID)
    (), 😀                            -> group   (nothing left: the fallback, then group-2, ...)
    longer than 64 characters         -> cut at a "-" where possible

So every name is lower case, from ``[a-z0-9-]`` (a subset of the ``[a-z0-9._-]`` NSS-safe set),
begins with a letter and is at most 64 characters long. Two groups whose names give the same
NSS name: the first keeps it, the next get ``-2``, ``-3``, ... (the directory's unique overlay
rule on ``mimsPosixName`` decides, as it does for addresses). A rename keeps the NSS name:
files on disk and sudo rules already use it.
"""

from __future__ import annotations

import itertools
from collections.abc import Container

from bridge.core import group_address
from bridge.core.naming import cut_at, numbered

__all__ = ["FALLBACK", "MAX_LENGTH", "base_name", "first_free", "suffix_number", "with_suffix"]

MAX_LENGTH = 64
FALLBACK = group_address.FALLBACK_LOCAL_PART  # "group"
_RULES = group_address.AddressRules(max_local_length=MAX_LENGTH)


def base_name(name: str) -> str:
    """Return the NSS name for a group name, without any ``-N`` suffix."""
    slug = group_address.base_local_part(name, _RULES)
    if not slug[0].isalpha():
        slug = cut_at(f"{FALLBACK}-{slug}", MAX_LENGTH, "-")
    return slug


def with_suffix(base: str, n: int) -> str:
    """Return base for n == 1, else base-<n>, cut so the whole fits MAX_LENGTH."""
    if n < 1:
        raise ValueError(f"suffix number must be >= 1, got {n}")
    return cut_at(base, MAX_LENGTH, "-") if n == 1 else numbered(base, n, "-", MAX_LENGTH)


def suffix_number(value: str, base: str) -> int | None:
    """Return n when ``value`` is ``with_suffix(base, n)``, else None."""
    value = value.lower()
    if value == with_suffix(base, 1):
        return 1
    head, _, tail = value.rpartition("-")
    if not head or not tail.isdigit() or tail.startswith("0"):
        return None
    n = int(tail)
    return n if n > 1 and with_suffix(base, n) == value else None


def first_free(name: str, taken: Container[str]) -> str:
    """Return the first NSS name for a group name that ``taken`` does not hold."""
    base = base_name(name)
    for n in itertools.count(1):
        candidate = with_suffix(base, n)
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover
