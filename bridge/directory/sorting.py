"""Core sort orders as server-side sort keys (RFC 2891): one table of sortable attributes.

slapd sorts and pages itself (sss and VLV controls), so a field can be sorted on only when its
attribute has an ORDERING rule; the text attributes below borrow ``caseIgnoreOrderingMatch``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.core.query import Sort
from bridge.directory.controls import SortKey
from bridge.directory.filters import Resource
from bridge.errors import InvalidValue

_CI = "caseIgnoreOrderingMatch"  # uid, mail, sn, cn... have no ORDERING rule of their own
_COMMON = {
    "id": SortKey("entryUUID"),
    "external_id": SortKey("mimsExternalId"),
    "created": SortKey("createTimestamp"),
    "modified": SortKey("modifyTimestamp"),
}
_KEYS: dict[Resource, dict[str, SortKey]] = {
    "User": _COMMON
    | {
        "login_id": SortKey("uid", _CI),
        "user_name": SortKey("mimsUserName"),  # [scim] usernames = "client"
        "full_name": SortKey("cn", _CI),
        "given_name": SortKey("givenName", _CI),
        "family_name": SortKey("sn", _CI),
        "display_name": SortKey("displayName", _CI),
        "employee_number": SortKey("employeeNumber", _CI),
        "department": SortKey("mimsDepartment"),
        "organization": SortKey("mimsOrganization"),
        "title": SortKey("title", _CI),
        "school": SortKey("mimsSchool"),  # the main school
        "level": SortKey("mimsLevel"),
        "class_name": SortKey("mimsClass"),
        "role": SortKey("mimsRole", _CI),
    },
    "Group": _COMMON | {"display_name": SortKey("cn", _CI)},
}
# Ties (namesakes in two domains share a uid) are broken by the full login ID.
_DEFAULT: dict[Resource, list[SortKey]] = {
    "User": [SortKey("uid", _CI), SortKey("mail", _CI)],
    "Group": [SortKey("cn", _CI)],
}


def sort_keys(resource: Resource, order: Sequence[Sort]) -> list[SortKey]:
    """Return the sort keys for ``order``, then the default ones to make the order total."""
    keys: list[SortKey] = []
    descending = False
    for wanted in order:
        descending = wanted.descending
        if not wanted.field:
            continue
        found = _KEYS[resource].get(wanted.field)
        if found is None:
            raise InvalidValue(f"cannot sort by {wanted.label or wanted.field!r}")
        keys.append(SortKey(found.attribute, found.ordering, wanted.descending))
    keys += [
        SortKey(key.attribute, key.ordering, descending)
        for key in _DEFAULT[resource]
        if all(key.attribute != taken.attribute for taken in keys)
    ]
    return keys
