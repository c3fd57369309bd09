"""Query parameters of a list or search (RFC 7644 sections 3.4.2 and 3.4.3) and the ListResponse.

The filter is parsed into a core query and ``sortBy`` into a core sort order; the stores answer
them (filtering, sorting and paging are all done by the directory).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.core.query import Sort
from bridge.errors import InvalidValue
from bridge.scim.filters import Resource
from bridge.scim.mapping import split_urn

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MAX_RESULTS = 1000  # published as filter.maxResults
# Beyond any directory's size, and far inside the 32-bit offsets LDAP's VLV control carries
# (RFC draft-ietf-ldapext-ldapv3-vlv): a larger startIndex is refused, not sent on.
MAX_START_INDEX = 10_000_000

# SCIM attribute (lowercase, RFC 7643 paths) -> the domain field the directory sorts on.
_COMMON = {
    "id": "id",
    "externalid": "external_id",
    "meta.created": "created",
    "meta.lastmodified": "modified",
}
SORT_FIELDS: dict[Resource, dict[str, str]] = {
    "User": _COMMON
    | {
        "username": "login_id",
        "name.formatted": "full_name",
        "name.givenname": "given_name",
        "name.familyname": "family_name",
        "displayname": "display_name",
        "emails": "login_id",
        "emails.value": "login_id",
        "employeenumber": "employee_number",
        "department": "department",
        "organization": "organization",
        "school": "school",
        "level": "level",
        "classname": "class_name",
        "role": "role",
        "loginid": "login_id",
    },
    "Group": _COMMON | {"displayname": "display_name"},
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

    def sort(self, resource: Resource, client_names: bool = False) -> list[Sort]:
        """Return the order sortBy asks for (RFC 7644 section 3.4.2.3); none means default.

        ``client_names``: userName sorts by the name the client chose; people who have none
        (made by import or the CLI) come after those who have one.
        """
        if not self.sort_by:
            return [Sort("", self.descending)] if self.descending else []
        _, name = split_urn(self.sort_by.strip())
        found = SORT_FIELDS[resource].get(name.lower())
        if client_names and resource == "User" and name.lower() == "username":
            found = "user_name"
        if found is None:
            raise InvalidValue(f"cannot sort by {self.sort_by!r}")
        return [Sort(found, self.descending, self.sort_by)]


def _integer(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: JSON's Infinity
        raise InvalidValue(f"{name} must be an integer") from None


def _text(value: Any, name: str) -> str | None:
    """Return a string parameter; a SearchRequest may carry any JSON there, refused with 400."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{name} must be a string")
    return value


def _joined(value: Any) -> str | None:
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value) if value else None


def read_query(params: Mapping[str, Any]) -> ListQuery:
    """Read list parameters from a query string or a SearchRequest body (names any case)."""
    lowered = {key.lower(): value for key, value in params.items()}
    start = _integer(lowered.get("startindex"), "startIndex")
    if start is not None and start > MAX_START_INDEX:
        raise InvalidValue(f"startIndex must be at most {MAX_START_INDEX}")
    count = _integer(lowered.get("count"), "count")
    order = (_text(lowered.get("sortorder"), "sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("sortOrder must be ascending or descending")
    return ListQuery(
        filter=_text(lowered.get("filter"), "filter"),
        start=max(start or 1, 1),
        count=MAX_RESULTS if count is None else min(max(count, 0), MAX_RESULTS),
        sort_by=_text(lowered.get("sortby"), "sortBy"),
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


def list_body(total: int, start: int, resources: list[bytes]) -> bytes:
    """Return a ListResponse's UTF-8 JSON around resources already encoded one by one.

    A page of 1,000 people is then never held as dicts and as text at once, nor joined twice.
    """
    shell = json.dumps(
        {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start}
        | {"itemsPerPage": len(resources)}
    )
    pieces = [shell[:-1].encode(), b', "Resources": [']
    for index, resource in enumerate(resources):
        pieces += [b", ", resource] if index else [resource]
    pieces.append(b"]}")
    return b"".join(pieces)
