"""People and groups as the bridge's core sees them: plain values, no LDAP, no HTTP."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Final, Literal, TypeVar, get_args

from bridge.core.naming import LoginId

Role = Literal["student", "staff", "hq"]
ROLES: tuple[Role, ...] = ("student", "staff", "hq")
GroupKind = Literal["school", "level", "class", "custom"]

# The fields a caller may set or change on a person (PersonFields, PersonChange).
PersonField = Literal[
    "full_name",
    "given_name",
    "family_name",
    "middle_name",
    "honorific_prefix",
    "honorific_suffix",
    "display_name",
    "school",
    "other_schools",
    "level",
    "class_name",
    "external_id",
    "employee_number",
    "department",
    "organization",
    "title",
    "recovery_email",
    "disabled",
    "user_name",
    "manager_id",
    "client_removed",
]
PERSON_FIELDS: tuple[PersonField, ...] = get_args(PersonField)
FieldValue = str | bool | frozenset[str] | None
MAX_TEXT = 256  # characters in any one name or label


class InvalidField(ValueError):
    """A field value breaks the rules every stored text follows."""


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
    school: str | None = None  # the main one: its level, class and password policy
    # Further schools a member of staff also works in (a student has one school at most).
    other_schools: frozenset[str] = frozenset()
    level: str | None = None
    class_name: str | None = None
    external_id: str | None = None
    employee_number: str | None = None
    department: str | None = None
    organization: str | None = None
    title: str | None = None  # job title, such as "Head of Mathematics"
    recovery_email: str | None = None
    disabled: bool = False
    # The name a provisioning client knows the person by when it is not their login ID
    # (SCIM ``[scim] usernames = "client"``); unique without regard to case.
    user_name: str | None = None
    manager_id: str | None = None  # the id of another person
    # SCIM attributes a client removed although the directory keeps or computes them ("name":
    # the full name stays, "active", "locked"): not shown to clients until they set them again.
    client_removed: frozenset[str] = frozenset()

    @property
    def schools(self) -> tuple[str, ...]:
        """Return every school of the person, the main one first, then the others sorted."""
        return all_schools(self.school, self.other_schools)


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
    # When the password was last set (by anyone, by any path); None if never since creation.
    password_changed: datetime | None = None
    # The password is a temporary one (an administrator's reset): it must be changed before
    # the account is used (ppolicy's pwdReset); read-only, set and cleared by password writes.
    must_change: bool = False
    # Where the directory keeps the person, opaque to the core (an LDAP DN): a change made
    # just after a read passes the person read, and the directory need not find them again.
    locator: str | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def active(self) -> bool:
        """Return whether the account may sign in as far as administrators are concerned."""
        return not self.disabled


@dataclass(frozen=True, kw_only=True)
class NewPerson(PersonFields):
    """What is needed to create a person; the login ID is derived from the name if not given."""

    login_id: LoginId | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_change(
        cls,
        change: PersonChange,
        role: Role,
        login_id: LoginId | None = None,
        password: str | None = None,
    ) -> NewPerson:
        """Return the new person a change describes; it must set the full name."""
        if change.full_name is UNCHANGED:
            raise InvalidField("full_name is empty")
        person = cls(full_name=change.full_name, role=role, login_id=login_id, password=password)
        return change.applied_to(person)


class Unchanged(Enum):
    """The type of UNCHANGED, so that a type checker tells "leave it" from a new value."""

    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged.UNCHANGED  # a field a change leaves as it is; None clears one

_Fields = TypeVar("_Fields", bound=PersonFields)


@dataclass(frozen=True, kw_only=True)
class PersonChange:
    """New values for some of a person's fields (PERSON_FIELDS); the rest stay as they are.

    A field left UNCHANGED is not written; None clears an optional field. The role and the
    login ID are not fields: they change by moving the entry (``change_role``, ``rename_login``).
    """

    full_name: str | Unchanged = UNCHANGED
    given_name: str | None | Unchanged = UNCHANGED
    family_name: str | None | Unchanged = UNCHANGED
    middle_name: str | None | Unchanged = UNCHANGED
    honorific_prefix: str | None | Unchanged = UNCHANGED
    honorific_suffix: str | None | Unchanged = UNCHANGED
    display_name: str | None | Unchanged = UNCHANGED
    school: str | None | Unchanged = UNCHANGED
    other_schools: frozenset[str] | Unchanged = UNCHANGED
    level: str | None | Unchanged = UNCHANGED
    class_name: str | None | Unchanged = UNCHANGED
    external_id: str | None | Unchanged = UNCHANGED
    employee_number: str | None | Unchanged = UNCHANGED
    department: str | None | Unchanged = UNCHANGED
    organization: str | None | Unchanged = UNCHANGED
    title: str | None | Unchanged = UNCHANGED
    recovery_email: str | None | Unchanged = UNCHANGED
    disabled: bool | Unchanged = UNCHANGED
    user_name: str | None | Unchanged = UNCHANGED
    manager_id: str | None | Unchanged = UNCHANGED
    client_removed: frozenset[str] | Unchanged = UNCHANGED

    @classmethod
    def setting(
        cls, values: PersonFields | PersonChange, names: Iterable[PersonField] = PERSON_FIELDS
    ) -> PersonChange:
        """Return the change that gives the named fields the values they have in ``values``."""
        return cls(**{name: getattr(values, name) for name in names})

    def changed(self) -> tuple[PersonField, ...]:
        """Return the names of the fields this change sets, in PERSON_FIELDS order."""
        return tuple(name for name in PERSON_FIELDS if getattr(self, name) is not UNCHANGED)

    def items(self) -> list[tuple[PersonField, FieldValue]]:
        """Return each field this change sets, with its new value."""
        return list(self._set().items())

    def applied_to(self, values: _Fields) -> _Fields:
        """Return a person's fields (new or stored) as they are after this change."""
        return replace(values, **self._set())

    def _set(self) -> dict[PersonField, Any]:
        return {name: getattr(self, name) for name in self.changed()}


def change_between(current: PersonFields, wanted: PersonChange) -> PersonChange:
    """Return the part of a wanted state that differs from a person's fields: what to write."""
    differing = [name for name, value in wanted.items() if getattr(current, name) != value]
    return PersonChange.setting(wanted, differing)


def check_change(change: PersonChange) -> None:
    """Refuse text that no directory should hold: control characters, or over MAX_TEXT long."""
    for name, value in change.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_TEXT:
            raise InvalidField(f"{name} is longer than {MAX_TEXT} characters")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise InvalidField(f"{name} contains a control character")
    if change.full_name is not UNCHANGED and not change.full_name.strip():
        raise InvalidField("full_name is empty")
    if change.other_schools is not UNCHANGED:
        for school in change.other_schools:
            check_change(PersonChange(school=school))


def all_schools(school: str | None, others: Iterable[str]) -> tuple[str, ...]:
    """Return the main school, then the other schools sorted, each once (case ignored)."""
    found = {school.casefold(): school} if school else {}
    for other in sorted(others):
        found.setdefault(other.casefold(), other)
    return tuple(found.values())


def check_schools(person: PersonFields) -> None:
    """Refuse a student in more than one school."""
    if person.role == "student" and len(person.schools) > 1:
        raise InvalidField(
            f"a student belongs to exactly one school, not {len(person.schools)} "
            f"({'; '.join(person.schools)}): only staff and hq may have other schools"
        )


@dataclass(frozen=True)
class Group:
    """A group: a school, a level, a class, or a group a SCIM client made."""

    id: str
    name: str
    kind: GroupKind
    member_ids: tuple[str, ...] = ()
    external_id: str | None = None
    address: str | None = None  # its e-mail address (mail), made once from the first name
    posix_name: str | None = None  # its NSS name (core/posix_group_name.py), made with it
    gid_number: int | None = None  # its POSIX group ID, allocated once
    created: datetime | None = None
    modified: datetime | None = None
    version: str | None = None


def school_group_names(
    school: str | None,
    level: str | None,
    class_name: str | None,
    other_schools: Iterable[str] = (),
) -> list[tuple[GroupKind, str]]:
    """Return the managed groups a person belongs to by school(s), level and class."""
    schools = all_schools(school, other_schools)
    names: list[tuple[GroupKind, str]] = [("school", name) for name in schools]
    if school and level:
        names.append(("level", f"{school} / {level}"))
        if class_name:
            names.append(("class", f"{school} / {level} / {class_name}"))
    return names
