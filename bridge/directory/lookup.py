"""Reads of a few entries through python-ldap (libldap, in C), for the lookups clients make most.

ldap3 encodes each request and decodes each entry in Python (pyasn1): one person with their
links resolved costs about ten times more that way than through python-ldap
(``bench/ldap_libraries.py``). Entra ID and Okta look a person up by ``userName`` or
``externalId`` before every create and update, so these reads are the bridge's hottest path.
Writes, binds and sorted pages stay on ldap3.

Entries come back in the shape ldap3's responses have (``dn``, ``raw_attributes``,
``controls``), so the same mapping code reads both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ldap
from ldap.controls import RequestControl, ResponseControl, SimplePagedResultsControl
from ldap.ldapobject import SimpleLDAPObject

from bridge.directory.client import LdapClient
from bridge.directory.controls import DEREF, Control

# The response controls a read may carry, kept undecoded (python-ldap drops unknown ones).
_KEEP = {DEREF: ResponseControl}


def entries(
    client: LdapClient,
    base: str,
    ldap_filter: str,
    attributes: list[str],
    controls: list[Control],
    write_target: bool = False,
) -> list[dict[str, Any]]:
    """Return the entries under ``base`` that match (NotFound when ``base`` does not exist).

    ``write_target``: read from the server writes go to, as ldap3's reads do (a read that
    decides what to write next must not come from a replica that lags behind it).
    """
    requested = [RequestControl(oid, critical, value) for oid, critical, value in controls]

    def search(connection: SimpleLDAPObject) -> list[dict[str, Any]]:
        message = connection.search_ext(
            base, ldap.SCOPE_SUBTREE, ldap_filter, attributes, serverctrls=requested
        )
        _, found, _, _, _, _ = connection.result4(
            message, all=1, add_ctrls=1, resp_ctrl_classes=_KEEP
        )
        return [
            {
                "type": "searchResEntry",
                "dn": entry_dn,
                "raw_attributes": values,
                "controls": {
                    control.controlType: {"value": control.encodedControlValue}
                    for control in returned
                },
            }
            for entry_dn, values, returned in found
            if entry_dn is not None  # search references have no DN
        ]

    return (client.libldap_writes if write_target else client.libldap).run(search)


def each_value(
    client: LdapClient,
    base: str,
    ldap_filter: str,
    attribute: str,
    consume: Callable[[str], None],
    page_size: int = 1000,
) -> None:
    """Hand every value of one attribute of the entries that match to ``consume``, by pages.

    Paged (RFC 2696), from the write target, decoded in C: only one page is held at a time.
    A read that a failover starts again hands the values over again, so ``consume`` must not
    mind seeing one twice.
    """
    wanted = attribute.lower()

    def read(connection: SimpleLDAPObject) -> None:
        paging = SimplePagedResultsControl(True, size=page_size, cookie=b"")
        while True:
            message = connection.search_ext(
                base, ldap.SCOPE_SUBTREE, ldap_filter, [attribute], serverctrls=[paging]
            )
            _, found, _, returned = connection.result3(message)
            for entry_dn, values in found:
                if entry_dn is None:  # a search reference
                    continue
                for name, raw in values.items():
                    if name.lower() == wanted:
                        for value in raw:
                            consume(value.decode())
            cookie = next((c.cookie for c in returned if c.controlType == paging.controlType), b"")
            if not cookie:
                return
            paging.cookie = cookie

    client.libldap_writes.run(read)
