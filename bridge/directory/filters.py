"""A :data:`~bridge.core.query.Query` as one LDAP filter (RFC 4515) that slapd answers itself.

Every value is escaped with ldap3's ``escape_filter_chars`` (RFC 4515 section 3). Operators map
as RFC 7644 section 3.4.2.2 reads them:

    eq (a=v)   ne (!(a=v))   co (a=*v*)   sw (a=v*)   ew (a=*v)   pr (a=*)
    gt (&(a>=v)(!(a=v)))   ge (a>=v)   lt (&(a<=v)(!(a=v)))   le (a<=v)

``ne`` also matches an entry without the attribute, as ``not (a eq v)`` does: "not identical"
holds when there is nothing to be identical to, and scim2-models' reference evaluator agrees.

A comparison slapd would evaluate to Undefined (RFC 4511 section 4.5.1.7) is decided here
instead, because ``(!Undefined)`` is Undefined too and would hide every entry from ``ne`` and
``not``: an id that is no UUID, a non-ASCII value for an IA5 attribute (mail), an empty value.
An operator the attribute has no matching rule for (substrings on mimsRole, ordering on cn) is
refused with InvalidFilter rather than silently matching nothing.

Case follows the schema: SCIM's caseExact attributes (id, externalId) sit on caseExact LDAP
rules (UUIDMatch, caseExactMatch); the others are caseIgnore in both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from ldap3.utils.conv import escape_filter_chars

from bridge.core.query import (
    ALL,
    NOTHING,
    ORDERING_OPS,
    STRING_OPS,
    And,
    Compare,
    InvalidFilter,
    Not,
    Or,
    Present,
    Query,
)

__all__ = ["DnResolver", "selects_one", "to_ldap"]

Resource = Literal["User", "Group"]
DnResolver = Callable[[str], str | None]
"""Return the DN of the person or group with this id (entryUUID), or None if there is none."""

Syntax = Literal["string", "ia5", "uuid", "time", "dn"]

MATCH_ALL = "(objectClass=*)"
MATCH_NONE = "(!(objectClass=*))"  # ldap3 refuses RFC 4526's "(&)" and "(|)"


@dataclass(frozen=True, slots=True)
class _Attribute:
    """An LDAP attribute and the matching rules its schema gives it."""

    name: str
    syntax: Syntax = "string"
    substrings: bool = True  # has a SUBSTR rule
    ordering: bool = False  # has an ORDERING rule


@dataclass(frozen=True, slots=True)
class _Flag:
    """A boolean field, stored as the presence or absence of something."""

    when_true: str
    when_false: str


# Domain field -> LDAP attribute, with what core.ldif, inetorgperson.ldif, mims.ldif and slapd's
# operational schema say about it. entryUUID has UUIDOrderingMatch, but ordering ids means
# nothing to a SCIM client, so it is refused with the other operators on ids.
_COMMON: dict[str, _Attribute | _Flag] = {
    "id": _Attribute("entryUUID", "uuid", substrings=False),
    "external_id": _Attribute("mimsExternalId", ordering=True),
    "created": _Attribute("createTimestamp", "time", substrings=False, ordering=True),
    "modified": _Attribute("modifyTimestamp", "time", substrings=False, ordering=True),
}
_USER: dict[str, _Attribute | _Flag] = _COMMON | {
    "login_id": _Attribute("mail", "ia5"),
    "user_name": _Attribute("mimsUserName", ordering=True),
    "email": _Attribute("mail", "ia5"),
    "given_name": _Attribute("givenName"),
    "family_name": _Attribute("sn"),
    "full_name": _Attribute("cn"),
    "display_name": _Attribute("displayName"),
    "employee_number": _Attribute("employeeNumber"),
    "department": _Attribute("mimsDepartment", ordering=True),
    "organization": _Attribute("mimsOrganization", ordering=True),
    "title": _Attribute("title"),
    "manager_id": _Attribute("manager", "dn", substrings=False),
    # Any of the person's schools (o holds them all), so a teacher is found in each; o has no
    # ordering rule, and "before school N" means nothing for someone in several.
    "school": _Attribute("o"),
    "other_schools": _Attribute("mimsOtherSchool"),
    "level": _Attribute("mimsLevel", substrings=False, ordering=True),
    "class_name": _Attribute("mimsClass", substrings=False, ordering=True),
    "role": _Attribute("mimsRole", substrings=False),
    "active": _Flag("(!(mimsDisabled=TRUE))", "(mimsDisabled=TRUE)"),
    "locked": _Flag("(pwdAccountLockedTime=*)", "(!(pwdAccountLockedTime=*))"),
    "answers_set": _Flag("(mimsChallengeAnswer=*)", "(!(mimsChallengeAnswer=*))"),
}
_GROUP: dict[str, _Attribute | _Flag] = _COMMON | {
    "display_name": _Attribute("cn"),
    "member_id": _Attribute("member", "dn", substrings=False),
}
_TABLES: dict[Resource, dict[str, _Attribute | _Flag]] = {"User": _USER, "Group": _GROUP}

_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


# Fields no two entries share: ``x eq "v"`` on them selects at most one entry, which the stores
# read with a plain indexed search instead of a server-side sort.
_UNIQUE: dict[Resource, frozenset[str]] = {
    "User": frozenset({"id", "login_id", "email", "external_id"}),
    "Group": frozenset({"id", "display_name"}),
}


def selects_one(query: Query, resource: Resource) -> bool:
    """Return whether a query is an equality on a field no two entries share."""
    return isinstance(query, Compare) and query.op == "eq" and query.field in _UNIQUE[resource]


def to_ldap(query: Query, resource: Resource, resolve_dn: DnResolver | None = None) -> str:
    """Return the one LDAP filter (RFC 4515) that selects the entries ``query`` describes.

    ``resolve_dn`` turns an id into a DN for the fields stored as DNs (a group's members, a
    person's manager); without it a filter on those is refused. Raise InvalidFilter for an
    operator the attribute cannot answer.
    """
    return _Writer(_TABLES[resource], resolve_dn).write(query)


class _Writer:
    def __init__(self, table: dict[str, _Attribute | _Flag], resolve_dn: DnResolver | None) -> None:
        self.table = table
        self.resolve_dn = resolve_dn

    def write(self, query: Query) -> str:
        """Render one node, its children first."""
        if isinstance(query, And):
            return _join("&", [self.write(item) for item in query.items], MATCH_ALL)
        if isinstance(query, Or):
            return _join("|", [self.write(item) for item in query.items], MATCH_NONE)
        if isinstance(query, Not):
            inner = self.write(query.item)
            flipped = {MATCH_ALL: MATCH_NONE, MATCH_NONE: MATCH_ALL}
            return flipped.get(inner, f"(!{inner})")
        if isinstance(query, Present):
            return self._present(query)
        return self._compare(query)

    def _target(self, field: str, label: str) -> _Attribute | _Flag:
        target = self.table.get(field)
        if target is None:
            raise InvalidFilter(f"{label or field!r} cannot be searched")
        return target

    def _present(self, query: Present) -> str:
        target = self._target(query.field, query.label)
        if isinstance(target, _Flag):
            return MATCH_ALL
        return f"({target.name}=*)"

    def _compare(self, query: Compare) -> str:
        label = query.label or query.field
        target = self._target(query.field, query.label)
        if isinstance(target, _Flag):
            return self._flag(target, query, label)
        if query.op in STRING_OPS and not target.substrings:
            raise InvalidFilter(f"{query.op!r} is not supported on {label!r}")
        if query.op in ORDERING_OPS and not target.ordering:
            raise InvalidFilter(f"{query.op!r} is not supported on {label!r}: it has no order")
        value = self._value(target, query, label)
        if value is None:  # no entry can hold that value
            return self.write(ALL if query.op == "ne" else NOTHING)
        if value == "":
            # No attribute holds an empty value, every value contains "" and sorts after it.
            empty: dict[str, Query] = {"eq": NOTHING, "ne": ALL, "lt": NOTHING, "le": NOTHING}
            return self.write(empty.get(query.op, Present(query.field, query.label)))
        return _operator(target.name, query.op, value)

    def _flag(self, target: _Flag, query: Compare, label: str) -> str:
        if query.op not in ("eq", "ne") or not isinstance(query.value, bool):
            raise InvalidFilter(f"{label!r} can only be compared with true or false")
        wanted = query.value if query.op == "eq" else not query.value
        return target.when_true if wanted else target.when_false

    def _value(self, target: _Attribute, query: Compare, label: str) -> str | None:
        """Return the assertion value, unescaped; None when no entry can match it."""
        value = query.value
        if target.syntax == "time":
            if not isinstance(value, datetime):
                raise InvalidFilter(f"{label!r} needs a dateTime")
            return _generalized_time(value)
        if not isinstance(value, str):
            raise InvalidFilter(f"{label!r} needs a string")
        if target.syntax == "uuid" and value and not _UUID.fullmatch(value):
            return None
        if target.syntax == "ia5" and not value.isascii():
            return None
        if target.syntax == "dn" and value:  # eq or ne: a DN has no substrings or order
            if self.resolve_dn is None:  # the caller cannot turn ids into DNs
                raise InvalidFilter(f"filtering on {label!r} is not supported here")
            return self.resolve_dn(value)
        return value


def _operator(attribute: str, op: str, raw: str) -> str:
    """Render one comparison; ``raw`` is escaped here (RFC 4515 section 3)."""
    value = escape_filter_chars(raw)
    equal = f"({attribute}={value})"
    forms = {
        "eq": equal,
        "ne": f"(!{equal})",
        "co": f"({attribute}=*{value}*)",
        "sw": f"({attribute}={value}*)",
        "ew": f"({attribute}=*{value})",
        "ge": f"({attribute}>={value})",
        "le": f"({attribute}<={value})",
        # LDAP has no strict order (RFC 4515 section 3): ">= and not =".
        "gt": f"(&({attribute}>={value})(!{equal}))",
        "lt": f"(&({attribute}<={value})(!{equal}))",
    }
    return forms[op]


def _join(operator: str, parts: list[str], neutral: str) -> str:
    """Return ``(&...)`` or ``(|...)``, folding the constants; no parts is ``neutral``."""
    absorbing = MATCH_NONE if neutral == MATCH_ALL else MATCH_ALL
    if absorbing in parts:
        return absorbing
    parts = [part for part in parts if part != neutral]
    if not parts:
        return neutral
    if len(parts) == 1:
        return parts[0]
    return f"({operator}{''.join(parts)})"


def _generalized_time(moment: datetime) -> str:
    """Render a moment as GeneralizedTime in UTC (RFC 4517 section 3.3.13), fraction kept."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    # Four-digit year even before 1000, which strftime("%Y") does not pad.
    return f"{utc.year:04d}" + utc.strftime("%m%d%H%M%S") + fraction + "Z"
