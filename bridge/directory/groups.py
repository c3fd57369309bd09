"""Groups in the directory: mimsGroup entries under ou=groups, memberOf kept by the overlay."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection

from bridge.core import group_address
from bridge.core.group_address import AddressRules
from bridge.core.people import Group, GroupKind
from bridge.core.posix import DEFAULT_RULES, PosixRules
from bridge.core.query import Query, Sort
from bridge.directory import controls, dn, filters, mapping
from bridge.directory.client import LdapClient
from bridge.directory.filters import to_ldap
from bridge.directory.group_addresses import GroupAddresses
from bridge.directory.id_numbers import IdNumbers
from bridge.directory.people_read import person_dns
from bridge.directory.search import SortedPager
from bridge.directory.sorting import sort_keys
from bridge.errors import AlreadyExists, InvalidValue, NameTaken, NotFound, PreconditionFailed

# RFC 2696-free batch edits: ADD of a present value or DELETE of an absent one is not an error.
PERMISSIVE_MODIFY = ("1.2.840.113556.1.4.1413", False, None)
GROUPS_AT_ONCE = 100  # names in one search's filter


class GroupStore:
    """Create groups and change their members; the memberof overlay updates people.

    Every group is a POSIX group, made with its e-mail address, its NSS name (see
    group_addresses.py) and its gidNumber (id_numbers.py) in one add; a rename keeps all three,
    which people, mailing lists and files on disk already use.
    """

    def __init__(
        self,
        directory: LdapClient,
        suffix: str,
        pager: SortedPager | None = None,
        address_rules: AddressRules = group_address.DEFAULT_RULES,
        posix: PosixRules = DEFAULT_RULES,
    ) -> None:
        self.directory = directory
        self.suffix = suffix
        self.pager = pager or SortedPager(directory)
        self.addresses = GroupAddresses(directory, suffix, address_rules)
        self.ids = IdNumbers(directory, suffix, posix)
        self._known: set[str] = set()  # groups this process has seen exist: skip the add

    def ensure(self, kind: GroupKind, name: str) -> str:
        """Create the group if it does not exist yet; return its DN."""
        return self.ensure_all([(kind, name)])[0]

    def ensure_all(self, wanted: Sequence[tuple[GroupKind, str]]) -> list[str]:
        """Create those of these groups that do not exist yet; return their DNs, in order.

        Groups are looked for before gidNumbers are taken for them: numbers are never reused,
        so each import run would otherwise spend one on every group it names. One search
        finds the groups that exist and one modify numbers the rest: an import names
        thousands of groups, and round trips for each kept slapd waiting on the importer.
        """
        groups = [dn.group_dn(name, self.suffix) for _, name in wanted]
        unknown = {
            group: (kind, name)
            for group, (kind, name) in zip(groups, wanted, strict=True)
            if group not in self._known
        }
        if not unknown:
            return groups
        self._known |= self._existing(list(unknown))
        missing = [(group, kn) for group, kn in unknown.items() if group not in self._known]
        if missing:
            numbers = self.ids.allocate("gid", len(missing))
            made = [
                (group, self._attributes(name, mapping.group_kind_value(kind), number), name)
                for (group, (kind, name)), number in zip(missing, numbers, strict=True)
            ]
            self.addresses.add_groups(made)  # one made meanwhile elsewhere is left as it is
            self._known.update(group for group, _ in missing)
        return groups

    def _add(
        self, group: str, name: str, kind: str, extra: dict[str, list[str]] | None = None
    ) -> None:
        """Add a group with a new gidNumber and its unique names; NameTaken if it exists."""
        attributes = self._attributes(name, kind, self.ids.allocate("gid")[0])
        self.addresses.add_group(group, attributes | (extra or {}), name)

    @staticmethod
    def _attributes(name: str, kind: str, gid_number: int) -> dict[str, list[str]]:
        return {
            "objectClass": mapping.GROUP_CLASSES,
            "cn": [name],
            mapping.GROUP_KIND_ATTRIBUTE: [kind],
            "gidNumber": [str(gid_number)],
        }

    def _existing(self, groups: list[str]) -> set[str]:
        """Return those of these group DNs (``cn=<name>,ou=groups``) that exist, as given."""
        by_name = {dn.normalised(group): group for group in groups}
        names = [dn.first_value(group) for group in groups]

        def read(connection: Connection) -> set[str]:
            found = set()
            for start in range(0, len(names), GROUPS_AT_ONCE):
                wanted = dn.any_of("cn", names[start : start + GROUPS_AT_ONCE])
                connection.search(
                    dn.groups_base(self.suffix),
                    f"(&{mapping.IS_GROUP}{wanted})",
                    LEVEL,
                    attributes=["1.1"],
                )
                found |= {
                    by_name[key]
                    for entry in connection.response
                    if (key := dn.normalised(str(entry["dn"]))) in by_name
                }
            return found

        return self.directory.run(read)

    def add_members(self, group: str, members: Iterable[str]) -> None:
        """Add member DNs to a group; members already there are left alone."""
        values = list(members)
        if values:
            changes = {"member": [(MODIFY_ADD, values)]}
            self.directory.run(lambda c: c.modify(group, changes, controls=[PERMISSIVE_MODIFY]))

    def remove_members(self, group: str, members: Iterable[str]) -> None:
        """Remove member DNs from a group; members not there are ignored."""
        values = list(members)
        if values:
            changes = {"member": [(MODIFY_DELETE, values)]}
            try:
                self.directory.run(lambda c: c.modify(group, changes, controls=[PERMISSIVE_MODIFY]))
            except NotFound:
                pass

    def get_by_name(self, name: str) -> Group:
        """Return the group of that name, with its members' ids."""
        group = dn.group_dn(name, self.suffix)

        def read(connection: Connection) -> Group:
            connection.search(group, mapping.IS_GROUP, BASE, attributes=mapping.GROUP_READ)
            entry = connection.response[0]
            return mapping.to_group(entry, self._member_ids(connection, group))

        return self.directory.run(read)

    def names(self) -> Iterator[str]:
        """Yield the name of every group."""

        def read(connection: Connection) -> list[str]:
            connection.search(
                dn.groups_base(self.suffix), mapping.IS_GROUP, LEVEL, attributes=["cn"]
            )
            return [str(entry["raw_attributes"]["cn"][0].decode()) for entry in connection.response]

        yield from self.directory.run(read)

    def _member_ids(self, connection: Connection, group: str) -> list[str]:
        """Return the ids of a group's members in one paged search on the memberOf index."""
        results = connection.extend.standard.paged_search(
            dn.people_base(self.suffix),
            dn.equals("memberOf", group),
            attributes=["entryUUID"],
            paged_size=1000,
            generator=True,
        )
        return [
            entry["raw_attributes"]["entryUUID"][0].decode()
            for entry in results
            if entry.get("type") == "searchResEntry"
        ]

    # -- by id, for SCIM --------------------------------------------------------------------------

    def create(self, name: str, external_id: str | None, member_ids: Sequence[str]) -> Group:
        """Add a client-made group (members may be none); AlreadyExists if the name is taken.

        Every member must be the id of an existing person; otherwise nothing is written.
        """
        member_dns = self._member_dns(member_ids)
        group = dn.group_dn(name, self.suffix)
        extra: dict[str, list[str]] = {}
        if member_dns:
            extra["member"] = member_dns
        if external_id:
            extra["mimsExternalId"] = [external_id]
        try:
            self._add(group, name, mapping.group_kind_value("custom"), extra)
        except NameTaken:
            raise AlreadyExists(f"a group named {name!r} already exists") from None
        return self.get_by_name(name)

    def _member_dns(self, person_ids: Sequence[str]) -> list[str]:
        """Return the DNs of these people, in order; an unknown id is refused (400)."""
        dns = person_dns(self.directory, self.suffix, person_ids)
        missing = [value for value in person_ids if value not in dns]
        if missing:
            raise InvalidValue(f"no person has the id {missing[0]!r} (members must be Users)")
        return [dns[value] for value in dict.fromkeys(person_ids)]

    def _person_dn(self, person_id: str) -> str | None:
        return person_dns(self.directory, self.suffix, [person_id]).get(person_id)

    def dn_of(self, group_id: str) -> str:
        """Return the DN of the group with this id (entryUUID); NotFound if there is none."""
        if mapping.is_uuid(group_id):

            def read(connection: Connection) -> list[str]:
                connection.search(
                    dn.groups_base(self.suffix),
                    f"(&{mapping.IS_GROUP}{dn.equals('entryUUID', group_id)})",
                    LEVEL,
                    attributes=["1.1"],
                )
                return [str(entry["dn"]) for entry in connection.response]

            found = self.directory.run(read)
            if found:
                return found[0]
        raise NotFound("no group has that id")

    def get(self, group_id: str, members: bool = True) -> Group:
        """Return the group with this id; without ``members`` its members are not read."""
        group = self.dn_of(group_id)

        def read(connection: Connection) -> Group:
            attributes = [name for name in mapping.GROUP_READ if name != "member"]
            connection.search(group, mapping.IS_GROUP, BASE, attributes=attributes)
            entry = connection.response[0]
            ids = self._member_ids(connection, group) if members else []
            return mapping.to_group(entry, ids)

        return self.directory.run(read)

    def search(
        self,
        query: Query,
        order: Sequence[Sort] = (),
        start: int = 1,
        count: int = 1000,
        members: bool = True,
    ) -> tuple[int, list[Group]]:
        """Return how many groups match and ``count`` of them from ``start``, sorted by slapd.

        Without ``members`` the member lists are not read (excludedAttributes=members).
        """
        ldap_filter = to_ldap(query, "Group", self._person_dn)
        if filters.selects_one(query, "Group"):
            matched = self._find(ldap_filter, members)
            return len(matched), matched[start - 1 :][:count]
        attributes = [name for name in mapping.GROUP_READ if name != "member"]
        page = self.pager.page(
            dn.groups_base(self.suffix),
            f"(&{mapping.IS_GROUP}{ldap_filter})",
            attributes,
            sort_keys("Group", order),
            start,
            count,
            dict,
        )
        found = []
        for entry in page.entries:
            ids = self.member_ids(str(entry["dn"])) if members else []
            found.append(mapping.to_group(entry, ids))
        return page.total, found

    def member_ids(self, group: str) -> list[str]:
        """Return the ids of a group's members (a group DN)."""
        return self.directory.run(lambda c: self._member_ids(c, group))

    def _find(self, ldap_filter: str, members: bool) -> list[Group]:
        """Return the groups a filter that names at most a few selects (no sort, no paging)."""
        attributes = [name for name in mapping.GROUP_READ if name != "member"]

        def read(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                dn.groups_base(self.suffix),
                f"(&{mapping.IS_GROUP}{ldap_filter})",
                LEVEL,
                attributes=attributes,
            )
            return [e for e in connection.response if e.get("type") == "searchResEntry"]

        return [
            mapping.to_group(entry, self.member_ids(str(entry["dn"])) if members else [])
            for entry in self.directory.run(read)
        ]

    def ids_of(self, names: Iterable[str]) -> dict[str, str]:
        """Return {group name: id} for these group names, in one search."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}

        def read(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                dn.groups_base(self.suffix),
                f"(&{mapping.IS_GROUP}{dn.any_of('cn', wanted)})",
                LEVEL,
                attributes=["cn", "entryUUID"],
            )
            return list(connection.response)

        found = {}
        for entry in self.directory.run(read):
            if entry.get("type") == "searchResEntry":
                raw = entry["raw_attributes"]
                found[dn.first_value(str(entry["dn"]))] = raw["entryUUID"][0].decode()
        return found

    def change(
        self,
        group_id: str,
        *,
        name: str | None = None,
        external_id: str | None | bool = False,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        replace: list[str] | None = None,
        version: str | None = None,
    ) -> None:
        """Change a group: members added, removed or replaced (ids), its externalId, its name.

        Adds and removes are sent as deltas, so concurrent PATCHes of one group never undo
        each other; ``version`` (an entryCSN) makes the change conditional (RFC 4528).
        ``external_id`` False leaves it alone, None removes it.
        """
        group = self.dn_of(group_id)
        current = self.get(group_id, members=False)
        if version is not None and current.version != version:
            raise PreconditionFailed("the resource has changed since the version you sent")
        if replace is not None:
            replace = self._member_dns(replace)
        add = self._member_dns(add or [])
        remove = list(person_dns(self.directory, self.suffix, remove or []).values())
        changes: dict[str, list[tuple[str, list[str]]]] = {}
        if external_id is not False:
            changes["mimsExternalId"] = [(MODIFY_REPLACE, mapping.ldap_value(external_id))]
        if replace is not None:
            changes["member"] = [(MODIFY_REPLACE, replace)]  # [] leaves the group empty
        else:
            steps = []
            if add:
                steps.append((MODIFY_ADD, add))
            if remove:
                steps.append((MODIFY_DELETE, remove))
            if steps:
                changes["member"] = steps
        requested: list[tuple[str, bool, bytes | None]] = [PERMISSIVE_MODIFY]
        if version is not None:
            requested.append(controls.assertion(dn.equals("entryCSN", version)))
        if changes:
            self.directory.run(lambda c: c.modify(group, changes, controls=requested), retry=False)
        if name is not None and name != current.name:
            if current.kind != "custom":
                raise InvalidValue(f"{current.name!r} is managed: it is named after a school")
            self._rename(group, name)

    def _rename(self, group: str, name: str) -> None:
        try:
            self.directory.run(
                lambda c: c.modify_dn(group, f"cn={dn.escape_rdn_value(name)}"), retry=False
            )
        except NameTaken:
            raise AlreadyExists(f"a group named {name!r} already exists") from None

    def delete(self, group_id: str, version: str | None = None) -> None:
        """Remove a client-made group; managed school groups follow their people instead."""
        current = self.get(group_id, members=False)
        if current.kind != "custom":
            raise InvalidValue(f"{current.name!r} is managed: it goes when its school does")
        if version is not None and current.version != version:
            raise PreconditionFailed("the resource has changed since the version you sent")
        group = self.dn_of(group_id)
        asserted = [controls.assertion(dn.equals("entryCSN", version))] if version else None
        self.directory.run(lambda c: c.delete(group, controls=asserted), retry=False)
        self._known.discard(group)
