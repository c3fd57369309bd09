"""People and groups as the bridge's core sees them: plain values, no LDAP, no HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bridge.core.naming import LoginId

Role = Literal["student", "staff", "hq"]
ROLES: tuple[Role, ...] = ("student", "staff", "hq")
GroupKind = Literal["school", "level", "class", "custom"]

# Fields a caller may set or change on a person; `Changes` maps these names to new values.
PERSON_FIELDS = (
    "full_name",
    "given_name",
    "family_name",
    "middle_name",
    "honorific_prefix",
    "honorific_suffix",
    "display_name",
    "school",
    "level",
    "class_name",
    "external_id",
    "employee_number",
    "department",
    "organization",
    "recovery_email",
    "disabled",
    "user_name",
    "client_removed",
)
Changes = dict[str, str | bool | frozenset[str] | None]
MAX_TEXT = 256  # characters in any one name or label


class InvalidField(ValueError):
    """A field value breaks the rules every stored text follows."""


def check_values(values: Changes) -> None:
    """Refuse text that no directory should hold: control characters, or over MAX_TEXT long."""
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_TEXT:
            raise InvalidField(f"{name} is longer than {MAX_TEXT} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise InvalidField(f"{name} contains a control character")
    if "full_name" in values and not str(values["full_name"] or "").strip():
        raise InvalidField("full_name is empty")


@dataclass(frozen=True)
class LockState:
    """A ppolicy lock from failed logins; separate from an administrative disable."""

    locked: bool = False
    failures: int = 0
    locked_since: datetime | None = None
    permanent: bool = False


@dataclass(frozen=True, kw_only=True)
class PersonFields:
    """The fields a caller sets on a person (PERSON_FIELDS), shared by new and stored people."""

    full_name: str
    role: Role
    given_name: str | None = None
    family_name: str | None = None
    middle_name: str | None = None
    honorific_prefix: str | None = None
    honorific_suffix: str | None = None
    display_name: str | None = None
    school: str | None = None
    level: str | None = None
    class_name: str | None = None
    external_id: str | None = None
    employee_number: str | None = None
    department: str | None = None
    organization: str | None = None
    recovery_email: str | None = None
    disabled: bool = False
    # The name a provisioning client knows the person by when it is not their login ID
    # (SCIM ``[scim] usernames = "client"``); unique without regard to case.
    user_name: str | None = None
    # SCIM attributes a client removed although the directory keeps or computes them ("name":
    # the full name stays, "active", "locked"): not shown to clients until they set them again.
    client_removed: frozenset[str] = frozenset()

    def values(self) -> Changes:
        """Return the settable fields as a mapping, to compare with a wanted state."""
        return {name: getattr(self, name) for name in PERSON_FIELDS}


@dataclass(frozen=True, kw_only=True)
class Person(PersonFields):
    """A MIMS account as stored in the directory."""

    id: str
    login_id: LoginId
    answers_set: bool = False
    policy: str | None = None
    lock: LockState = field(default_factory=LockState)
    groups: tuple[str, ...] = ()
    # {group name: group id} when the directory resolved them with the read; None otherwise.
    group_ids: Mapping[str, str] | None = field(default=None, compare=False, hash=False)
    created: datetime | None = None
    modified: datetime | None = None
    version: str | None = None
    manager_id: str | None = None  # the id of another person; not in PERSON_FIELDS (imports)

    @property
    def active(self) -> bool:
        """Return whether the account may sign in as far as administrators are concerned."""
        return not self.disabled


@dataclass(frozen=True, kw_only=True)
class NewPerson(PersonFields):
    """What is needed to create a person; the login ID is derived from the name if not given."""

    login_id: LoginId | None = None
    password: str | None = field(default=None, repr=False)
    manager_id: str | None = None


@dataclass(frozen=True)
class Group:
    """A groupOfNames: a school, a level, a class, or a group a SCIM client made."""

    id: str
    name: str
    kind: GroupKind
    member_ids: tuple[str, ...] = ()
    external_id: str | None = None
    address: str | None = None  # its e-mail address (mail), made once from the first name
    created: datetime | None = None
    modified: datetime | None = None
    version: str | None = None


def school_group_names(
    school: str | None, level: str | None, class_name: str | None
) -> list[tuple[GroupKind, str]]:
    """Return the managed groups a person belongs to by school, level and class."""
    if not school:
        return []
    names: list[tuple[GroupKind, str]] = [("school", school)]
    if level:
        names.append(("level", f"{school} / {level}"))
        if class_name:
            names.append(("class", f"{school} / {level} / {class_name}"))
    return names
