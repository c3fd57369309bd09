"""Adds and modifies that bring the entry back as they left it (post-read, RFC 4527), in C.

A SCIM POST or PATCH answers with the person as the write left them. Asking slapd for the entry
in the write itself saves a search after it; sending the write through python-ldap (libldap,
in C) rather than ldap3 (pyasn1, in Python) saves most of the bridge's own work on the request,
as lookup.py does for reads. Changes are given in ldap3's form, as everywhere else in the
directory layer; refusals become domain errors through the same table (errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ldap
from ldap.controls import RequestControl, ResponseControl
from ldap.ldapobject import SimpleLDAPObject
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_INCREMENT, MODIFY_REPLACE

from bridge.directory.client import LdapClient, holds
from bridge.directory.controls import POST_READ, Control, post_read_entry

Changes = Mapping[str, Sequence[tuple[str, Sequence[Any]]]]

_OPERATIONS = {
    MODIFY_ADD: ldap.MOD_ADD,
    MODIFY_DELETE: ldap.MOD_DELETE,
    MODIFY_REPLACE: ldap.MOD_REPLACE,
    MODIFY_INCREMENT: ldap.MOD_INCREMENT,
}
# The response control kept undecoded (python-ldap would decode it with pyasn1).
_KEEP = {POST_READ: ResponseControl}


def modify(
    client: LdapClient, entry: str, changes: Changes, controls: Sequence[Control]
) -> dict[str, list[bytes]] | None:
    """Modify ``entry`` (never retried); return the post-read entry if ``controls`` asked for it."""
    modlist = [
        (_OPERATIONS[operation], name, [_raw(value) for value in values] or None)
        for name, steps in changes.items()
        for operation, values in steps
    ]
    requested = [RequestControl(oid, critical, value) for oid, critical, value in controls]

    def send(connection: SimpleLDAPObject) -> dict[str, list[bytes]] | None:
        message = connection.modify_ext(entry, modlist, serverctrls=requested)
        return _answer(connection, message)

    return client.libldap_writes.run(send, retry=False, kind="modify")


def add(
    client: LdapClient,
    entry: str,
    attributes: Mapping[str, Sequence[Any]],
    controls: Sequence[Control] = (),
) -> dict[str, list[bytes]] | None:
    """Add ``entry``; return the post-read entry if ``controls`` asked for it.

    As ``LdapClient.add``: a retry (the connection broke) that finds the entry there already,
    holding what was sent, counts as done; it has no post-read entry to give then.
    """
    modlist = [(name, [_raw(value) for value in values]) for name, values in attributes.items()]
    requested = [RequestControl(oid, critical, value) for oid, critical, value in controls]
    attempts = 0

    def send(connection: SimpleLDAPObject) -> dict[str, list[bytes]] | None:
        nonlocal attempts
        attempts += 1
        try:
            return _answer(connection, connection.add_ext(entry, modlist, serverctrls=requested))
        except ldap.ALREADY_EXISTS:
            if attempts == 1 or not _landed(connection, entry, attributes):
                raise
            return None

    return client.libldap_writes.run(send, kind="add")


def _answer(connection: SimpleLDAPObject, message: int) -> dict[str, list[bytes]] | None:
    """Wait for a write's result; return the entry its post-read control carried, if any."""
    _, _, _, returned = connection.result3(message, all=1, resp_ctrl_classes=_KEEP)
    for control in returned or []:
        if control.controlType == POST_READ:
            return post_read_entry(control.encodedControlValue)
    return None


def _landed(
    connection: SimpleLDAPObject, entry: str, attributes: Mapping[str, Sequence[Any]]
) -> bool:
    """Return whether the entry holds what the add sent (an earlier attempt landed)."""
    found = connection.search_s(entry, ldap.SCOPE_BASE, "(objectClass=*)", list(attributes))
    return bool(found) and holds(found[0][1], attributes)


def _raw(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")
