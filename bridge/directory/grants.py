"""Administrators' grants in the directory: one ``mimsGroup`` per scope under ou=admins.

::

    cn=all,ou=admins,ou=services,SUFFIX                          MIMS administrators
    cn=school:Clementi Primary,ou=admins,ou=services,SUFFIX       its school administrators
    cn=class:Clementi Primary/4A,ou=admins,ou=services,SUFFIX     the form teachers of 4A

Members are people's DNs, so refint follows a rename (the grant stays with the person) and a
delete (the grant ends with them), and the memberof overlay gives each administrator a
``memberOf`` for each grant: one indexed read tells what a person holds. The ``reader``
service role reads these entries; only the bridge's own account writes them
(``slapd_config.access_rules``). Groups are made on first grant and stay when empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_DELETE, SUBTREE, Connection

from bridge.core.administration import (
    Administrator,
    AllSchools,
    School,
    Scope,
    parse_class,
    scope_label,
)
from bridge.core.naming import LoginId
from bridge.directory import dn, mapping
from bridge.directory.client import LdapClient
from bridge.errors import InvalidValue, NameTaken, NotFound

PERMISSIVE_MODIFY = ("1.2.840.113556.1.4.1413", False, None)  # adding a member twice is no error
GRANT_CATEGORY = "mims:admin"
_FILTER_BATCH = 200  # memberOf values in one search of `list`
Entries = list[dict[str, Any]]  # named here: the store's own `list` shadows the builtin
Names = list[str]


def scope_of_label(label: str) -> Scope | None:
    """Return the grant a group's name stands for (``all``, ``school:...``, ``class:...``)."""
    kind, colon, rest = label.partition(":")
    if label.lower() == "all":
        return AllSchools()
    try:
        if colon and kind.lower() == "school":
            return School(rest)
        if colon and kind.lower() == "class":
            return parse_class(rest)
    except InvalidValue:
        return None
    return None


def admins_ou(suffix: str) -> tuple[str, list[tuple[str, str]]]:
    """Return the OU of grants, for the base tree and the upgrade."""
    return (
        dn.admins_base(suffix),
        [
            ("objectClass", "top"),
            ("objectClass", "organizationalUnit"),
            ("ou", "admins"),
            ("description", "Administrators' grants (mims admin): one mimsGroup per scope"),
        ],
    )


def grant_group(scope: Scope, suffix: str) -> tuple[str, list[tuple[str, str]]]:
    """Return the (still empty) group of one grant; ``cn=all`` is in every base tree."""
    return (
        dn.grant_group_dn(scope_label(scope), suffix),
        [
            ("objectClass", "top"),
            ("objectClass", mapping.GROUP_CLASS),
            ("cn", scope_label(scope)),
            ("businessCategory", GRANT_CATEGORY),
            ("description", f"Administrators of {_describe(scope)} (mims admin grant)"),
        ],
    )


def _describe(scope: Scope) -> str:
    if isinstance(scope, AllSchools):
        return "every school, staff and HQ"
    if isinstance(scope, School):
        return f"the students and staff of {scope.name}"
    return f"the students of {scope.class_name} at {scope.school}"


class GrantStore:
    """The ``Grants`` port over ou=admins,ou=services."""

    def __init__(self, directory: LdapClient, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    def grant(self, login_id: LoginId, scopes: Iterable[Scope]) -> Administrator:
        """Add the person to each scope's group (made if missing); held grants stay."""
        member = self._dn_of(login_id)
        for scope in scopes:
            group = dn.grant_group_dn(scope_label(scope), self.suffix)
            try:
                self._change_member(group, MODIFY_ADD, member)
            except NotFound:
                self._add_group(scope, member)
        return self._administrator(login_id)

    def revoke(self, login_id: LoginId, scopes: Iterable[Scope] | None = None) -> Administrator:
        """Take the person out of the scopes' groups (None: out of every one they are in)."""
        member = self._dn_of(login_id)
        held = self._held(login_id)[1]
        wanted = held if scopes is None else {s for s in scopes if s in held}
        for scope in wanted:
            group = dn.grant_group_dn(scope_label(held[scope]), self.suffix)
            try:
                self._change_member(group, MODIFY_DELETE, member)
            except NotFound:
                continue
        return self._administrator(login_id)

    def list(self) -> list[Administrator]:
        """Return every person in a grant's group, with their grants, by login ID."""
        groups = self._groups()
        found: dict[str, Administrator] = {}
        for start in range(0, len(groups), _FILTER_BATCH):
            batch = groups[start : start + _FILTER_BATCH]
            for entry in self._people(f"(|{''.join(dn.equals('memberOf', g) for g in batch)})"):
                person = mapping.to_person(entry)
                found[person.id] = Administrator(person, frozenset(_scopes(entry).values()))
        return sorted(found.values(), key=lambda admin: str(admin.person.login_id))

    def of(self, login_id: LoginId) -> frozenset[Scope]:
        """Return the grants a person holds: their memberOf values under ou=admins."""
        return frozenset(self._held(login_id)[1].values())

    # -- helpers -------------------------------------------------------------------------------

    def _change_member(self, group: str, operation: str, member: str) -> None:
        """Add or delete one member; permissive, so a repeat or a non-member changes nothing."""
        changes = {"member": [(operation, [member])]}
        self.directory.run(
            lambda c: c.modify(group, changes, controls=[PERMISSIVE_MODIFY]),
            retry=operation == MODIFY_ADD,
        )

    def _held(self, login_id: LoginId) -> tuple[dict[str, Any] | None, dict[Scope, Scope]]:
        """Return the person's entry and {grant: grant as the group spells it}."""
        entries = self._people(dn.equals("mail", str(login_id)), ["memberOf"])
        if not entries:
            return None, {}
        return entries[0], _scopes(entries[0])

    def _administrator(self, login_id: LoginId) -> Administrator:
        entries = self._people(dn.equals("mail", str(login_id)))
        if not entries:
            raise NotFound(f"no person has the login ID {login_id}")
        return Administrator(mapping.to_person(entries[0]), frozenset(_scopes(entries[0]).values()))

    def _dn_of(self, login_id: LoginId) -> str:
        entries = self._people(dn.equals("mail", str(login_id)), ["1.1"])
        if not entries:
            raise NotFound(f"no person has the login ID {login_id}")
        return str(entries[0]["dn"])

    def _people(self, ldap_filter: str, attributes: Names | None = None) -> Entries:
        wanted = attributes or mapping.PERSON_READ

        def read(connection: Connection) -> Entries:
            connection.search(
                dn.people_base(self.suffix),
                f"(&(objectClass=mimsPerson){ldap_filter})",
                SUBTREE,
                attributes=wanted,
            )
            return [e for e in connection.response or [] if e.get("type") == "searchResEntry"]

        return self.directory.run(read)

    def _groups(self) -> Names:
        """Return the DNs of the grants' groups that have members."""

        def read(connection: Connection) -> Names:
            connection.search(
                dn.admins_base(self.suffix),
                f"(&{mapping.IS_GROUP}(member=*))",
                LEVEL,
                attributes=["1.1"],
            )
            return [
                str(e["dn"]) for e in connection.response or [] if e.get("type") == "searchResEntry"
            ]

        try:
            return self.directory.run(read)
        except NotFound:  # no ou=admins: a directory not made by the bridge, never granted
            return []

    def _add_group(self, scope: Scope, member: str) -> None:
        self._ensure_base()
        entry, attributes = grant_group(scope, self.suffix)
        values: dict[str, list[str]] = {}
        for name, value in [*attributes, ("member", member)]:
            values.setdefault(name, []).append(value)
        try:
            self.directory.add(entry, values)
        except NameTaken:  # made meanwhile by another grant: join it
            self._change_member(entry, MODIFY_ADD, member)

    def _ensure_base(self) -> None:
        base, attributes = admins_ou(self.suffix)

        def exists(connection: Connection) -> bool:
            connection.search(base, "(objectClass=*)", BASE, attributes=["1.1"])
            return bool(connection.response)

        try:
            if self.directory.run(exists):
                return
        except NotFound:
            pass
        values: dict[str, list[str]] = {}
        for name, value in attributes:
            values.setdefault(name, []).append(value)
        try:
            self.directory.add(base, values)
        except NameTaken:
            pass


def _scopes(entry: dict[str, Any]) -> dict[Scope, Scope]:
    """Return the grants a person entry's memberOf names: {grant: as the group spells it}."""
    raw = {key.lower(): value for key, value in entry["raw_attributes"].items()}
    found: dict[Scope, Scope] = {}
    for value in raw.get("memberof") or []:
        group = value.decode()
        if dn.is_grant_group(group) and (scope := scope_of_label(dn.first_value(group))):
            found[scope] = scope
    return found
