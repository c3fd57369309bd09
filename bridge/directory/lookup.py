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

from typing import Any

import ldap
from ldap.controls import RequestControl, ResponseControl
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
