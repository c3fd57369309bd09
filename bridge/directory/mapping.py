"""Entries <-> people and groups: the one table of attribute names, and the conversions."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

from bridge.core.naming import LoginId
from bridge.core.people import (
    FieldValue,
    Group,
    GroupKind,
    LockState,
    Person,
    PersonChange,
    PersonField,
    PersonFields,
    Role,
)
from bridge.core.posix import PosixRules
from bridge.directory import controls, dn

# Person field -> LDAP attribute, for every field a caller may set but the manager, whose
# attribute holds a DN found by the manager's id. docs/directory-schema.md says what each
# attribute means, and which DERIVED ones consumers read instead.
PERSON_ATTRIBUTES: dict[PersonField, str] = {
    "full_name": "cn",
    "given_name": "givenName",
    "family_name": "sn",
    "middle_name": "mimsMiddleName",
    "honorific_prefix": "mimsHonorificPrefix",
    "honorific_suffix": "mimsHonorificSuffix",
    "display_name": "displayName",
    "school": "mimsSchool",
    "other_schools": "mimsOtherSchool",
    "level": "mimsLevel",
    "class_name": "mimsClass",
    "external_id": "mimsExternalId",
    "employee_number": "employeeNumber",
    "department": "mimsDepartment",
    "organization": "mimsOrganization",
    "title": "title",
    "recovery_email": "mimsRecoveryEmail",
    "disabled": "mimsDisabled",
    "user_name": "mimsUserName",
    "client_removed": "mimsScimRemoved",
}
PERSON_CLASSES = [
    "top",
    "person",
    "organizationalPerson",
    "inetOrgPerson",
    "mimsPerson",
    "mimsScimPerson",
    "mimsScimRemovals",
    "posixAccount",  # nis.ldif: what SSSD, nslcd and Dovecot need (uidNumber, homeDirectory)
    "shadowAccount",  # shadowExpire: a disabled account, seen by consumers that never bind
    "mimsPersonPlacement",
]
# shadowExpire counts days since 1970; day 1 is long past, so the account has expired.
SHADOW_EXPIRED = "1"
# Attributes LDAP consumers read that the bridge computes from the fields and the role
# (derived_attributes); written with the fields they come from, in the same modify.
DERIVED = ("displayName", "sn", "o", "ou", "employeeType")
PERMANENT_LOCK = "000001010000Z"  # ppolicy's value for "locked until an administrator unlocks"
# Secrets (lower case): the feed never reads them, and no command shows their values.
SECRET_ATTRIBUTES = frozenset(
    {"userpassword", "mimschallengeanswer", "mimstokenhash", "pwdhistory"}
)
# Lift a lock and forget the failed sign-ins. pwdFailureTime is NO-USER-MODIFICATION, but
# slapd's ppolicy deletes it itself when a modify deletes pwdAccountLockedTime (a replace by
# nothing does not); replacing first makes the delete valid whether or not a lock was there.
UNLOCK: list[tuple[str, list[str]]] = [(MODIFY_REPLACE, [PERMANENT_LOCK]), (MODIFY_DELETE, [])]


def login_attributes(login_id: LoginId, posix: PosixRules) -> dict[str, list[str]]:
    """Return the attributes that follow a login ID: uid (the RDN), mail, the home folder."""
    return {
        "uid": [login_id.local],
        "mail": [str(login_id)],
        "homeDirectory": [posix.home(login_id.local)],
    }


def posix_attributes(role: Role, disabled: bool, posix: PosixRules) -> dict[str, list[str]]:
    """Return a new person's posix attributes but the numbers and home (they come later)."""
    attributes = {"loginShell": [posix.shell(role)]}
    if disabled:
        attributes["shadowExpire"] = [SHADOW_EXPIRED]
    return attributes


def numbers(uid_number: int) -> dict[str, list[str]]:
    """Return uidNumber and gidNumber: a person's group is their own (a user private group)."""
    return {"uidNumber": [str(uid_number)], "gidNumber": [str(uid_number)]}


# What to ask for when reading a person: operational attributes must be named.
# What a sign-in reads before the bind (people_read.find_sign_in): enough for the bind's DN
# and the disabled check, and no more, so found and missing IDs cost alike.
SIGN_IN_READ = ["mail", "mimsRole", "mimsDisabled", "entryUUID"]
PERSON_READ = [
    *PERSON_ATTRIBUTES.values(),
    "o",
    "uid",
    "mail",
    "mimsRole",
    "mimsPolicyName",
    "mimsChallengeSetTime",
    "memberOf",
    "entryUUID",
    "entryCSN",
    "createTimestamp",
    "modifyTimestamp",
    "pwdAccountLockedTime",
    "pwdFailureTime",
    "pwdChangedTime",
    "pwdReset",
    "manager",
]
GROUP_KIND_ATTRIBUTE = "businessCategory"
# A group is one structural class (schemas/mims.ldif): no member value when it is empty.
GROUP_CLASS = "mimsGroup"
GROUP_CLASSES = ["top", GROUP_CLASS]
IS_GROUP = f"(objectClass={GROUP_CLASS})"
POSIX_NAME = "mimsPosixName"
GROUP_READ = [
    "cn",
    "member",
    GROUP_KIND_ATTRIBUTE,
    "entryUUID",
    "entryCSN",
    "createTimestamp",
    "modifyTimestamp",
    "mimsExternalId",
    "mail",
    POSIX_NAME,
    "gidNumber",
]


_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def is_uuid(text: str) -> bool:
    """Return whether text can be an entryUUID (anything else can match no entry)."""
    return bool(_UUID.match(text))


def ldap_value(value: FieldValue) -> list[str]:
    """Return the LDAP values for a field value: [] removes the attribute."""
    if isinstance(value, frozenset):  # once each: the attributes compare without case
        once: dict[str, str] = {}
        for item in sorted(value):
            once.setdefault(item.casefold(), item)
        return list(once.values())
    if value is None or value == "" or value is False:
        return []
    if value is True:
        return ["TRUE"]
    return [str(value)]


def person_attributes(new: PersonFields, role: Role) -> dict[str, list[str]]:
    """Return the attributes of a new person entry, but for its login ID and manager."""
    attributes: dict[str, list[str]] = {"objectClass": PERSON_CLASSES, "mimsRole": [role]}
    for field, value in PersonChange.setting(new, PERSON_ATTRIBUTES).items():
        if values := ldap_value(value):
            attributes[PERSON_ATTRIBUTES[field]] = values
    derived = derived_attributes(new if new.role == role else replace(new, role=role))
    attributes |= {name: values for name, values in derived.items() if values}
    return attributes


def derived_attributes(person: PersonFields) -> dict[str, list[str]]:
    """Return the DERIVED attributes of a person with these fields ([] removes one).

    displayName is the full name unless one is given; sn the family name, else the full name
    (inetOrgPerson requires sn); o every school, the main one first; ou a student's class or
    staff's department; employeeType the role.
    """
    unit = person.class_name if person.role == "student" else person.department
    return {
        "displayName": [person.display_name or person.full_name],
        "sn": [person.family_name or person.full_name],
        "o": list(person.schools),
        "ou": ldap_value(unit),
        "employeeType": [person.role],
    }


def derived_changes(
    before: PersonFields, after: PersonFields, written: Collection[str] = ()
) -> dict[str, list[str]]:
    """Return the new values of the DERIVED attributes that a change of fields moves.

    Also of those a field's own write touched (``written``: displayName, sn), so that they
    hold the derived value: a displayName cleared falls back to the full name.
    """
    old, new = derived_attributes(before), derived_attributes(after)
    return {name: values for name, values in new.items() if values != old[name] or name in written}


def _text(raw: Mapping[str, Sequence[bytes]], attribute: str) -> str | None:
    values = raw.get(attribute) or []
    return values[0].decode("utf-8", errors="replace").rstrip("\0") if values else None


def _texts(raw: Mapping[str, Sequence[bytes]], attribute: str) -> list[str]:
    return [value.decode("utf-8", errors="replace") for value in raw.get(attribute) or []]


def generalized_time(text: str | None) -> datetime | None:
    """Parse an LDAP GeneralizedTime such as ``20261123161341Z`` (fractions ignored)."""
    if not text or text == PERMANENT_LOCK:
        return None
    digits = text.rstrip("Z").split(".")[0]
    if len(digits) == 14 and digits.isascii() and digits.isdigit():
        # What slapd writes; read without strptime, which costs ~10x more (3 per person read).
        year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
        hour, minute, second = int(digits[8:10]), int(digits[10:12]), int(digits[12:14])
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def to_generalized_time(moment: datetime) -> str:
    """Format a datetime as an LDAP GeneralizedTime in UTC."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


# PERSON_ATTRIBUTES as the keys of _lower_keys, lowered once rather than with every read.
_PERSON_KEYS = tuple((field, attribute.lower()) for field, attribute in PERSON_ATTRIBUTES.items())


def to_person(entry: Mapping[str, Any]) -> Person:
    """Return the Person an ldap3 search response entry describes."""
    raw: Mapping[str, Sequence[bytes]] = _lower_keys(entry["raw_attributes"])
    resolved = dereferenced(entry)
    mail = _text(raw, "mail") or ""
    role = _text(raw, "mimsrole") or dn.role_of(entry["dn"]) or "student"
    locked_time = _text(raw, "pwdaccountlockedtime")
    fields: dict[str, Any] = {field: _text(raw, key) for field, key in _PERSON_KEYS}
    fields["disabled"] = fields["disabled"] == "TRUE"
    fields["client_removed"] = frozenset(_texts(raw, "mimsscimremoved"))
    if fields["family_name"] == fields["full_name"] and not fields["given_name"]:
        fields["family_name"] = None  # the one-name case stored in sn only because it is required
    if fields["display_name"] == fields["full_name"]:
        fields["display_name"] = None  # the full name, shown because no other was given
    fields["other_schools"] = frozenset(_texts(raw, "mimsotherschool"))
    return Person(
        id=_text(raw, "entryuuid") or "",
        login_id=LoginId.parse(mail),
        role=role,  # type: ignore[arg-type]
        answers_set=_text(raw, "mimschallengesettime") is not None,
        policy=_text(raw, "mimspolicyname"),
        lock=LockState(
            locked=locked_time is not None,
            failures=len(raw.get("pwdfailuretime") or []),
            locked_since=generalized_time(locked_time),
            permanent=locked_time == PERMANENT_LOCK,
        ),
        groups=tuple(
            sorted(
                dn.first_value(group)
                for group in _texts(raw, "memberof")
                if not dn.is_grant_group(group)  # an administrator's grant is no group
            )
        ),
        group_ids=_resolved_groups(resolved),
        manager_id=_resolved_manager(resolved),
        created=generalized_time(_text(raw, "createtimestamp")),
        modified=generalized_time(_text(raw, "modifytimestamp")),
        version=_text(raw, "entrycsn"),
        password_changed=generalized_time(_text(raw, "pwdchangedtime")),
        must_change=_text(raw, "pwdreset") == "TRUE",
        locator=str(entry["dn"]),
        **fields,
    )


# Sent with every read of people: their groups' and manager's ids come back with the entry.
RESOLVE_LINKS = controls.deref_request({"memberOf": ["entryUUID"], "manager": ["entryUUID"]})
# Sent with a write that returns the person: the entry as it left it (RFC 4527), encoded once.
READ_BACK = controls.post_read(PERSON_READ)


def dereferenced(entry: Mapping[str, Any]) -> list[controls.Dereferenced] | None:
    """Return what the deref control resolved for an entry; None if the directory did not.

    slapd sends no control for an entry without groups or manager, so None is also "nothing
    to resolve": callers fall back to a search, which then finds nothing to look up.
    """
    found = (entry.get("controls") or {}).get(controls.DEREF)
    return controls.deref_response(found["value"]) if found else None


def _resolved_groups(resolved: list[controls.Dereferenced] | None) -> dict[str, str] | None:
    if resolved is None:
        return None
    return {
        dn.first_value(target): uuid
        for target, uuid in _linked(resolved, "memberof")
        if not dn.is_grant_group(target)
    }


def _resolved_manager(resolved: list[controls.Dereferenced] | None) -> str | None:
    return next((uuid for _, uuid in _linked(resolved or [], "manager")), None)


def _linked(resolved: list[controls.Dereferenced], attribute: str) -> list[tuple[str, str]]:
    """Return (DN, entryUUID) of each entry that ``attribute`` names and the directory read."""
    return [
        (link.dn, link.values["entryuuid"][0].decode())
        for link in resolved
        if link.attribute.lower() == attribute and link.values.get("entryuuid")
    ]


def manager_dn(entry: Mapping[str, Any]) -> str | None:
    """Return the DN in an entry's ``manager`` attribute, if any."""
    return _text(_lower_keys(entry["raw_attributes"]), "manager")


def to_group(entry: Mapping[str, Any], member_ids: Sequence[str]) -> Group:
    """Return the Group an ldap3 search response entry describes."""
    raw: Mapping[str, Sequence[bytes]] = _lower_keys(entry["raw_attributes"])
    kind = (_text(raw, GROUP_KIND_ATTRIBUTE.lower()) or "custom").removeprefix("mims:")
    return Group(
        id=_text(raw, "entryuuid") or "",
        name=_text(raw, "cn") or dn.first_value(entry["dn"]),
        kind=kind if kind in ("school", "level", "class") else "custom",  # type: ignore[arg-type]
        member_ids=tuple(member_ids),
        external_id=_text(raw, "mimsexternalid"),
        address=_text(raw, "mail"),
        posix_name=_text(raw, POSIX_NAME.lower()),
        gid_number=int(gid) if (gid := _text(raw, "gidnumber")) else None,
        created=generalized_time(_text(raw, "createtimestamp")),
        modified=generalized_time(_text(raw, "modifytimestamp")),
        version=_text(raw, "entrycsn"),
    )


def group_kind_value(kind: GroupKind) -> str:
    """Return the businessCategory value that marks a group's kind."""
    return f"mims:{kind}"


def _lower_keys(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in raw.items()}
