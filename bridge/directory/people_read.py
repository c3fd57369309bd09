"""Reading people: by id, login ID, external ID, filter, or streamed in pages.

Kept apart from the writes (people.py) so that each reads in one sitting; the writer extends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from ldap3 import SUBTREE, Connection

from bridge.core.naming import LoginId
from bridge.core.people import Person
from bridge.core.query import Query, Sort
from bridge.directory import dn, filters, lookup, mapping
from bridge.directory.client import LdapClient
from bridge.directory.filters import to_ldap
from bridge.directory.search import SortedPager
from bridge.directory.sorting import sort_keys
from bridge.errors import NotFound


class PeopleReadStore:
    """Find and read people; knows how a person is stored, changes nothing."""

    def __init__(self, directory: LdapClient, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix
        self.pager = SortedPager(directory)

    # -- read ----------------------------------------------------------------------------------

    def get(self, person_id: str) -> Person:
        """Return the person with this id (entryUUID); NotFound if there is none."""
        found = self._find(dn.equals("entryUUID", person_id)) if mapping.is_uuid(person_id) else []
        if not found:
            raise NotFound("no person has that id")
        return found[0]

    def located(self, person_id: str) -> tuple[str, Person]:
        """Return the DN and the person with this id, in one search (the start of every change)."""
        entries = (
            self._entries(dn.equals("entryUUID", person_id)) if mapping.is_uuid(person_id) else []
        )
        if not entries:
            raise NotFound("no person has that id")
        return str(entries[0]["dn"]), self._people(entries[:1])[0]

    def dn_of(self, person_id: str) -> str:
        """Return the DN of the person with this id."""
        found = None
        if mapping.is_uuid(person_id):
            found = self._search_one(dn.equals("entryUUID", person_id), ["1.1"])
        if found is None:
            raise NotFound("no person has that id")
        return str(found["dn"])

    def find_login(self, login_id: LoginId) -> Person | None:
        """Return the person with this login ID, or None."""
        found = self._find(dn.equals("mail", str(login_id)))
        return found[0] if found else None

    def find_sign_in(self, login_id: LoginId) -> Person | None:
        """Return the person with this login ID as a sign-in needs them, or None.

        A few attributes and no dereferenced group links: a found ID then costs the directory
        and the mapping about what a missing one does, so the time of a refused sign-in does
        not tell which IDs exist (security/test_enumeration.py). Read the whole person after.
        """
        entries = lookup.entries(
            self.directory,
            dn.people_base(self.suffix),
            f"(&(objectClass=mimsPerson){dn.equals('mail', str(login_id))})",
            mapping.SIGN_IN_READ,
            [],
        )
        return mapping.to_person(entries[0]) if entries else None

    def find_external(self, external_ids: list[str]) -> dict[str, tuple[str, Person]]:
        """Return {external ID: (DN, person)} for those that exist, in one search."""
        if not external_ids:
            return {}
        query = f"(&(objectClass=mimsPerson){dn.any_of('mimsExternalId', external_ids)})"
        # Through python-ldap: ldap3 compiled an import batch's filter of 1,000 values in
        # Python, 0.16 ms of CPU per person (bench/README.md, "import-suffix").
        entries = lookup.entries(
            self.directory,
            dn.people_base(self.suffix),
            query,
            mapping.PERSON_READ,
            [mapping.RESOLVE_LINKS],
            write_target=True,
        )
        found = {}
        for entry in entries:
            person = mapping.to_person(entry)
            if person.external_id is not None:
                found[person.external_id] = (str(entry["dn"]), person)
        return found

    def iter_people(self, school: str | None = None, level: str | None = None) -> Iterator[Person]:
        """Yield every person (optionally of one school and level), streamed in pages.

        A person in several schools is in each school's list.
        """
        parts = ["(objectClass=mimsPerson)"]
        parts += [dn.equals("o", school)] if school else []  # any of their schools
        parts += [dn.equals("mimsLevel", level)] if level else []
        query = f"(&{''.join(parts)})"
        connection = self.directory.connection()
        results = connection.extend.standard.paged_search(
            dn.people_base(self.suffix),
            query,
            SUBTREE,
            attributes=mapping.PERSON_READ,
            paged_size=500,
            generator=True,
            controls=[mapping.RESOLVE_LINKS],
        )
        for entry in results:
            if entry.get("type") == "searchResEntry":
                yield mapping.to_person(entry)

    def search(
        self,
        query: Query,
        order: Sequence[Sort] = (),
        start: int = 1,
        count: int = 1000,
        links: bool = True,
    ) -> tuple[int, list[Person]]:
        """Return how many people match and ``count`` of them from ``start``, sorted by slapd.

        An equality on a field no two people share (the hot path of Entra's and Okta's
        ``userName eq`` before every create) is one indexed read, with no sort or paging.
        Without ``links`` the page is read without the deref control (slapd then looks up
        no group of anyone on it: half the directory's time for the console's list).
        """
        ldap_filter = to_ldap(query, "User", self._dn_of_id)
        if filters.selects_one(query, "User"):
            matched = self._find(ldap_filter)
            return len(matched), matched[start - 1 :][:count]
        base = dn.people_base(self.suffix)
        wanted = f"(&(objectClass=mimsPerson){ldap_filter})"
        keys = sort_keys("User", order)
        if not links:
            page = self.pager.page(
                base, wanted, mapping.PERSON_READ, keys, start, count, mapping.to_person
            )
            return page.total, page.entries
        read = self.pager.page(
            base,
            wanted,
            mapping.PERSON_READ,
            keys,
            start,
            count,
            _read_person,
            [mapping.RESOLVE_LINKS],
        )
        return read.total, self._resolved(read.entries)

    def _dn_of_id(self, person_id: str) -> str | None:
        return self.dns_of([person_id]).get(person_id)

    def _people(self, entries: list[dict[str, Any]]) -> list[Person]:
        """Return people from entries; managers the directory left unresolved, in one search."""
        return self._resolved([_read_person(entry) for entry in entries])

    def _resolved(self, read: list[tuple[Person, str | None]]) -> list[Person]:
        """Return people, with the managers ``_read_person`` could not name looked up."""
        managers = {manager for _, manager in read if manager}
        if not managers:
            return [person for person, _ in read]
        ids = self._ids_of(sorted(managers))
        return [
            person if manager is None else replace(person, manager_id=ids.get(manager))
            for person, manager in read
        ]

    def _ids_of(self, entries: list[str]) -> dict[str, str]:
        def read(connection: Connection) -> dict[str, str]:
            connection.search(
                dn.people_base(self.suffix),
                dn.any_of("entryDN", entries),
                SUBTREE,
                attributes=["entryUUID"],
            )
            return {
                str(entry["dn"]).lower(): entry["raw_attributes"]["entryUUID"][0].decode()
                for entry in connection.response
                if entry.get("type") == "searchResEntry"
            }

        found = self.directory.run(read)
        return {value: found[value.lower()] for value in entries if value.lower() in found}

    def _find(self, ldap_filter: str) -> list[Person]:
        """Return the people a filter that names at most a few selects (no sort, no paging).

        Read through python-ldap (lookup.py): these are the lookups clients make most.
        """
        return self._people(self._entries(ldap_filter))

    def _entries(self, ldap_filter: str) -> list[dict[str, Any]]:
        return lookup.entries(
            self.directory,
            dn.people_base(self.suffix),
            f"(&(objectClass=mimsPerson){ldap_filter})",
            mapping.PERSON_READ,
            [mapping.RESOLVE_LINKS],
        )

    def dns_of(self, person_ids: list[str]) -> dict[str, str]:
        """Return {id: DN} for the people among these ids that exist, in one search."""
        return person_dns(self.directory, self.suffix, person_ids)

    def _read(self, entry: str) -> Person:
        """Return the person whose entry this is (read through python-ldap, as lookups are)."""
        entries = lookup.entries(
            self.directory,
            entry,
            "(objectClass=mimsPerson)",
            mapping.PERSON_READ,
            [mapping.RESOLVE_LINKS],
        )
        if not entries:
            raise NotFound("no person has that id")
        return self._people(entries[:1])[0]

    def _written(
        self,
        entry: str,
        values: dict[str, list[bytes]],
        before: Person,
        same_manager: bool,
    ) -> Person:
        """Return the person a write's post-read control describes (no deref comes with it).

        Their groups' ids are those read before when the groups are the same; their manager's
        id too when the write left the manager as it was; otherwise they are looked up.
        """
        found = {"dn": entry, "raw_attributes": values}
        if same_manager:
            after = replace(mapping.to_person(found), manager_id=before.manager_id)
        else:
            after = self._people([found])[0]
        if after.groups == before.groups and before.group_ids is not None:
            after = replace(after, group_ids=before.group_ids)
        return after

    def _search_one(self, query: str, attributes: list[str]) -> dict[str, Any] | None:
        def read(connection: Connection) -> dict[str, Any] | None:
            connection.search(
                dn.people_base(self.suffix),
                f"(&(objectClass=mimsPerson){query})",
                SUBTREE,
                attributes=attributes,
                size_limit=2,
            )
            return dict(connection.response[0]) if connection.response else None

        return self.directory.run(read)


def _read_person(entry: dict[str, Any]) -> tuple[Person, str | None]:
    """Return the person an entry describes, and their manager's DN if deref did not resolve it."""
    person = mapping.to_person(entry)
    return person, (mapping.manager_dn(entry) if person.manager_id is None else None)


def person_dns(client: LdapClient, suffix: str, person_ids: Iterable[str]) -> dict[str, str]:
    """Return {id: DN} for the people among these ids that exist, in one search."""
    wanted = [value for value in dict.fromkeys(person_ids) if mapping.is_uuid(value)]
    if not wanted:
        return {}

    def read(connection: Connection) -> dict[str, str]:
        connection.search(
            dn.people_base(suffix),
            f"(&(objectClass=mimsPerson){dn.any_of('entryUUID', wanted)})",
            SUBTREE,
            attributes=["entryUUID"],
        )
        return {
            entry["raw_attributes"]["entryUUID"][0].decode(): str(entry["dn"])
            for entry in connection.response
            if entry.get("type") == "searchResEntry"
        }

    return client.run(read)
