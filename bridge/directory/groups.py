"""Groups in the directory: groupOfNames under ou=groups, memberOf kept by the overlay."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_DELETE, Connection

from bridge.core.people import Group, GroupKind
from bridge.directory import dn, mapping
from bridge.directory.connection import Directory
from bridge.errors import NameTaken, NotFound

# RFC 2696-free batch edits: ADD of a present value or DELETE of an absent one is not an error.
PERMISSIVE_MODIFY = ("1.2.840.113556.1.4.1413", False, None)
GROUP_CLASSES = ["top", "groupOfNames", "mimsGroup"]


class GroupsDirectory:
    """Create groups and change their members; the memberof overlay updates people."""

    def __init__(self, directory: Directory, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix
        self._known: set[str] = set()  # groups this process has seen exist: skip the add

    def ensure(self, kind: GroupKind, name: str) -> str:
        """Create the group if it does not exist yet; return its DN."""
        group = dn.group_dn(name, self.suffix)
        if group in self._known:
            return group
        attributes = {
            "objectClass": GROUP_CLASSES,
            "cn": [name],
            "member": [mapping.EMPTY_MEMBER],
            mapping.GROUP_KIND_ATTRIBUTE: [mapping.group_kind_value(kind)],
        }
        try:
            self.directory.run(lambda c: c.add(group, attributes=attributes), retry=False)
        except NameTaken:
            pass
        self._known.add(group)
        return group

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
            connection.search(
                group, "(objectClass=groupOfNames)", BASE, attributes=mapping.GROUP_READ
            )
            entry = connection.response[0]
            return mapping.to_group(entry, self._member_ids(connection, group))

        return self.directory.run(read)

    def names(self) -> Iterator[str]:
        """Yield the name of every group."""

        def read(connection: Connection) -> list[str]:
            connection.search(
                dn.groups_base(self.suffix), "(objectClass=groupOfNames)", LEVEL, attributes=["cn"]
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
