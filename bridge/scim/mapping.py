"""People and groups <-> SCIM JSON (RFC 7643): pure functions, no Flask, no directory.

Decisions:

- ``userName`` is the login ID; with ``[scim] usernames = "client"`` it is the name the client
  chose (``Person.user_name``) when the person has one. ``emails`` is a read-only mirror of the
  login ID (one work address, primary): the directory's ``mail`` *is* the login ID. A POST's
  e-mails are ignored (RFC 7644 section 3.3); a PUT or PATCH that would change a read-only
  attribute is refused with 400 mutability, unless it re-sends what is stored (Entra ID does).
- ``name.formatted`` is the full name the login ID was made from; without it the full name is
  ``displayName``, else ``givenName familyName``, else the login ID's local part.
- ``role`` (MIMS extension) is read-only: the login ID's domain decides it. On a POST without
  ``userName`` a role sent there chooses the domain of the login ID the bridge makes.
- ``locked`` (MIMS extension): false lifts a ppolicy lock; true locks the account until an
  administrator unlocks it (ppolicy's administrative lock).
- ``school`` is a person's main school; ``otherSchools`` (MIMS extension, multi-valued) the
  further schools a member of staff works in, so a client that knows one school keeps using
  ``school``. A student with more than one school is refused. A filter on ``school`` finds a
  person in any of their schools.
- Booleans may come as the strings "True"/"False" (Entra ID sends them so).
- A PATCH that removes ``name``, ``active`` or ``locked`` (RFC 7644 section 3.5.2.2) is
  remembered (``Person.client_removed``): the directory keeps a full name (cn, then made from
  displayName or userName), the account stays enabled and is unlocked, and the attribute is not
  returned until the client sets it again (``active`` still shows false when disabled, and
  ``locked`` true when locked).
- With ``[scim] usernames = "client"`` the server-computed ``role``, ``loginId`` and
  ``answersSet`` are returned only when asked for (``returned: "request"``, RFC 7643 section
  7): such a client's own document of a person is then exactly what it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import Name

from bridge.core.people import ROLES, Group, Person, PersonChange, Role
from bridge.errors import InvalidValue
from bridge.scim.filters import CORE_GROUP, CORE_USER, ENTERPRISE_USER, MIMS_USER
from bridge.scim.models import COMPUTED, EnterpriseUser, MimsUser, ScimUser
from bridge.scim.models import Group as ScimGroup

USER_SCHEMAS = [CORE_USER, ENTERPRISE_USER, MIMS_USER]

# Canonical attribute names, found without regard to case (RFC 7643 section 2.1).
_NAMES = [
    "schemas", "id", "externalId", "userName", "name", "formatted", "givenName", "familyName",
    "middleName", "honorificPrefix", "honorificSuffix",
    "displayName", "active", "emails", "value", "type", "primary", "display", "password",
    "groups", "meta", "members", "employeeNumber", "department", "organization", "school",
    "level", "className", "role", "loginId", "locked", "answersSet", "mustChange", "$ref",
    "manager",
    "level", "className", "role", "loginId", "locked", "answersSet", "$ref", "manager",
    "title", "otherSchools",
]  # fmt: skip
CANONICAL = {name.lower(): name for name in _NAMES} | {
    urn.lower(): urn for urn in (CORE_USER, CORE_GROUP, ENTERPRISE_USER, MIMS_USER)
}
EXTENSIONS = (ENTERPRISE_USER, MIMS_USER)
# Attributes a PATCH may remove although the directory keeps or computes them.
REMOVABLE = ("name", "active", "locked")


def canonical(value: Any) -> Any:
    """Return a JSON value with every known attribute name in its canonical case.

    Attributes of an extension written at the top level with their URN
    (``"urn:...:enterprise:2.0:User:department": "x"``) are moved into the extension object.
    """
    if isinstance(value, list):
        return [canonical(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        # Every schema URN holds a colon: a key without one is a plain attribute name.
        urn, attribute = split_urn(key) if ":" in key else (None, key)
        if urn is not None and urn in EXTENSIONS and attribute:
            result.setdefault(urn, {})[CANONICAL.get(attribute.lower(), attribute)] = item
        elif urn is not None and urn == CORE_USER and attribute:
            result[CANONICAL.get(attribute.lower(), attribute)] = canonical(item)
        else:
            known = str(CANONICAL.get(key.lower(), key))
            if known in EXTENSIONS and isinstance(item, dict):
                result.setdefault(known, {}).update(canonical(item))
            else:
                result[known] = canonical(item)
    return result


# Each schema URN, lowered, and as the prefix of its attributes' full names.
_URNS = tuple(
    (urn, urn.lower(), urn.lower() + ":")
    for urn in (ENTERPRISE_USER, MIMS_USER, CORE_USER, CORE_GROUP)
)


def split_urn(key: str) -> tuple[str | None, str]:
    """Split ``urn:...:User:attr`` into (schema URN, attr); other keys have no URN."""
    lowered = key.lower()
    for urn, urn_lowered, prefix in _URNS:
        if lowered == urn_lowered:
            return urn, ""
        if lowered.startswith(prefix):
            return urn, key[len(urn) + 1 :]
    return None, key


def boolean(value: Any, label: str) -> bool:
    """Read a SCIM boolean, also from the strings "true"/"false" in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue(f"{label!r} must be true or false")


def text(value: Any, label: str) -> str | None:
    """Read an optional SCIM string; empty means absent."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{label!r} must be a string")
    return value.strip() or None


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def etag(version: str | None) -> str | None:
    """Return the weak ETag of an entry version (its entryCSN)."""
    return f'W/"{version}"' if version else None


def version_of(header: str | None) -> str | None:
    """Return the entry version an If-Match / If-None-Match header names (None for ``*``)."""
    if not header or header.strip() == "*":
        return None
    tag = header.strip().split(",")[0].strip()
    tag = tag[2:] if tag.startswith("W/") else tag
    return tag.strip('"')


def _drop_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, {}, [])}


def to_scim_user(
    person: Person, base: str, group_ids: Mapping[str, str], client_names: bool = False
) -> dict[str, Any]:
    """Return a person as a SCIM User (RFC 7643 section 4.1) with both extensions.

    ``client_names``: userName is the name the client chose, where the person has one.
    """
    login = str(person.login_id)
    removed = person.client_removed
    name = _drop_empty(
        {
            "formatted": None if "name" in removed else person.full_name,
            "givenName": person.given_name,
            "familyName": person.family_name,
            "middleName": person.middle_name,
            "honorificPrefix": person.honorific_prefix,
            "honorificSuffix": person.honorific_suffix,
        }
    )
    groups = [
        {"value": group_ids[group], "display": group, "$ref": f"{base}/Groups/{group_ids[group]}"}
        for group in person.groups
        if group in group_ids
    ]
    user: dict[str, Any] = {
        "schemas": USER_SCHEMAS,
        "id": person.id,
        "externalId": person.external_id,
        "userName": (person.user_name or login) if client_names else login,
        "name": name,
        "displayName": person.display_name,
        "title": person.title,
        "active": None if "active" in removed and person.active else person.active,
        "emails": [{"value": login, "type": "work", "primary": True}],
        "groups": groups,
        ENTERPRISE_USER: _drop_empty(
            {
                "employeeNumber": person.employee_number,
                "department": person.department,
                "organization": person.organization,
                "manager": {"value": person.manager_id} if person.manager_id else None,
            }
        ),
        MIMS_USER: _drop_empty(
            {
                "school": person.school,
                "otherSchools": sorted(person.other_schools),
                "level": person.level,
                "className": person.class_name,
                "role": person.role,
                "loginId": login,
                "locked": None
                if "locked" in removed and not person.lock.locked
                else person.lock.locked,
                "answersSet": person.answers_set,
                "mustChange": person.must_change,
            }
        ),
        "meta": _drop_empty(
            {
                "resourceType": "User",
                "created": _time(person.created),
                "lastModified": _time(person.modified),
                "location": f"{base}/Users/{person.id}",
                "version": etag(person.version),
            }
        ),
    }
    return _drop_empty(user)


@dataclass(frozen=True)
class UserInput:
    """What a SCIM User document asks for, in the bridge's terms."""

    login_id: str | None
    values: PersonChange
    role: Role | None = None
    password: str | None = None
    locked: bool | None = None


def from_scim_user(person: ScimUser, role: str | None = None) -> UserInput:
    """Read a validated SCIM User (POST or PUT body, or a PATCH result) into domain values.

    Every writable field is present in ``values``; an attribute the document leaves out is
    None, as a PUT replaces the whole resource (RFC 7644 section 3.5.1). ``role`` is read from
    the body by ``requested_role``: the library drops it, as it is read-only.
    """
    name = person.name or Name()
    enterprise = person[EnterpriseUser] or EnterpriseUser()
    mims = person[MimsUser] or MimsUser.model_validate({})
    given = _text(name.given_name)
    family = _text(name.family_name)
    display = _text(person.display_name)
    full = _text(name.formatted) or display
    full = full or " ".join(part for part in (given, family) if part) or None
    login = _text(person.user_name)
    if full is None and login:
        full = login.partition("@")[0]  # a client that only names the login ID
    if full is None:
        raise InvalidValue("give the person a name: name.formatted, displayName or name.givenName")
    values = PersonChange(
        full_name=full,
        given_name=given,
        family_name=family,
        middle_name=_text(name.middle_name),
        honorific_prefix=_text(name.honorific_prefix),
        honorific_suffix=_text(name.honorific_suffix),
        display_name=display,
        title=_text(person.title),
        external_id=_text(person.external_id),
        employee_number=_text(enterprise.employee_number),
        department=_text(enterprise.department),
        organization=_text(enterprise.organization),
        school=_text(mims.school),
        other_schools=frozenset(filter(None, map(_text, mims.other_schools or []))),
        level=_text(mims.level),
        class_name=_text(mims.class_name),
        disabled=person.active is False,
        manager_id=_text(enterprise.manager.value if enterprise.manager else None),
    )
    return UserInput(
        login_id=login,
        values=values,
        role=_role(role),
        password=person.password or None,
        locked=mims.locked,
    )


def requested_role(document: Mapping[str, Any]) -> str | None:
    """Return the MIMS ``role`` a canonical User body sends (it chooses a new login's domain)."""
    mims = document.get(MIMS_USER)
    return text(mims.get("role"), "role") if isinstance(mims, dict) else None


def _role(value: str | None) -> Role | None:
    if value is not None and value not in ROLES:
        raise InvalidValue(f"role must be one of {', '.join(ROLES)}")
    return value


def _text(value: str | None) -> str | None:
    """Return a validated optional string stripped; empty means absent."""
    return value.strip() or None if value is not None else None


def present(document: Mapping[str, Any]) -> frozenset[str]:
    """Return which of the REMOVABLE attributes a canonical User document carries."""
    mims = document.get(MIMS_USER)
    values = {
        "name": document.get("name") or None,
        "active": document.get("active"),
        "locked": mims.get("locked") if isinstance(mims, dict) else None,
    }
    return frozenset(name for name, value in values.items() if value is not None)


def without_request_only(document: dict[str, Any], attributes: str | None) -> dict[str, Any]:
    """Drop the COMPUTED MIMS attributes that ``attributes`` does not name (RFC 7643 section 7)."""
    mims = document.get(MIMS_USER)
    if not isinstance(mims, dict):
        return document
    asked = {item.strip().lower() for item in (attributes or "").split(",")}
    if MIMS_USER.lower() in asked:
        return document
    kept = {
        key: value
        for key, value in mims.items()
        if key not in COMPUTED or f"{MIMS_USER}:{key}".lower() in asked
    }
    result = {key: value for key, value in document.items() if key != MIMS_USER}
    return result | ({MIMS_USER: kept} if kept else {})


def to_scim_group(group: Group, base: str, members: bool = True) -> dict[str, Any]:
    """Return a group as a SCIM Group (RFC 7643 section 4.2)."""
    document: dict[str, Any] = {
        "schemas": [CORE_GROUP],
        "id": group.id,
        "externalId": group.external_id,
        "displayName": group.name,
        "meta": _drop_empty(
            {
                "resourceType": "Group",
                "created": _time(group.created),
                "lastModified": _time(group.modified),
                "location": f"{base}/Groups/{group.id}",
                "version": etag(group.version),
            }
        ),
    }
    if members:
        document["members"] = [
            {"value": member, "$ref": f"{base}/Users/{member}", "type": "User"}
            for member in group.member_ids
        ]
    return _drop_empty(document) | ({"members": document["members"]} if members else {})


@dataclass(frozen=True)
class GroupInput:
    """What a SCIM Group document asks for."""

    name: str
    external_id: str | None
    member_ids: list[str]


def from_scim_group(group: ScimGroup) -> GroupInput:
    """Read a validated SCIM Group (POST or PUT body)."""
    name = _text(group.display_name)
    if name is None:
        raise InvalidValue("a group needs a displayName")
    ids = [member.value for member in group.members or []]
    if any(not member for member in ids):
        raise InvalidValue("each member must be an object with a 'value' (the member's id)")
    return GroupInput(name, _text(group.external_id), [str(member) for member in ids])


def member_ids(value: Any) -> list[str]:
    """Read a members value: a list of {"value": id} objects (or one such object)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    ids = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise InvalidValue("each member must be an object with a 'value' (the member's id)")
        ids.append(item["value"])
    return ids
