"""Query parameters of a list or search (RFC 7644 sections 3.4.2 and 3.4.3) and the ListResponse.

Filtering, sorting and paging are all done by slapd: the filter becomes one LDAP filter, and
``sortBy``/``startIndex``/``count`` become server-side sort and VLV controls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.core.query import Compare, Query
from bridge.directory.controls import SortKey
from bridge.errors import InvalidValue
from bridge.scim.filters import Resource
from bridge.scim.mapping import split_urn

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MAX_RESULTS = 1000  # published as filter.maxResults

_CI = "caseIgnoreOrderingMatch"  # uid, mail, sn, cn... have no ORDERING rule of their own
_COMMON = {
    "id": SortKey("entryUUID"),
    "externalid": SortKey("mimsExternalId"),
    "meta.created": SortKey("createTimestamp"),
    "meta.lastmodified": SortKey("modifyTimestamp"),
}
SORT_KEYS: dict[Resource, dict[str, SortKey]] = {
    "User": _COMMON
    | {
        "username": SortKey("uid", _CI),
        "name.formatted": SortKey("cn", _CI),
        "name.givenname": SortKey("givenName", _CI),
        "name.familyname": SortKey("sn", _CI),
        "displayname": SortKey("displayName", _CI),
        "emails": SortKey("uid", _CI),
        "emails.value": SortKey("uid", _CI),
        "employeenumber": SortKey("employeeNumber", _CI),
        "department": SortKey("ou", _CI),
        "organization": SortKey("o", _CI),
        "school": SortKey("mimsSchool"),
        "level": SortKey("mimsLevel"),
        "classname": SortKey("mimsClass"),
        "role": SortKey("mimsRole", _CI),
        "loginid": SortKey("uid", _CI),
    },
    "Group": _COMMON | {"displayname": SortKey("cn", _CI)},
}
# Ties (namesakes in two domains share a uid) are broken by the full login ID.
DEFAULT_SORT: dict[Resource, list[SortKey]] = {
    "User": [SortKey("uid", _CI), SortKey("mail", _CI)],
    "Group": [SortKey("cn", _CI)],
}


@dataclass(frozen=True)
class ListQuery:
    """A list request's parameters, checked."""

    filter: str | None = None
    start: int = 1
    count: int = MAX_RESULTS
    sort_by: str | None = None
    descending: bool = False
    attributes: str | None = None
    excluded: str | None = None

    def sort(self, resource: Resource, client_names: bool = False) -> list[SortKey]:
        """Return the directory sort keys for sortBy (RFC 7644 section 3.4.2.3).

        ``client_names``: userName sorts by the name the client chose; people who have none
        (made by import or the CLI) come after those who have one.
        """
        keys = DEFAULT_SORT[resource]
        if self.sort_by:
            _, name = split_urn(self.sort_by.strip())
            found = SORT_KEYS[resource].get(name.lower())
            if client_names and name.lower() == "username":
                found = SortKey("mimsUserName")
            if found is None:
                raise InvalidValue(f"cannot sort by {self.sort_by!r}")
            keys = [found, *[key for key in keys if key != found]]
        return [SortKey(key.attribute, key.ordering, self.descending) for key in keys]


# Fields no two entries share: ``x eq "v"`` on them selects at most one entry, which the bridge
# reads with a plain indexed search instead of a server-side sort (the hot path of Entra's and
# Okta's ``userName eq`` lookups before every create).
_UNIQUE: dict[Resource, frozenset[str]] = {
    "User": frozenset({"id", "login_id", "email", "external_id"}),
    "Group": frozenset({"id", "display_name"}),
}


def selects_one(query: Query, resource: Resource) -> bool:
    """Return whether a filter is an equality on a field no two entries share."""
    return isinstance(query, Compare) and query.op == "eq" and query.field in _UNIQUE[resource]


def _integer(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{name} must be an integer") from None


def _joined(value: Any) -> str | None:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value) if value else None


def read_query(params: Mapping[str, Any]) -> ListQuery:
    """Read list parameters from a query string or a SearchRequest body (names any case)."""
    lowered = {key.lower(): value for key, value in params.items()}
    start = _integer(lowered.get("startindex"), "startIndex")
    count = _integer(lowered.get("count"), "count")
    order = str(lowered.get("sortorder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be ascending or descending")
    return ListQuery(
        filter=lowered.get("filter") or None,
        start=max(start or 1, 1),
        count=MAX_RESULTS if count is None else min(max(count, 0), MAX_RESULTS),
        sort_by=lowered.get("sortby") or None,
        descending=order == "descending",
        attributes=_joined(lowered.get("attributes")),
        excluded=_joined(lowered.get("excludedattributes")),
    )


def list_response(total: int, start: int, resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a ListResponse (RFC 7644 section 3.4.2)."""
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
