"""A search filter in the bridge's own terms: domain field names, no SCIM syntax, no LDAP.

The SCIM layer parses a client's filter into a :data:`Query` (``bridge.scim.filters``); the
directory layer turns a Query into one LDAP filter (``bridge.directory.filters``). Neither end
sees the other's syntax.

``And(())`` matches everything and ``Or(())`` matches nothing (the empty conjunction and
disjunction), which is how a condition known in advance, such as ``emails[type eq "work"]`` on a
directory that only stores work addresses, is written without inventing a node type.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bridge.errors import InvalidValue

__all__ = [
    "ALL",
    "NOTHING",
    "ORDERING_OPS",
    "STRING_OPS",
    "And",
    "Compare",
    "InvalidFilter",
    "Not",
    "Op",
    "Or",
    "Present",
    "Query",
    "Sort",
    "Value",
    "all_of",
    "any_of",
    "negate",
]

Op = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
Value = str | bool | int | datetime
STRING_OPS: frozenset[Op] = frozenset({"co", "sw", "ew"})
ORDERING_OPS: frozenset[Op] = frozenset({"gt", "ge", "lt", "le"})


class InvalidFilter(InvalidValue):
    """A filter the bridge cannot read or cannot answer (RFC 7644 section 3.4.2.2, 400).

    Defined here rather than beside the SCIM parser because the directory layer refuses
    filters too (an operator its matching rules cannot answer) and must not import the SCIM
    layer; ``bridge.scim.filters`` re-exports it.
    """

    scim_type = "invalidFilter"


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value``: one comparison of a domain field with a value.

    ``label`` is the attribute as the client wrote it, kept only so that a refusal further
    down names what the client sent; it takes no part in equality.
    """

    field: str
    op: Op
    value: Value
    label: str = dataclasses.field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Present:
    """The field has a value (SCIM ``pr``)."""

    field: str
    label: str = dataclasses.field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """Every item holds; ``And(())`` holds for everything."""

    items: tuple[Query, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one item holds; ``Or(())`` holds for nothing."""

    items: tuple[Query, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold."""

    item: Query


Query = Compare | Present | And | Or | Not


@dataclass(frozen=True, slots=True)
class Sort:
    """Order results by a domain field (SCIM ``sortBy``/``sortOrder``, RFC 7644 3.4.2.3).

    An empty ``field`` stands for the store's default order (sortOrder without sortBy).
    ``label`` is the attribute as the client wrote it, for a refusal that names it.
    """

    field: str
    descending: bool = False
    label: str = dataclasses.field(default="", compare=False)


ALL: Query = And(())
NOTHING: Query = Or(())


def all_of(*items: Query) -> Query:
    """Join items with ``and``: flatten nested ands, drop ALL, collapse to NOTHING if any is."""
    flat: list[Query] = []
    for item in items:
        if item == NOTHING:
            return NOTHING
        flat.extend(item.items if isinstance(item, And) else (item,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))  # And(()) is ALL


def any_of(*items: Query) -> Query:
    """Join items with ``or``: flatten nested ors, drop NOTHING, collapse to ALL if any is."""
    flat: list[Query] = []
    for item in items:
        if item == ALL:
            return ALL
        flat.extend(item.items if isinstance(item, Or) else (item,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))  # Or(()) is NOTHING


def negate(item: Query) -> Query:
    """Return ``not item``, folding the constants and a double negation."""
    if item == ALL:
        return NOTHING
    if item == NOTHING:
        return ALL
    if isinstance(item, Not):
        return item.item
    return Not(item)
