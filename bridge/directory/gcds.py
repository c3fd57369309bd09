"""Read the tree the way Google Cloud Directory Sync does, streamed, for ``mims check gcds``.

The searches are the ones ``docs/gcds/README.md`` configures GCDS with: every ``inetOrgPerson``
under ``ou=people`` and every ``mimsGroup`` under ``ou=groups``. Both are paged (RFC 2696)
and handed on one entry at a time, so memory does not grow with the directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ldap3 import SUBTREE

from bridge.core.gcds import GroupEntry, PersonEntry
from bridge.directory import dn, mapping
from bridge.directory.client import LdapClient, close_connection
from bridge.directory.errors import translated

PEOPLE_FILTER = "(objectClass=inetOrgPerson)"
GROUPS_FILTER = mapping.IS_GROUP
PEOPLE_PAGE = 500
GROUPS_PAGE = 500  # members are not read: a group is as small as a person


def people(directory: LdapClient, suffix: str) -> Iterator[PersonEntry]:
    """Yield every person under ``ou=people`` with what GCDS reads of them."""
    attributes = ["mail", "mimsRole", "mimsSchool"]
    for entry in _paged(directory, dn.people_base(suffix), PEOPLE_FILTER, attributes, PEOPLE_PAGE):
        raw = entry["raw_attributes"]
        yield PersonEntry(
            dn=str(entry["dn"]),
            mail=_texts(raw, "mail"),
            role=next(iter(_texts(raw, "mimsRole")), None),
            school=next(iter(_texts(raw, "mimsSchool")), None),
        )


def groups(directory: LdapClient, suffix: str) -> Iterator[GroupEntry]:
    """Yield every group under ``ou=groups`` with its addresses."""
    attributes = ["mail"]
    for entry in _paged(directory, dn.groups_base(suffix), GROUPS_FILTER, attributes, GROUPS_PAGE):
        yield GroupEntry(dn=str(entry["dn"]), mail=_texts(entry["raw_attributes"], "mail"))


def _paged(
    directory: LdapClient, base: str, query: str, attributes: list[str], size: int
) -> Iterator[dict[str, Any]]:
    """Yield the entries of a paged search on a connection of its own, closed at the end."""
    connection = directory.open()
    try:
        with translated():
            results = connection.extend.standard.paged_search(
                base, query, SUBTREE, attributes=attributes, paged_size=size, generator=True
            )
            for entry in results:
                if entry.get("type") == "searchResEntry":
                    yield entry
    finally:
        close_connection(connection)


def _texts(raw: dict[str, list[bytes]], name: str) -> tuple[str, ...]:
    """Return an attribute's values as text (ldap3 keys raw attributes by the asked name)."""
    values = raw.get(name) or next((v for k, v in raw.items() if k.lower() == name.lower()), [])
    return tuple(value.decode("utf-8", errors="replace") for value in values)
