"""The SCIM resources the bridge serves, as scim2-models classes (RFC 7643 sections 4 and 7).

Only what the directory stores, with the mutability it really has: /Schemas and /ResourceTypes
are generated from these classes (discovery.py), so what is published is what is declared
here. The core User and Group are declared anew rather than taken from scim2-models' ``User``
and ``Group``, which carry every attribute of RFC 7643 (phone numbers, addresses, x509...) that
the bridge does not keep; the name, e-mail and manager sub-attributes are the library's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    ComplexAttribute,
    Extension,
    Mutability,
    Name,
    Reference,
    Required,
    Resource,
    Returned,
    Uniqueness,
)

from bridge.scim.filters import CORE_GROUP, CORE_USER, ENTERPRISE_USER, MIMS_USER

# References name resource types (RFC 7643 section 7, referenceTypes).
GroupRef = Reference["Group"]
UserRef = Reference["User"]  # type: ignore[type-arg]  # as scim2-models writes it


class Email(ComplexAttribute):
    """The one e-mail address: the login ID."""

    value: Annotated[str | None, Mutability.read_only] = None
    """The login ID."""

    type: Annotated[str | None, Mutability.read_only] = Field(None, examples=["work"])
    """Always work."""

    primary: Annotated[bool | None, Mutability.read_only] = None
    """Always true: the one address."""


class GroupMembership(ComplexAttribute):
    """A group the person is in."""

    value: Annotated[str | None, Mutability.read_only] = None
    """The group's id."""

    ref: Annotated[GroupRef | None, Mutability.read_only] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The group's location."""

    display: Annotated[str | None, Mutability.read_only] = None
    """The group's name."""


class User(Resource[AnyExtension]):
    """A MIMS account."""

    __schema__ = URN(CORE_USER)

    user_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The login ID, such as ann_lee@students.edu.sg, made from the name when left out; with
    [scim] usernames = "client" any name the client chooses."""

    name: Name | None = None
    """The person's name; formatted is the full name the login ID is made from."""

    display_name: str | None = None
    """The name to show (LDAP consumers see the full name when none is given)."""

    title: str | None = None
    """The job title, such as Head of Mathematics."""

    active: bool | None = None
    """false: disabled by an administrator."""

    emails: Annotated[list[Email] | None, Mutability.read_only] = None
    """The login ID as the one work address (read-only mirror of userName)."""

    password: Annotated[str | None, Mutability.write_only, Returned.never] = None
    """Hashed by the directory; never returned."""

    groups: Annotated[list[GroupMembership] | None, Mutability.read_only] = None
    """Groups the person is in (schools, levels, classes)."""


class Manager(ComplexAttribute):
    """The person's manager, another person."""

    value: str | None = None
    """The manager's id."""


class EnterpriseUser(Extension):
    """Enterprise User extension (RFC 7643 section 4.3)."""

    __schema__ = URN(ENTERPRISE_USER)

    employee_number: str | None = None
    """An identifier the organisation gives the person."""

    department: str | None = None
    """The person's department."""

    organization: str | None = None
    """The person's organisation."""

    manager: Manager | None = None
    """Another person, by id."""


class MimsUser(Extension):
    """What a MIMS account carries beyond a User."""

    __schema__ = URN(MIMS_USER)

    school: str | None = None
    """The school the person belongs to (the main one, for someone in several)."""

    other_schools: list[str] | None = None
    """Further schools a member of staff also works in; a student has one school. Filters
    on school find the person in each."""

    level: str | None = None
    """Such as P4 or S2."""

    class_name: str | None = None
    """Such as 4A."""

    role: Annotated[str | None, Mutability.read_only] = Field(
        None, examples=["student", "staff", "hq"]
    )
    """Decided by the login ID's domain."""

    login_id: Annotated[str | None, Mutability.read_only] = None
    """The login ID, made from the name unless userName is one."""

    locked: bool | None = None
    """Locked after failed sign-ins or by an administrator; false unlocks."""

    answers_set: Annotated[bool | None, Mutability.read_only] = None
    """Whether the person has chosen challenge answers for password reset."""

    must_change: Annotated[bool | None, Mutability.read_only] = None
    """Whether the password is a temporary one that must be changed before it is used."""


# A User as the bridge reads and writes it: with both extensions.
ScimUser = User[EnterpriseUser | MimsUser]

# Server-computed MIMS attributes: returned only when asked for with usernames = "client".
COMPUTED = ("role", "loginId", "answersSet", "mustChange")


class GroupMember(ComplexAttribute):
    """A person in a group."""

    value: Annotated[str | None, Mutability.immutable] = None
    """The member's id."""

    ref: Annotated[UserRef | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The member's location."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """Always User: groups hold people."""


class Group(Resource[Any]):
    """A school, level, class, or a group a client made."""

    __schema__ = URN(CORE_GROUP)

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """The group's name."""

    members: list[GroupMember] | None = None
    """The people in the group."""
