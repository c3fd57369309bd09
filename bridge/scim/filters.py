"""SCIM filters (RFC 7644 section 3.4.2.2) read into the bridge's neutral :data:`Query`.

The text is parsed by scim2-models' grammar (``ScimFilter(...).ast``), which follows the RFC's
precedence (``not`` over ``and`` over ``or``), JSON literals and escapes; scim2-filter-parser
does not (tests/scim/test_filters.py keeps the evidence). Attribute paths are then looked up,
without regard to case and with or without their schema URN, in one table per resource type.

Decisions:

- ``x eq null`` reads as ``not (x pr)`` and ``x ne null`` as ``x pr`` (RFC 7643 section 2.5:
  null and unassigned are the same); any other operator with null is refused.
- A dateTime without a zone is read as UTC.
- A filter is refused before it reaches the directory when it is longer than
  ``MAX_FILTER_LENGTH`` characters, nests deeper than ``MAX_FILTER_DEPTH`` (parentheses,
  ``[...]``) or compares more than ``MAX_FILTER_TERMS`` times: a 20,000-term filter kept the
  directory busy for seconds. Clients send a few terms; the limits leave room for hundreds.
- The directory stores one e-mail address, the work one, which is the login ID: in
  ``emails[...]`` and ``emails.type`` the type is compared with ``"work"`` here and then, so
  ``emails[type eq "work"].value eq "a@b"`` is just ``email eq "a@b"`` and
  ``emails[type eq "home"]`` matches nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import (
    AttrPath,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from bridge.core import query
from bridge.core.query import ALL, NOTHING, InvalidFilter, Query, all_of, any_of, negate

__all__ = [
    "CORE_GROUP",
    "CORE_USER",
    "ENTERPRISE_USER",
    "MIMS_USER",
    "InvalidFilter",
    "Resource",
    "parse_filter",
]

MAX_FILTER_LENGTH = 10_000  # characters
MAX_FILTER_DEPTH = 10  # parentheses and value selections inside each other
MAX_FILTER_TERMS = 200  # comparisons and presence tests

Resource = Literal["User", "Group"]
Kind = Literal["string", "boolean", "dateTime"]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MIMS_USER = "urn:mims:params:scim:schemas:extension:mims:2.0:User"


@dataclass(frozen=True, slots=True)
class _Attribute:
    """A filterable SCIM attribute: the domain field it reads and its SCIM type."""

    field: str
    kind: Kind = "string"
    multi_valued: bool = False  # may carry a value selection, ``emails[...]``


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A sub-attribute whose value is the same for every stored value (``emails.type``)."""

    owner: str  # the domain field holding the values
    value: str


_Target = _Attribute | _Fixed

# Schema URN -> attribute path -> target. Paths are written as in RFC 7643 and matched in
# lower case. A bare multi-valued attribute compares its ``value`` (RFC 7644 section 3.4.2.2).
_USER: dict[str, dict[str, _Target]] = {
    CORE_USER: {
        "id": _Attribute("id"),
        "userName": _Attribute("login_id"),
        "externalId": _Attribute("external_id"),
        "name.givenName": _Attribute("given_name"),
        "name.familyName": _Attribute("family_name"),
        "name.formatted": _Attribute("full_name"),
        "displayName": _Attribute("display_name"),
        "title": _Attribute("title"),
        "active": _Attribute("active", "boolean"),
        "emails": _Attribute("email", multi_valued=True),
        "emails.value": _Attribute("email"),
        "emails.type": _Fixed("email", "work"),
        "meta.created": _Attribute("created", "dateTime"),
        "meta.lastModified": _Attribute("modified", "dateTime"),
    },
    ENTERPRISE_USER: {
        "employeeNumber": _Attribute("employee_number"),
        "department": _Attribute("department"),
        "organization": _Attribute("organization"),
        "manager.value": _Attribute("manager_id"),
    },
    MIMS_USER: {
        "school": _Attribute("school"),  # any of the person's schools
        "otherSchools": _Attribute("other_schools", multi_valued=True),
        "level": _Attribute("level"),
        "className": _Attribute("class_name"),
        "role": _Attribute("role"),
        "loginId": _Attribute("login_id"),
        "locked": _Attribute("locked", "boolean"),
        "answersSet": _Attribute("answers_set", "boolean"),
    },
}
_GROUP: dict[str, dict[str, _Target]] = {
    CORE_GROUP: {
        "id": _Attribute("id"),
        "displayName": _Attribute("display_name"),
        "externalId": _Attribute("external_id"),
        "members": _Attribute("member_id", multi_valued=True),
        "members.value": _Attribute("member_id"),
        "meta.created": _Attribute("created", "dateTime"),
        "meta.lastModified": _Attribute("modified", "dateTime"),
    },
}


def _index(schemas: dict[str, dict[str, _Target]]) -> dict[tuple[str, str], _Target]:
    """Key every target by (URN, path) and by ("", path), all in lower case."""
    index: dict[tuple[str, str], _Target] = {}
    for urn, attributes in schemas.items():
        for path, target in attributes.items():
            index[urn.lower(), path.lower()] = target
            # Unqualified names must stay unambiguous across the extensions.
            assert ("", path.lower()) not in index, path
            index["", path.lower()] = target
    return index


_TABLES: dict[Resource, dict[tuple[str, str], _Target]] = {
    "User": _index(_USER),
    "Group": _index(_GROUP),
}


def parse_filter(text: str, resource: Resource, client_names: bool = False) -> Query:
    """Read a SCIM filter on Users or Groups as a Query over domain fields.

    ``client_names`` (``[scim] usernames = "client"``): userName is the name the client chose
    where the person has one, else the login ID. Raise InvalidFilter, naming the problem in
    one line, for bad syntax, an unknown attribute, or an operator or value the attribute's
    type does not take (RFC 7644 section 3.4.2.2).
    """
    _check_size(text)
    found = _one_string_eq(text, resource) or _read(text, resource)
    terms = _terms(found)
    if terms > MAX_FILTER_TERMS:
        raise InvalidFilter(f"the filter has {terms} terms; at most {MAX_FILTER_TERMS} are allowed")
    return _by_client_name(found) if client_names and resource == "User" else found


def _read(text: str, resource: Resource) -> Query:
    """Parse a filter with scim2-models' grammar and read it over the resource's table."""
    try:
        tree = ScimFilter(text).ast
    except InvalidFilterException as exc:
        detail = " ".join(exc.detail.split())  # one line, whatever the parser said
        raise InvalidFilter(f"invalid filter: {detail}") from None
    return _Reader(_TABLES[resource]).visit(tree)


# ``PATH eq "VALUE"``, the filter clients send before every create and update: a path without
# spaces (but for one ``[...]``) and a string with no escape or control character, which
# therefore means its characters as they are.
_ONE_STRING_EQ = re.compile(
    r'\s*(?P<path>[^\s"\[\]()]+(?:\[[^\]]*\][^\s"\[\]()]*)?)\s+(?i:eq)\s+"(?P<value>[^"\\\x00-\x1f]*)"\s*'
)
_PLACEHOLDER = "\ue000"  # a private-use character: no client's value in any template


def _one_string_eq(text: str, resource: Resource) -> Query | None:
    """Return ``PATH eq "VALUE"`` read from the path's parsed template, or None.

    Parsing is most of a lookup's SCIM work and the paths are few, so each path is parsed
    once with a placeholder for the value (``_template``). Only a plain string comparison is
    read this way; anything else (a fixed, boolean or dateTime attribute) takes the parser.
    """
    match = _ONE_STRING_EQ.fullmatch(text)
    if match is None:
        return None
    template = _template(text[: match.start("value")], text[match.end("value") :], resource)
    return replace(template, value=match["value"]) if template is not None else None


@lru_cache(maxsize=256)
def _template(head: str, tail: str, resource: Resource) -> query.Compare | None:
    """Return the comparison ``head + placeholder + tail`` parses to, if it keeps the value."""
    try:
        found = _read(head + _PLACEHOLDER + tail, resource)
    except InvalidFilter:
        return None
    if isinstance(found, query.Compare) and found.op == "eq" and found.value == _PLACEHOLDER:
        return found
    return None


# A string literal in a filter (JSON, RFC 7644 section 3.4.2.2): its brackets nest nothing.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def _check_size(text: str) -> None:
    """Refuse a filter too long or too deeply nested to be worth parsing."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(
            f"the filter is {len(text)} characters long; at most {MAX_FILTER_LENGTH} are allowed"
        )
    depth = deepest = 0
    for char in _STRING.sub("", text):
        if char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    if deepest > MAX_FILTER_DEPTH:
        raise InvalidFilter(
            f"the filter nests {deepest} levels deep; at most {MAX_FILTER_DEPTH} are allowed"
        )


def _terms(item: Query) -> int:
    """Count the comparisons and presence tests in a query."""
    if isinstance(item, query.And | query.Or):
        return sum(_terms(each) for each in item.items)
    if isinstance(item, query.Not):
        return _terms(item.item)
    return 1


def _by_client_name(item: Query) -> Query:
    """Rewrite userName comparisons: the client's name if the person has one, else the login ID.

    ``userName op v`` becomes ``(user_name pr and user_name op v) or (not user_name pr and
    login_id op v)``; ``loginId`` (the MIMS extension) still compares the login ID.
    """
    if isinstance(item, query.And):
        return all_of(*[_by_client_name(each) for each in item.items])
    if isinstance(item, query.Or):
        return any_of(*[_by_client_name(each) for each in item.items])
    if isinstance(item, query.Not):
        return negate(_by_client_name(item.item))
    if item.field != "login_id" or item.label.rpartition(":")[2].lower() != "username":
        return item
    chosen = query.Present("user_name", item.label)
    return any_of(
        all_of(chosen, replace(item, field="user_name")),
        all_of(negate(chosen), item),
    )


class _Reader(FilterVisitor[Query]):
    """Turn scim2-models' syntax tree into a Query; ``scope`` is set inside ``attr[...]``."""

    def __init__(self, table: dict[tuple[str, str], _Target], scope: AttrPath | None = None):
        self.table = table
        self.scope = scope

    def visit_logical_expr(self, node: LogicalExpr) -> Query:
        items = [self.visit(term) for term in node.terms]
        return all_of(*items) if node.op == LogicalOperator.and_ else any_of(*items)

    def visit_not(self, node: Not) -> Query:
        return negate(self.visit(node.expr))

    def visit_value_path(self, node: ValuePath) -> Query:
        target, label = self._lookup(node.attr_path)
        if not isinstance(target, _Attribute) or not target.multi_valued:
            raise InvalidFilter(f"{label!r} is not multi-valued: '[...]' cannot select from it")
        inner = _Reader(self.table, scope=node.attr_path).visit(node.val_filter)
        return _selection(target.field, label, inner)

    def visit_present(self, node: Present) -> Query:
        return self._present(*self._lookup(node.attr_path))

    def visit_comparison(self, node: Comparison) -> Query:
        target, label = self._lookup(node.attr_path)
        op: query.Op = node.op.value  # CompareOperator has the same nine names
        value = node.value
        if value is None:
            return self._null(target, label, op)
        if op in query.STRING_OPS and not isinstance(value, str):
            raise InvalidFilter(f"{op!r} needs a string, not {_json(value)}")
        if isinstance(target, _Fixed):
            return self._fixed(target, label, _fold(target.value, op, value, label))
        if target.kind == "boolean":
            if op not in ("eq", "ne"):
                raise InvalidFilter(f"{op!r} cannot compare the boolean {label!r}")
            if not isinstance(value, bool):
                raise InvalidFilter(f"{label!r} needs true or false, not {_json(value)}")
            return query.Compare(target.field, op, value, label)
        if not isinstance(value, str):
            raise InvalidFilter(f"{label!r} needs a string, not {_json(value)}")
        if target.kind == "dateTime":
            if op in query.STRING_OPS:
                raise InvalidFilter(f"{op!r} cannot compare the dateTime {label!r}")
            return query.Compare(target.field, op, _datetime(value, label), label)
        return query.Compare(target.field, op, value, label)

    def _null(self, target: _Target, label: str, op: str) -> Query:
        """Read ``eq null`` as absent and ``ne null`` as present (RFC 7643 section 2.5)."""
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"{op!r} cannot compare {label!r} with null")
        present = self._present(target, label)
        return negate(present) if op == "eq" else present

    def _present(self, target: _Target, label: str) -> Query:
        """Return ``label pr``."""
        if isinstance(target, _Fixed):
            return self._fixed(target, label, ALL)
        if target.kind == "boolean":
            return ALL  # a boolean is always returned, true or false
        return query.Present(target.field, label)

    def _fixed(self, target: _Fixed, label: str, outcome: Query) -> Query:
        """Inside ``emails[...]`` a fixed sub-attribute is a constant; outside, a selection."""
        if self.scope is not None:
            return outcome
        return _selection(target.owner, label.rpartition(".")[0], outcome)

    def _lookup(self, path: AttrPath) -> tuple[_Target, str]:
        """Find the target of an attribute path, or refuse it naming the path as written."""
        if self.scope is not None:
            if path.uri is not None or path.sub_attr is not None:
                raise InvalidFilter(f"unknown attribute {str(path)!r} in {str(self.scope)!r}[...]")
            path = AttrPath(self.scope.attr, path.attr, self.scope.uri)
        label = str(path)
        name = path.attr if path.sub_attr is None else f"{path.attr}.{path.sub_attr}"
        target = self.table.get(((path.uri or "").lower(), name.lower()))
        if target is None:
            raise InvalidFilter(f"unknown attribute {label!r}")
        return target, label


def _selection(owner: str, label: str, inner: Query) -> Query:
    """Return ``owner[inner]``: some value of ``owner`` exists and ``inner`` holds for it."""
    return inner if _implies_presence(inner) else all_of(query.Present(owner, label), inner)


def _implies_presence(item: Query) -> bool:
    """Whether a query can only hold for entries where its field has a value."""
    if isinstance(item, query.Compare):
        return item.op != "ne"
    if isinstance(item, query.Present):
        return True
    if isinstance(item, query.And):
        return any(_implies_presence(each) for each in item.items)
    if isinstance(item, query.Or):
        return all(_implies_presence(each) for each in item.items)
    return False


def _fold(stored: str, op: str, value: Any, label: str) -> Query:
    """Compare a value every entry shares, now (caseExact false, RFC 7643 section 4.1.2)."""
    if not isinstance(value, str):
        raise InvalidFilter(f"{label!r} needs a string, not {_json(value)}")
    have, want = stored.casefold(), value.casefold()
    outcomes = {
        "eq": have == want,
        "ne": have != want,
        "co": want in have,
        "sw": have.startswith(want),
        "ew": have.endswith(want),
    }
    if op not in outcomes:
        raise InvalidFilter(f"{op!r} is not supported on {label!r}")
    return ALL if outcomes[op] else NOTHING


def _datetime(text: str, label: str) -> datetime:
    """Read an xsd:dateTime (RFC 7643 section 2.3.5); no zone means UTC."""
    try:
        moment = datetime.fromisoformat(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 moved into year 0
        raise InvalidFilter(f"{label!r} needs a dateTime such as 2024-01-31T08:00:00Z") from None


def _json(value: Any) -> str:
    """Render a filter value as the client wrote it, for a message."""
    return json.dumps(value)
