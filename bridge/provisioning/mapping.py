"""A change's directory attributes as the SCIM documents a target receives (per-target mapping).

Pure functions: the mapping is ``{SCIM path: directory attribute}`` from the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.core.sync import Change

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def scim_user(change: Change, mapping: Mapping[str, str]) -> dict[str, Any]:
    """Return the SCIM User (RFC 7643 section 4.1) a person's change becomes."""
    user: dict[str, Any] = {"schemas": [CORE_USER]}
    enterprise: dict[str, Any] = {}
    for path, attribute in mapping.items():
        value = _value(change, attribute)
        if value is None:
            continue
        head, _, tail = path.partition(".")
        if head == "name" and tail:
            user.setdefault("name", {})[tail] = value
        elif head == "emails" and tail:
            user.setdefault("emails", []).append(
                {"value": value, "type": tail, "primary": not user.get("emails")}
            )
        elif head == "enterprise" and tail:
            enterprise[tail] = value
        else:
            user[path] = value
    if enterprise:
        user["schemas"].append(ENTERPRISE_USER)
        user[ENTERPRISE_USER] = enterprise
    user["active"] = change.active
    return user


def scim_group(change: Change, member_ids: list[str]) -> dict[str, Any]:
    """Return the SCIM Group (RFC 7643 section 4.2) a group's change becomes."""
    return {
        "schemas": [CORE_GROUP],
        "displayName": change.name or change.uuid,
        "externalId": change.uuid,
        "members": [{"value": member} for member in member_ids],
    }


def _value(change: Change, attribute: str) -> str | None:
    if attribute.lower() == "entryuuid":
        return change.uuid
    return change.first(attribute)
