"""uidNumbers and gidNumbers, taken from one counter entry: race-free, never handed out twice.

The counter is ``cn=id-numbers,ou=services,SUFFIX`` (class ``mimsIdNumbers``), holding the next
free number of each kind (``mimsNextUidNumber``, ``mimsNextGidNumber``). Taking numbers is one
modify: an increment by how many are wanted (RFC 4525) with the post-read control (RFC 4527)
asking for the counter as the increment left it. slapd applies a modify to one entry
atomically, so writers in any number of processes never see the same value, and a number once
taken is never taken again, even when the entry it was for is never written: a failed add
leaves a gap, which is harmless, where reuse would hand a new person a departed one's files.
Bulk work takes a whole block in one increment.

The increment is never retried: one that landed before the connection broke has used its
numbers up already, and taking fresh ones is always safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ldap3 import MODIFY_INCREMENT, Connection

from bridge.core.posix import IdKind, IdRange, PosixRules
from bridge.directory import controls, dn, ldif, read_back
from bridge.directory.client import LdapClient
from bridge.directory.errors import DirectoryError
from bridge.errors import NumbersExhausted

COUNTER_CLASS = "mimsIdNumbers"
COUNTER_ATTRIBUTES: dict[IdKind, str] = {"uid": "mimsNextUidNumber", "gid": "mimsNextGidNumber"}
# The post-read control asking for each counter, encoded once (pyasn1 is slow).
READ_COUNTER: dict[IdKind, controls.Control] = {
    kind: controls.post_read([attribute]) for kind, attribute in COUNTER_ATTRIBUTES.items()
}
# What each kind is called where an administrator reads it.
KIND_NAMES: dict[IdKind, str] = {"uid": "uidNumber", "gid": "gidNumber"}
# A counter below its range's start (a new counter, or a range moved up) jumps to the start;
# writers racing it may jump too, which wastes numbers but never shares one.
MAX_JUMPS = 8


class IdNumbers:
    """Take uidNumbers and gidNumbers for the bridge's writes, over its LDAP client."""

    def __init__(self, client: LdapClient, suffix: str, rules: PosixRules) -> None:
        self.client = client
        self.suffix = suffix
        self.rules = rules

    def allocate(self, kind: IdKind, count: int = 1) -> range:
        """Return ``count`` numbers of a kind, never handed out before (one LDAP modify).

        Sent through python-ldap (read_back.py): a person's create takes one number each, and
        ldap3's encoding of the modify cost a quarter of the bridge's work on a SCIM POST.
        """

        def increment(by: int) -> int:
            attribute = COUNTER_ATTRIBUTES[kind]
            answer = read_back.modify(
                self.client,
                dn.id_numbers_dn(self.suffix),
                {attribute: [(MODIFY_INCREMENT, [str(by)])]},
                [READ_COUNTER[kind]],
            )
            return _counter_value(attribute, answer)

        return _take(increment, kind, count, self.rules)

    def uid_number(self) -> int:
        """Return one new uidNumber."""
        return self.allocate("uid")[0]


def allocate(
    connection: Connection, suffix: str, kind: IdKind, count: int, rules: PosixRules
) -> range:
    """Take ``count`` consecutive numbers of a kind on an ldap3 connection; return them.

    Raise NumbersExhausted, naming the setting to widen, when the range has too few left.
    """
    return _take(lambda by: _increment(connection, suffix, kind, by), kind, count, rules)


def _take(increment: Callable[[int], int], kind: IdKind, count: int, rules: PosixRules) -> range:
    """Take ``count`` numbers with ``increment`` (add to the counter, return its new value)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    limits = rules.numbers(kind)
    after = increment(count)
    for _ in range(MAX_JUMPS):
        if after - count >= limits.first:
            break
        after = increment(limits.first - after + count)
    taken = range(after - count, after)
    if taken.start < limits.first:  # pragma: no cover - only if MAX_JUMPS writers raced
        raise DirectoryError(f"the {KIND_NAMES[kind]} counter did not reach its range")
    if taken.stop - 1 > limits.last:
        raise exhausted(kind, limits)
    return taken


def exhausted(kind: IdKind, limits: IdRange) -> NumbersExhausted:
    """Return the error for a range with no numbers left, naming the setting to widen."""
    return NumbersExhausted(
        f"every {KIND_NAMES[kind]} from {limits.first} to {limits.last} is taken: raise "
        f"{limits.setting} and try again"
    )


def _increment(connection: Connection, suffix: str, kind: IdKind, by: int) -> int:
    """Add ``by`` to the counter of a kind and return the value it now holds (RFC 4525, 4527)."""
    attribute = COUNTER_ATTRIBUTES[kind]
    connection.modify(
        dn.id_numbers_dn(suffix),
        {attribute: [(MODIFY_INCREMENT, [by])]},
        controls=[controls.post_read([attribute])],
    )
    answer: dict[str, Any] = (connection.result or {}).get("controls", {}).get(controls.POST_READ)
    values = _lower_keys(answer["value"]["result"]).get(attribute.lower()) if answer else None
    if not values:
        raise DirectoryError(f"the directory did not say what the {attribute} counter holds")
    return int(values[0])


def _counter_value(attribute: str, entry: Mapping[str, list[bytes]] | None) -> int:
    """Return the counter's value in a post-read entry (read_back.modify's answer)."""
    values = _lower_keys(dict(entry or {})).get(attribute.lower())
    if not values:
        raise DirectoryError(f"the directory did not say what the {attribute} counter holds")
    return int(values[0])


def counter_entry(suffix: str, rules: PosixRules, next_uid: int | None = None) -> ldif.Entry:
    """Return the counter a directory starts with; ``next_uid``: past the numbers in use."""
    first_uid = max(rules.uid_numbers.first, next_uid or 0)
    return (
        dn.id_numbers_dn(suffix),
        [
            ("objectClass", "top"),
            ("objectClass", COUNTER_CLASS),
            ("cn", "id-numbers"),
            (
                "description",
                "The next free uidNumber and gidNumber (bridge/directory/id_numbers.py)",
            ),
            ("mimsNextUidNumber", str(first_uid)),
            ("mimsNextGidNumber", str(rules.gid_numbers.first)),
        ],
    )


def _lower_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in values.items()}
