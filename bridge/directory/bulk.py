"""Many adds at once, pipelined on one connection, for imports of 100,000 people.

ldap3 encodes each request in pure Python (pyasn1): measured here about 0.8 ms of CPU per add
on a quiet machine and 2.3 ms under load, against 0.07-0.13 ms for python-ldap, which encodes in
libldap's C. An import is nothing but adds, so this one path uses python-ldap (imported only
here); everything else speaks ldap3. Requests are sent without waiting and their results read
afterwards, so slapd always has work queued.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import ldap
import ldap.controls

from bridge.directory.client import ClientSettings
from bridge.directory.errors import error_for_code
from bridge.errors import BridgeError, DirectoryUnavailable

Entry = tuple[str, dict[str, list[str]]]
PERMISSIVE_MODIFY = "1.2.840.113556.1.4.1413"  # adding a value already there is not an error
WINDOW = 256  # requests in flight on the connection; slapd's limit is 1,000


class BulkWriter:
    """A python-ldap connection bound as the bridge, for pipelined adds."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._connection: ldap.ldapobject.LDAPObject | None = None

    def add_all(self, entries: Sequence[Entry]) -> list[BridgeError | None]:
        """Add every entry; return, in order, None for each success or the domain error."""
        return self._pipeline([_add(entry, attributes) for entry, attributes in entries])

    def add_members(self, groups: Sequence[tuple[str, list[str]]]) -> list[BridgeError | None]:
        """Add member DNs to each group, pipelined; members already there are left alone."""
        return self._pipeline([_add_members(group, members) for group, members in groups])

    def _pipeline(self, requests: Sequence[Request]) -> list[BridgeError | None]:
        """Send requests without waiting, at most WINDOW outstanding; return outcomes in order.

        slapd drops a connection with more than olcConnMaxPendingAuth (1,000) requests waiting.
        """
        connection = self._connect()
        outcomes: list[BridgeError | None] = []
        pending: deque[int] = deque()
        try:
            for request in requests:
                if len(pending) >= WINDOW:
                    outcomes.append(self._outcome(connection, pending.popleft()))
                pending.append(request(connection))
            while pending:
                outcomes.append(self._outcome(connection, pending.popleft()))
        except ldap.SERVER_DOWN:
            self.close()
            raise DirectoryUnavailable("the directory does not answer") from None
        return outcomes

    def _outcome(
        self, connection: ldap.ldapobject.LDAPObject, message_id: int
    ) -> BridgeError | None:
        try:
            connection.result(message_id)
        except ldap.SERVER_DOWN:
            raise
        except ldap.LDAPError as error:
            info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
            return error_for_code(int(info.get("result", 80)), str(info.get("info", "")))
        return None

    def _connect(self) -> ldap.ldapobject.LDAPObject:
        if self._connection is not None:
            return self._connection
        last: Exception | None = None
        for url in self.settings.urls:
            connection = ldap.initialize(url)
            connection.set_option(ldap.OPT_NETWORK_TIMEOUT, self.settings.connect_timeout)
            connection.set_option(ldap.OPT_TIMEOUT, self.settings.operation_timeout)
            try:
                connection.simple_bind_s(self.settings.bind_dn, self.settings.password)
            except ldap.LDAPError as error:
                last = error
                connection.unbind_s()
                continue
            self._connection = connection
            return connection
        raise DirectoryUnavailable("the directory does not answer") from last

    def close(self) -> None:
        """Unbind, if connected."""
        if self._connection is not None:
            try:
                self._connection.unbind_s()
            except ldap.LDAPError:
                pass
            self._connection = None


def _modlist(attributes: dict[str, list[str]]) -> list[tuple[str, list[bytes]]]:
    return [
        (name, [value.encode("utf-8") for value in values]) for name, values in attributes.items()
    ]


Request = Callable[[Any], int]


def _add(entry: str, attributes: dict[str, list[str]]) -> Request:
    return lambda connection: int(connection.add_ext(entry, _modlist(attributes)))


def _add_members(group: str, members: list[str]) -> Request:
    change = [(ldap.MOD_ADD, "member", [member.encode("utf-8") for member in members])]
    permissive = [ldap.controls.LDAPControl(PERMISSIVE_MODIFY, False)]
    return lambda connection: int(connection.modify_ext(group, change, serverctrls=permissive))
