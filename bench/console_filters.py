"""Which LDAP filters the admin console sends, and which of slapd's indexes serves each part.

The console phase drives the console's searches once more, untimed, with every search this
process sends through either LDAP library noted (ldap3's ``Connection.search`` and
python-ldap's ``search_ext``, the only two ways the bridge searches), then reads the bench
slapd's own ``olcDbIndex`` values from cn=config (as the rootDN over ldapi) and looks each
assertion of each filter up in them.

A filter is reported with its values blanked (``(cn=*?*)``: no person's name in the JSON).
Each assertion gets the index that serves it, or none; the whole filter is ``served`` when
slapd can find its candidates from indexes alone: an AND needs one served part, an OR every
part, and a NOT never is (slapd takes every entry as a candidate of a negation). An
unindexed assertion inside a served AND costs nothing (slapd tests it on the few candidates
the other parts gave); an unserved filter is a scan of the search's scope. An objectClass
assertion never serves a filter on its own: its index holds every person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap.ldapobject import SimpleLDAPObject

from bridge.directory.ldap3_connections import root_connection
from bridge.directory.slapd import ManagedSlapd

# `(attr[:rule]OPvalue)`: values are escaped (RFC 4515), so no raw parenthesis is in one.
_ITEM = re.compile(r"^([A-Za-z0-9;.-]+)((?::[A-Za-z0-9.:-]*)?)(~=|>=|<=|:=|=)(.*)$", re.S)
# What a search by a slapd index type needs (slapd-config(5), olcDbIndex).
_NEEDS = {"eq": "eq", "ge": "eq", "le": "eq", "sub": "sub", "pres": "pres", "approx": "approx"}


@contextmanager
def sent_filters() -> Iterator[list[str]]:
    """Note the filter of every search this process sends while the block runs."""
    sent: list[str] = []
    ldap3_search = ldap3.Connection.search
    libldap_search = SimpleLDAPObject.search_ext

    def via_ldap3(self: Any, search_base: str, search_filter: str, *args: Any, **kw: Any) -> Any:
        sent.append(search_filter)
        return ldap3_search(self, search_base, search_filter, *args, **kw)

    def via_libldap(
        self: Any, base: str, scope: int, filterstr: str = "(objectClass=*)", *args: Any, **kw: Any
    ) -> Any:
        sent.append(filterstr)
        return libldap_search(self, base, scope, filterstr, *args, **kw)

    ldap3.Connection.search = via_ldap3
    SimpleLDAPObject.search_ext = via_libldap
    try:
        yield sent
    finally:
        ldap3.Connection.search = ldap3_search
        SimpleLDAPObject.search_ext = libldap_search


def slapd_indexes(server: ManagedSlapd) -> Indexes:
    """Return the people database's olcDbIndex and the substring key lengths (cn=config)."""
    with root_connection(server.ldapi_url, raise_exceptions=False) as connection:
        connection.search(
            "cn=config",
            "(objectClass=*)",
            ldap3.BASE,
            attributes=["olcIndexSubstrAnyLen", "olcIndexSubstrIfMinLen"],
        )
        lengths = {
            k.lower(): int(bytes(v[0]))
            for k, v in connection.response[0]["raw_attributes"].items()
            if v
        }
        connection.search(
            "cn=config",
            f"(&(objectClass=olcMdbConfig)(olcSuffix={server.suffix}))",
            ldap3.LEVEL,
            attributes=["olcDbIndex"],
        )
        values = [
            bytes(v).decode()
            for entry in connection.response
            if entry.get("type") == "searchResEntry"
            for v in entry["raw_attributes"].get("olcDbIndex", [])
        ]
    indexes: dict[str, set[str]] = {}
    for value in values:
        names, _, kinds = value.partition(" ")
        for name in names.split(","):
            indexes.setdefault(name.strip().lower(), set()).update(
                k.strip() for k in (kinds or "eq").split(",")
            )
    return Indexes(
        indexes,
        lengths.get("olcindexsubstranylen", 4),
        lengths.get("olcindexsubstrifminlen", 2),
    )


def _unescaped_length(text: str) -> int:
    """Return how many characters an escaped value piece stands for (an escape is one)."""
    return len(re.sub(r"\\[0-9a-fA-F]{2}", "x", text))


@dataclass(frozen=True)
class Node:
    """One filter as a tree: ``op`` is and, or, not, or an assertion's match type."""

    op: str
    children: tuple[Node, ...] = ()
    attribute: str = ""
    text: str = ""  # the assertion with its value blanked
    pieces: tuple[int, ...] = ()  # a substring's initial, any... and final lengths (0: none)


@dataclass(frozen=True)
class Indexes:
    """A database's olcDbIndex, and the shortest substrings its sub indexes hold keys for."""

    types: dict[str, set[str]]
    any_length: int = 4  # olcIndexSubstrAnyLen (slapd's default)
    end_length: int = 2  # olcIndexSubstrIfMinLen: the shortest initial or final piece


def parse(ldap_filter: str) -> Node:
    """Parse an RFC 4515 filter string into a tree (values are already escaped)."""
    node, end = _parse(ldap_filter.strip(), 0)
    if end != len(ldap_filter.strip()):
        raise ValueError(f"trailing text in filter at {end}")
    return node


def _parse(text: str, at: int) -> tuple[Node, int]:
    if text[at] != "(":
        raise ValueError(f"expected ( at {at}")
    kind = text[at + 1]
    if kind in "&|!":
        children, at = [], at + 2
        while text[at] == "(":
            child, at = _parse(text, at)
            children.append(child)
        op = {"&": "and", "|": "or", "!": "not"}[kind]
        return Node(op, tuple(children)), at + 1
    end = text.index(")", at)
    match = _ITEM.match(text[at + 1 : end])
    if match is None:
        raise ValueError(f"not an assertion: {text[at : end + 1]}")
    name, rule, operator, value = match.groups()
    if operator == ":=" or rule:
        op, shown = "ext", f"({name}{rule.rstrip(':')}:=?)"
    elif operator == "=" and value == "*":
        op, shown = "pres", f"({name}=*)"
    elif operator == "=" and "*" in value:
        # Each piece as long as it was (its length decides whether slapd has keys for it).
        pieces = [_unescaped_length(part) for part in value.split("*")]
        op, shown = "sub", f"({name}={'*'.join('?' * n for n in pieces)})"
        return Node(op, attribute=name, text=shown, pieces=tuple(pieces)), end + 1
    else:
        op = {"=": "eq", ">=": "ge", "<=": "le", "~=": "approx"}[operator]
        shown = f"({name}{operator}?)"
    return Node(op, attribute=name, text=shown), end + 1


def shape(node: Node) -> str:
    """Return the filter with its values blanked, in the order it was sent."""
    if node.op in ("and", "or", "not"):
        sign = {"and": "&", "or": "|", "not": "!"}[node.op]
        return f"({sign}{''.join(shape(c) for c in node.children)})"
    return node.text


def assertions(node: Node) -> Iterator[Node]:
    """Yield every assertion of the filter."""
    if node.op in ("and", "or", "not"):
        for child in node.children:
            yield from assertions(child)
    else:
        yield node


def index_of(node: Node, indexes: Indexes) -> str | None:
    """Return the index type that serves an assertion, or None."""
    name = node.attribute.lower()
    if name == "objectclass" and node.op == "pres":
        return "every entry"  # slapd answers (objectClass=*) with the whole scope, no index
    need = _NEEDS.get(node.op)
    if need is None or need not in indexes.types.get(name, set()):
        return None
    if node.op == "sub" and not _has_keys(node.pieces, indexes):
        return None  # every piece too short for the sub index's keys: a scan
    return need


def _has_keys(pieces: tuple[int, ...], indexes: Indexes) -> bool:
    """Return whether one piece of a substring is long enough to look up in the index."""
    first, *middle, last = pieces
    ends = max(first, last) >= indexes.end_length
    return ends or any(n >= indexes.any_length for n in middle)


def served(node: Node, indexes: Indexes) -> bool:
    """Return whether slapd can take this filter's candidates from its indexes alone."""
    if node.op == "and":
        return any(served(c, indexes) for c in node.children)
    if node.op == "or":
        return bool(node.children) and all(served(c, indexes) for c in node.children)
    if node.op == "not":
        return False
    if node.attribute.lower() == "objectclass":
        return False  # (objectClass=mimsPerson) is indexed, but its candidates are everyone
    return index_of(node, indexes) is not None


def report(sent: list[tuple[str, str]], indexes: Indexes) -> list[dict[str, Any]]:
    """Return one row per distinct filter shape: who sent it, each assertion's index."""
    rows: dict[str, dict[str, Any]] = {}
    for what, ldap_filter in sent:
        tree = parse(ldap_filter)
        key = shape(tree)
        row = rows.get(key)
        if row is None:
            parts = []
            for node in assertions(tree):
                index = index_of(node, indexes)
                part: dict[str, Any] = {
                    "assertion": node.text,
                    "attribute": node.attribute,
                    "match": node.op,
                }
                parts.append(part | {"index": index, "unindexed": index is None})
            row = rows[key] = {
                "filter": key,
                "sent_by": [],
                "times": 0,
                "served_by_index": served(tree, indexes),
                "assertions": parts,
                "unindexed": sorted({p["assertion"] for p in parts if p["unindexed"]}),
            }
        row["times"] += 1
        if what not in row["sent_by"]:
            row["sent_by"].append(what)
    return list(rows.values())


def capture(calls: list[tuple[str, Callable[[], object]]]) -> list[tuple[str, str]]:
    """Run each named call once; return (name, filter) for every search it sent."""
    found: list[tuple[str, str]] = []
    for what, call in calls:
        with sent_filters() as sent:
            call()
        found += [(what, ldap_filter) for ldap_filter in sent]
    return found
