"""Writing people: create with an atomic login-ID allocation, change, move, delete.

Reads are in people_read.py (PeopleReadStore), which the writer extends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from ldap3 import MODIFY_REPLACE, SUBTREE, Connection

from bridge.core import group_address, naming, passwords
from bridge.core.group_address import AddressRules
from bridge.core.naming import LoginId, NamingRules
from bridge.core.people import (
    GroupKind,
    InvalidField,
    NewPerson,
    Person,
    PersonChange,
    PersonFields,
    Role,
    check_change,
    check_schools,
    school_group_names,
)
from bridge.core.policy_book import PolicyBook
from bridge.core.posix import DEFAULT_RULES, PosixRules
from bridge.directory import controls, dn, lookup, mapping, read_back
from bridge.directory.client import LdapClient
from bridge.directory.groups import GroupStore
from bridge.directory.id_numbers import IdNumbers
from bridge.directory.passwords import refuse_hashed, write_password
from bridge.directory.people_read import PeopleReadStore
from bridge.errors import (
    AlreadyExists,
    DirectoryUnavailable,
    InvalidValue,
    NameTaken,
    NotFound,
    PreconditionFailed,
)

# Past this many taken candidates something is wrong (a loop, not a popular name).
MAX_SUFFIX_ATTEMPTS = 100_000
NAMESAKE_BASES_AT_ONCE = 100  # substring filters in one search: ~8 KB of filter
_SUFFIXED = re.compile(r"^(?P<base>.+)_(?P<n>\d+)$")
# slapd's unique overlay makes its own search under the request's assertion control, which
# then fails on that search's base: a change to an attribute it guards always answered
# assertionFailed. Such a change is checked against the version ``update`` has just read
# instead of in the same operation (tests/directory/test_people.py shows both).
UNIQUE_ATTRIBUTES = frozenset({"mail", "mimsExternalId", "mimsUserName"})


@dataclass(frozen=True)
class Draft:
    """A checked new person: role, attributes, the base login ID, or the one chosen for them."""

    role: Role
    attributes: dict[str, list[str]]
    base: str
    login_id: LoginId | None


class PeopleStore(PeopleReadStore):
    """Read and write people; with PeopleReadStore, the only place that knows how one is stored."""

    def __init__(
        self,
        directory: LdapClient,
        suffix: str,
        domains: Mapping[Role, str],
        rules: NamingRules = naming.DEFAULT_RULES,
        book: PolicyBook | None = None,
        address_rules: AddressRules = group_address.DEFAULT_RULES,
        posix: PosixRules = DEFAULT_RULES,
    ) -> None:
        super().__init__(directory, suffix)
        self.posix = posix
        self.ids = IdNumbers(directory, suffix, posix)
        self.book = book
        self.domains = dict(domains)
        self.roles_by_domain = {domain: role for role, domain in self.domains.items()}
        self.rules = rules
        self.groups = GroupStore(directory, suffix, self.pager, address_rules, posix)

    # -- create --------------------------------------------------------------------------------

    def create(self, new: NewPerson) -> Person:
        """Add a person; without a chosen login ID take the first free one from the name.

        Without groups to join, the entry as added comes back with the add (post-read,
        RFC 4527): no read after the write.
        """
        groups = managed_groups(new)
        entry, values = self._create(new, want_entry=not groups)
        try:
            if values:
                return self._people([{"dn": entry, "raw_attributes": values}])[0]
            self.join_groups(entry, groups)
            return self._read(entry)
        except NotFound:
            # The add landed on a write target that failed just after; its successor has not
            # seen it yet. The outcome is not known here: say "try again", not "not found".
            raise DirectoryUnavailable(
                "the directory changed servers while the person was being added: try again"
            ) from None

    def create_entry(self, new: NewPerson) -> str:
        """Add a person's entry alone (no groups, no read-back) and return its DN; for bulk work."""
        return self._create(new)[0]

    def _create(
        self, new: NewPerson, want_entry: bool = False
    ) -> tuple[str, dict[str, list[bytes]] | None]:
        """Add a person's entry; return its DN, and with ``want_entry`` what the add wrote."""
        draft = self.numbered(self.draft(new), self.ids.uid_number())
        asked = [mapping.READ_BACK] if want_entry else None
        if draft.login_id is not None:
            return self._add(draft.login_id, draft.role, draft.attributes, asked)
        return self._allocate(draft.base, draft.role, draft.attributes, asked)

    def draft(self, new: NewPerson, base: str | None = None) -> Draft:
        """Check a new person and return the entry to add, with its first-choice login ID.

        The draft has no uidNumber yet: give it one with ``numbered`` (bulk work takes a block).
        ``base``: the login ID base already made from ``new.full_name`` with this store's naming
        rules (a roster row's, ``roster.Row.base``), so that an import does not make it twice.
        """
        self._check(PersonChange.setting(new))
        role = new.role
        if new.login_id is not None:
            role = self.role_for(new.login_id, new.role)
        self._check_schools(new if role == new.role else replace(new, role=role))
        attributes = mapping.person_attributes(new, role)
        attributes |= mapping.posix_attributes(role, bool(new.disabled), self.posix)
        attributes |= self._policy_attributes(role, new.school, new.level)
        if new.manager_id:
            attributes["manager"] = [self._manager_dn(new.manager_id)]
        if new.password:
            refuse_hashed(new.password)
            self._check_password(new, role)
            attributes["userPassword"] = [new.password]  # slapd hashes it (ppolicy hash cleartext)
        if base is None:
            try:
                base = naming.base_local_part(new.full_name, self.rules)
            except naming.InvalidName as error:
                if new.login_id is None:
                    raise InvalidValue(str(error)) from None
                base = new.login_id.local
        return Draft(role, attributes, base, new.login_id)

    def numbered(self, draft: Draft, uid_number: int) -> Draft:
        """Return a draft with its uidNumber (and gidNumber, the same: a user private group)."""
        return replace(draft, attributes=draft.attributes | mapping.numbers(uid_number))

    def first_choice(self, draft: Draft) -> tuple[str, dict[str, list[str]]]:
        """Return the DN and full attributes of a draft under its first-choice login ID."""
        return self.candidate(draft, 0)

    def candidate(self, draft: Draft, n: int) -> tuple[str, dict[str, list[str]]]:
        """Return the DN and attributes of a draft under its n-th login ID (base, base_1, ...)."""
        local = naming.with_suffix(draft.base, n, self.rules)
        login_id = draft.login_id or LoginId(local, self.domains[draft.role])
        entry = dn.person_dn(login_id.local, draft.role, self.suffix)
        return entry, draft.attributes | mapping.login_attributes(login_id, self.posix)

    def next_suffix(self, draft: Draft) -> int:
        """Return where a namesake's suffixes should start: one past the highest in use."""
        return self._next_suffix(draft.base)

    def allocate(self, draft: Draft) -> str:
        """Add a draft whose first choice was taken: the next free suffix, or NameTaken."""
        if "uidNumber" not in draft.attributes:
            draft = self.numbered(draft, self.ids.uid_number())
        if draft.login_id is not None:
            return self._add(draft.login_id, draft.role, draft.attributes)[0]
        return self._allocate(draft.base, draft.role, draft.attributes)[0]

    def _policy_attributes(
        self, role: Role, school: str | None, level: str | None
    ) -> dict[str, list[str]]:
        """Return pwdPolicySubentry and mimsPolicyName for the policy the rules choose."""
        if self.book is None:
            return {}
        name = self.book.name_for(role, school, level)
        return {"pwdPolicySubentry": [dn.policy_dn(name, self.suffix)], "mimsPolicyName": [name]}

    def _check_password(self, new: NewPerson, role: Role) -> None:
        if self.book is None or new.password is None:
            return
        login = (
            str(new.login_id) if new.login_id else naming.base_local_part(new.full_name, self.rules)
        )
        owner = passwords.Person(new.full_name, new.given_name, new.family_name, login)
        name = self.book.name_for(role, new.school, new.level)
        self.book.require(new.password, name, owner)

    def _check_new_password(self, after: Person, password: str) -> None:
        """Check a changed password against the policy the person will have after the change."""
        if self.book is None:
            return
        owner = passwords.Person(
            after.full_name, after.given_name, after.family_name, str(after.login_id)
        )
        name = self.book.name_for(after.role, after.school, after.level)
        self.book.require(password, name, owner)

    @staticmethod
    def _check(change: PersonChange) -> None:
        try:
            check_change(change)
        except InvalidField as error:
            raise InvalidValue(str(error)) from None

    @staticmethod
    def _check_schools(person: PersonFields) -> None:
        try:
            check_schools(person)
        except InvalidField as error:
            raise InvalidValue(str(error)) from None

    def role_for(self, login_id: LoginId, role: Role | None = None) -> Role:
        """Return the role a login ID's domain stands for; refuse an unknown domain."""
        found = self.roles_by_domain.get(login_id.domain)
        if found is None:
            known = ", ".join(sorted(self.roles_by_domain))
            raise InvalidValue(f"'{login_id.domain}' is not a MIMS domain; use one of {known}")
        if role is not None and role != found:
            raise InvalidValue(f"a {role}'s login ID must end with @{self.domains[role]}")
        return found

    def _add(
        self,
        login_id: LoginId,
        role: Role,
        attributes: dict[str, list[str]],
        asked: list[controls.Control] | None = None,
    ) -> tuple[str, dict[str, list[bytes]] | None]:
        """Add a person's entry; return its DN and what a post-read control in ``asked`` got."""
        entry = dn.person_dn(login_id.local, role, self.suffix)
        attributes = attributes | mapping.login_attributes(login_id, self.posix)
        return entry, read_back.add(self.directory, entry, attributes, asked or ())

    def _allocate(
        self,
        base: str,
        role: Role,
        attributes: dict[str, list[str]],
        asked: list[controls.Control] | None = None,
    ) -> tuple[str, dict[str, list[bytes]] | None]:
        """Take base, base_1, base_2... by atomic adds: a taken uid means try the next one.

        A search for the highest suffix in use only chooses where to start; correctness rests
        on the directory refusing a second entry with the same uid: the same DN in the role's
        OU (entryAlreadyExists), or the same uid in another role's OU (the unique overlay's
        rule on uid over ou=people), so concurrent creates from several processes can never
        share an ID, in one role or across roles.
        """
        n = 0
        for _ in range(MAX_SUFFIX_ATTEMPTS):
            local = naming.with_suffix(base, n, self.rules)
            try:
                return self._add(LoginId(local, self.domains[role]), role, attributes, asked)
            except AlreadyExists as error:
                self._raise_unless_uid_taken(error, local)
                n = max(n + 1, self._next_suffix(base)) if n == 0 else n + 1
        raise InvalidValue(f"could not find a free login ID for '{base}'")

    def _raise_unless_uid_taken(self, error: AlreadyExists, local: str) -> None:
        """Re-raise a refused add or move unless it was refused because the uid is taken.

        A taken DN is always that (NameTaken). The unique overlay's refusal does not say which
        value clashed: the uid, or the mail, external ID or userName sent with it.
        """
        if isinstance(error, NameTaken) or self._uid_used(local):
            return
        raise error

    def _uid_used(self, local: str) -> bool:
        """Return whether anyone, in any role, has this uid."""

        def read(connection: Connection) -> bool:
            connection.search(
                dn.people_base(self.suffix), dn.equals("uid", local), SUBTREE, attributes=["1.1"]
            )
            return bool(connection.response)

        return self.directory.run(read)

    def _next_suffix(self, base: str) -> int:
        """Return one more than the highest suffix already used for this base, in any role."""
        highest = 0
        for uid in self.namesake_uids([base]):
            match = _SUFFIXED.match(uid)
            if match and naming.with_suffix(base, int(match["n"]), self.rules) == uid:
                highest = max(highest, int(match["n"]))
        return highest + 1

    def namesake_uids(self, bases: Iterable[str]) -> list[str]:
        """Return the uids in use, in any role, of the form ``<a base's stem>_<one word>``.

        Only those can the bases' suffixed IDs be; longer names that begin the same way
        (``tan_wei_ming_3`` for ``tan_wei``) are left to slapd's filter. NAMESAKE_BASES_AT_ONCE
        bases go to a search (an import asks for thousands: one round trip each kept slapd
        waiting on the importer). What is read is decoded in C (python-ldap), from the write
        target, as ldap3 would read it.
        """
        stems = sorted(
            {naming.with_suffix(base, 1, self.rules).rsplit("_", 1)[0] for base in bases}
        )
        found: list[str] = []
        for start in range(0, len(stems), NAMESAKE_BASES_AT_ONCE):
            filters = [
                dn.one_word_after("uid", s, "_")
                for s in stems[start : start + NAMESAKE_BASES_AT_ONCE]
            ]
            entries = lookup.entries(
                self.directory,
                dn.people_base(self.suffix),
                "(|" + "".join(filters) + ")",  # RFC 4515: an OR of one is fine
                ["uid"],
                [],
                write_target=True,
            )
            found += [entry["raw_attributes"]["uid"][0].decode() for entry in entries]
        return found

    def each_uid(self, consume: Callable[[str], None]) -> None:
        """Hand every person's uid, in any role, to ``consume``: one paged read of them all."""
        lookup.each_value(self.directory, dn.people_base(self.suffix), "(uid=*)", "uid", consume)

    def _manager_dn(self, manager_id: str) -> str:
        """Return the DN of the person a manager id names; refuse an unknown id."""
        found = self.dns_of([manager_id]).get(manager_id)
        if found is None:
            raise InvalidValue("the manager must be the id of an existing person")
        return found

    # -- change --------------------------------------------------------------------------------

    def update(
        self,
        person_id: str,
        change: PersonChange,
        version: str | None = None,
        password: str | None = None,
        locked: bool | None = None,
        before: Person | None = None,
    ) -> Person:
        """Change some fields; school, level and class changes move group memberships too.

        With ``version`` (an entryCSN) the change is made only if the entry still has it,
        checked by slapd in the same operation (assertion control, RFC 4528). ``password`` is
        written in that same operation (slapd hashes it); ``locked`` False unlocks a ppolicy
        lock and True locks the account until an administrator unlocks it. ``before``: the
        person as the caller has just read them, whose entry is then not looked up again (if it
        has moved or gone since, it is).
        """
        if before is not None and before.id == person_id and before.locator:
            try:
                return self._update(before.locator, before, change, version, password, locked)
            except _NotThere:
                pass  # renamed or removed since the caller read it, nothing written: find it
        entry, found = self.located(person_id)
        return self._update(entry, found, change, version, password, locked)

    def _update(
        self,
        entry: str,
        before: Person,
        change: PersonChange,
        version: str | None,
        password: str | None,
        locked: bool | None,
    ) -> Person:
        if version is not None and before.version != version:
            raise PreconditionFailed("the resource has changed since the version you sent")
        extra: dict[str, list[tuple[str, list[str]]]] = {}
        if password is not None:
            extra["userPassword"] = [(MODIFY_REPLACE, [password])]
        if locked and not before.lock.locked:
            extra["pwdAccountLockedTime"] = [(MODIFY_REPLACE, [mapping.PERMANENT_LOCK])]
        elif locked is False and (before.lock.locked or before.lock.failures):
            extra["pwdAccountLockedTime"] = mapping.UNLOCK  # and the failure times with it
        after = self._modify(entry, before, change, version=version, extra=extra)
        return after if after is not None else self._read(entry)

    def update_entry(self, entry: str, before: Person, change: PersonChange) -> None:
        """Change fields of a person already read; leave old groups but join none (bulk work)."""
        self._modify(entry, before, change, join=False)

    def _modify(
        self,
        entry: str,
        before: Person,
        change: PersonChange,
        join: bool = True,
        version: str | None = None,
        extra: dict[str, list[tuple[str, list[str]]]] | None = None,
    ) -> Person | None:
        """Write a change; return the person as it left them when the directory said so."""
        self._check(change)
        after = change.applied_to(before)
        self._check_schools(after)
        modify: dict[str, list[tuple[str, list[str]]]] = {}
        for field, value in change.items():
            if field == "manager_id":
                manager = [self._manager_dn(str(value))] if value else []
                modify["manager"] = [(MODIFY_REPLACE, manager)]
                continue
            modify[mapping.PERSON_ATTRIBUTES[field]] = [(MODIFY_REPLACE, mapping.ldap_value(value))]
            if field == "disabled":  # for consumers that never bind (SSSD's access check, NSS)
                expired = [mapping.SHADOW_EXPIRED] if value else []
                modify["shadowExpire"] = [(MODIFY_REPLACE, expired)]
                if not value and (before.lock.locked or before.lock.failures):
                    # Binds refused while disabled still counted as failures (and may have
                    # locked the account): an enabled account starts from none.
                    modify["pwdAccountLockedTime"] = mapping.UNLOCK
        derived = mapping.derived_changes(before, after, set(modify))
        modify |= {name: [(MODIFY_REPLACE, values)] for name, values in derived.items()}
        policy = self._policy_attributes(before.role, after.school, after.level)
        if policy and policy["mimsPolicyName"] != [before.policy]:
            modify |= {name: [(MODIFY_REPLACE, value)] for name, value in policy.items()}
        modify |= extra or {}
        asserted = None
        if version and not UNIQUE_ATTRIBUTES & set(modify):
            asserted = [controls.assertion(dn.equals("entryCSN", version))]
        old, new = managed_groups(before), managed_groups(after)
        if "userPassword" in modify:
            self._check_new_password(after, modify["userPassword"][0][1][0])
        # The entry as the modify left it comes back with it (post-read, RFC 4527): no read
        # after the write. Not when groups change next: those change memberOf.
        values = self._write_entry(entry, modify, asserted, want_entry=old == new)
        written = self._written(entry, values, before, "manager" not in modify) if values else None
        if old != new:  # only then: a school office may have taken someone out of a group
            self._leave_groups(entry, [group for group in old if group not in new])
            if join:
                self.join_groups(entry, [group for group in new if group not in old])
        return written

    def _write_entry(
        self,
        entry: str,
        modify: dict[str, list[tuple[str, list[str]]]],
        asserted: list[controls.Control] | None,
        want_entry: bool,
    ) -> dict[str, list[bytes]] | None:
        """Send a person's modify; return the entry it left if ``want_entry`` (not with passwords).

        Raise _NotThere when the entry is not there: nothing was written.
        """
        try:
            if "userPassword" in modify:
                write_password(self.directory, entry, modify, asserted)
            elif modify and want_entry:
                sent = [*(asserted or []), mapping.READ_BACK]
                return read_back.modify(self.directory, entry, modify, sent)
            elif modify:
                self.directory.run(
                    lambda c: c.modify(entry, modify, controls=asserted), retry=False
                )
        except NotFound as error:
            raise _NotThere(str(error)) from None
        return None

    def rename_login(self, person_id: str, login_id: LoginId | None = None) -> Person:
        """Give a person a new login ID (chosen, or made again from their current name).

        The entry keeps its id (entryUUID) and group memberships (refint follows the rename).
        A login ID in another role's domain is a change of role: the entry moves to that
        role's OU and takes the role and its password policy with it, as ``change_role`` does.
        """
        entry = self.dn_of(person_id)
        person = self._read(entry)
        role = self.role_for(login_id) if login_id is not None else person.role
        self._check_schools(replace(person, role=role))
        if login_id is None:
            try:
                base = naming.base_local_part(person.full_name, self.rules)
            except naming.InvalidName as error:
                raise InvalidValue(str(error)) from None
            return self._read(self._move_allocating(entry, base, role))
        return self._read(self._take_role(self._move(entry, login_id, role), person, role))

    def change_role(self, person_id: str, role: Role) -> Person:
        """Move a person to another role's OU and domain, keeping the entry and its id."""
        entry = self.dn_of(person_id)
        person = self._read(entry)
        if person.role == role:
            return person
        self._check_schools(replace(person, role=role))
        moved = self._move_allocating(entry, person.login_id.local, role, exact_first=True)
        return self._read(self._take_role(moved, person, role))

    def _take_role(self, entry: str, before: Person, role: Role) -> str:
        """Write the role and the policy it calls for on an entry just moved to its OU.

        After the move: a move refused (the login ID is taken) leaves nothing half-written.
        """
        if before.role == role:
            return entry
        changes: dict[str, list[tuple[str, list[str]]]] = {"mimsRole": [(MODIFY_REPLACE, [role])]}
        derived = mapping.derived_changes(before, replace(before, role=role))  # employeeType, ou
        changes |= {name: [(MODIFY_REPLACE, values)] for name, values in derived.items()}
        policy = self._policy_attributes(role, before.school, before.level)
        changes |= {name: [(MODIFY_REPLACE, value)] for name, value in policy.items()}
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)
        return entry

    def _move(self, entry: str, login_id: LoginId, role: Role) -> str:
        """Rename by modrdn (newSuperior when the OU changes); then mail and home follow.

        uidNumber stays: a person keeps their number, and so their files, through any rename.
        """
        target_base = dn.role_base(role, self.suffix)
        rdn = dn.person_rdn(login_id.local)
        self.directory.run(
            lambda c: c.modify_dn(entry, rdn, delete_old_dn=True, new_superior=target_base),
            retry=False,
        )
        moved = f"{rdn},{target_base}"
        follow = {
            name: [(MODIFY_REPLACE, values)]
            for name, values in mapping.login_attributes(login_id, self.posix).items()
            if name != "uid"
        }
        self.directory.run(lambda c: c.modify(moved, follow), retry=False)
        return moved

    def _move_allocating(self, entry: str, base: str, role: Role, exact_first: bool = False) -> str:
        n = 0
        for _ in range(MAX_SUFFIX_ATTEMPTS):
            local = base if exact_first and n == 0 else naming.with_suffix(base, n, self.rules)
            try:
                return self._move(entry, LoginId(local, self.domains[role]), role)
            except AlreadyExists as error:
                self._raise_unless_uid_taken(error, local)
                n = max(n + 1, self._next_suffix(base)) if n == 0 else n + 1
        raise InvalidValue(f"could not find a free login ID for '{base}'")

    def delete(self, person_id: str, version: str | None = None) -> None:
        """Remove a person; refint removes them from every group.

        With ``version`` the entry is removed only if it still has that entryCSN (RFC 4528).
        """
        entry = self.dn_of(person_id)
        asserted = [controls.assertion(dn.equals("entryCSN", version))] if version else None
        self.directory.run(lambda c: c.delete(entry, controls=asserted), retry=False)

    # -- groups --------------------------------------------------------------------------------

    def join_groups(self, entry: str, groups: list[tuple[GroupKind, str]]) -> None:
        """Add a person to managed groups (managed_groups: by school(s), level and class)."""
        for kind, name in groups:
            self.groups.add_members(self.groups.ensure(kind, name), [entry])

    def _leave_groups(self, entry: str, groups: list[tuple[GroupKind, str]]) -> None:
        for _, name in groups:
            self.groups.remove_members(dn.group_dn(name, self.suffix), [entry])


class _NotThere(NotFound):
    """A person's modify named an entry that is not there (moved or removed): nothing written."""


def managed_groups(person: PersonFields) -> list[tuple[GroupKind, str]]:
    """Return the managed groups a person belongs to: each school's, the level's, the class's."""
    return school_group_names(person.school, person.level, person.class_name, person.other_schools)
