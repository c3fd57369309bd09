"""slapd's own figures from its monitor backend (``cn=Monitor``), read as the bridge's account.

The managed slapd has the backend with an ACL for the service account (``slapd_config``,
schema version 12). A directory without it, or that does not let the bridge read it, has no
figures (None): /metrics then leaves them out.
"""

from __future__ import annotations

import logging
from typing import Any

from ldap3 import BASE, LEVEL, Connection

from bridge.core.monitor import ServerFigures
from bridge.directory.client import LdapClient
from bridge.errors import BridgeError

log = logging.getLogger(__name__)

MONITOR = "cn=Monitor"
CURRENT_CONNECTIONS = "cn=Current,cn=Connections,cn=Monitor"
OPERATIONS = "cn=Operations,cn=Monitor"
WAITERS = "cn=Waiters,cn=Monitor"
# slapd's names for its operation entries -> the label /metrics gives them.
_OPERATIONS = {
    "bind": "bind",
    "unbind": "unbind",
    "search": "search",
    "compare": "compare",
    "modify": "modify",
    "modrdn": "modify_dn",
    "add": "add",
    "delete": "delete",
    "abandon": "abandon",
    "extended": "extended",
}


def read(client: LdapClient) -> ServerFigures | None:
    """Return slapd's figures, or None when cn=Monitor is absent or closed to the bridge."""
    try:
        return client.run(_read)
    except BridgeError as error:  # absent, closed or unreachable: the other figures still go out
        log.debug("cn=Monitor could not be read: %s", type(error).__name__)
        return None


def _read(connection: Connection) -> ServerFigures | None:
    current = _entries(connection, CURRENT_CONNECTIONS, BASE, "monitorCounter")
    if not current:
        return None
    operations = _entries(connection, OPERATIONS, LEVEL, "monitorOpCompleted")
    waiters = _entries(connection, WAITERS, LEVEL, "monitorCounter")
    return ServerFigures(
        connections=next(iter(current.values())),
        operations={_OPERATIONS[n]: v for n, v in operations.items() if n in _OPERATIONS},
        waiters={n: v for n, v in waiters.items() if n in ("read", "write")},
    )


def _entries(connection: Connection, base: str, scope: str, attribute: str) -> dict[str, int]:
    """Return {cn in lower case: the attribute's integer} for the entries found."""
    connection.search(base, "(objectClass=*)", scope, attributes=["cn", attribute])
    found: dict[str, int] = {}
    for entry in connection.response or []:
        if entry.get("type") != "searchResEntry":
            continue
        attributes: dict[str, Any] = entry["raw_attributes"]
        names, values = attributes.get("cn") or [], attributes.get(attribute) or []
        if names and values:
            found[bytes(names[0]).decode().lower()] = int(bytes(values[0]))
    return found
