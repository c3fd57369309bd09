"""Many adds at once, pipelined on one connection, for imports of 100,000 people.

ldap3 encodes each request in pure Python (pyasn1): about ten times the CPU of python-ldap,
which encodes in libldap's C (``bench/ldap_libraries.py``). An import is nothing but adds, so
it goes through python-ldap. Requests are sent without waiting and their results read
afterwards, so slapd always has work queued. The connection comes from the client
(``client.py``): same servers, failover, timeouts and TLS as every other one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import ldap
import ldap.controls
from ldap.ldapobject import SimpleLDAPObject

from bridge.directory.client import LdapClient, holds
from bridge.directory.errors import error_for_code
from bridge.directory.libldap_connections import GONE, result_code, result_info
from bridge.errors import BridgeError

Entry = tuple[str, dict[str, list[str]]]
PERMISSIVE_MODIFY = "1.2.840.113556.1.4.1413"  # adding a value already there is not an error
WINDOW = 256  # requests in flight on the connection; slapd's limit is 1,000
ALREADY_EXISTS = 68


class BulkWriter:
    """Pipelined adds and member additions on this thread's python-ldap connection."""

    def __init__(self, client: LdapClient) -> None:
        self.client = client

    def add_all(self, entries: Sequence[Entry]) -> list[BridgeError | None]:
        """Add every entry; return, in order, None for each success or the domain error."""
        return self._pipeline([_Add(entry, attributes) for entry, attributes in entries])

    def add_members(self, groups: Sequence[tuple[str, list[str]]]) -> list[BridgeError | None]:
        """Add member DNs to each group, pipelined; members already there are left alone."""
        return self._pipeline([_AddMembers(group, members) for group, members in groups])

    def _pipeline(self, requests: Sequence[_Request]) -> list[BridgeError | None]:
        """Send requests, at most WINDOW outstanding; return outcomes in order.

        slapd drops a connection with more than olcConnMaxPendingAuth (1,000) requests waiting.
        When the connection breaks, the client retries once on the next server from the first
        request without an outcome (the retry rules of ``client.py``).
        """
        run = _Run(requests)
        self.client.libldap.run(run.send)
        return run.outcomes


@dataclass
class _Add:
    entry: str
    attributes: dict[str, list[str]]

    def send(self, connection: SimpleLDAPObject) -> int:
        modlist = [(name, [v.encode("utf-8") for v in vs]) for name, vs in self.attributes.items()]
        return int(connection.add_ext(self.entry, modlist))

    def landed(self, connection: SimpleLDAPObject) -> bool:
        """Return whether the entry holds what this add sent (an earlier attempt landed)."""
        found = connection.search_s(self.entry, ldap.SCOPE_BASE, "(objectClass=*)", ["*"])
        return bool(found) and holds(found[0][1], self.attributes)


@dataclass
class _AddMembers:
    group: str
    members: list[str]

    def send(self, connection: SimpleLDAPObject) -> int:
        change = [(ldap.MOD_ADD, "member", [member.encode("utf-8") for member in self.members])]
        permissive = [ldap.controls.LDAPControl(PERMISSIVE_MODIFY, False)]
        return int(connection.modify_ext(self.group, change, serverctrls=permissive))

    def landed(self, connection: SimpleLDAPObject) -> bool:
        """Return False: a member modify never meets entryAlreadyExists."""
        return False


_Request = _Add | _AddMembers


@dataclass
class _Run:
    """One pipeline's progress, so that a retry resumes where the broken connection stopped."""

    requests: Sequence[_Request]
    outcomes: list[BridgeError | None] = field(default_factory=list)
    sent: int = 0  # how many requests went out, on any connection
    resent_below: int = 0  # requests before this index were sent on an earlier connection

    def send(self, connection: SimpleLDAPObject) -> None:
        """Send every request without an outcome yet, reading outcomes in order."""
        self.resent_below = self.sent
        pending: deque[tuple[int, int]] = deque()
        for index in range(len(self.outcomes), len(self.requests)):
            if len(pending) >= WINDOW:
                self._read(connection, *pending.popleft())
            pending.append((index, self.requests[index].send(connection)))
            self.sent = max(self.sent, index + 1)
        while pending:
            self._read(connection, *pending.popleft())

    def _read(self, connection: SimpleLDAPObject, index: int, message: int) -> None:
        try:
            connection.result(message)
        except GONE:
            raise
        except ldap.LDAPError as error:
            code = result_code(error)
            retried = index < self.resent_below
            if not (code == ALREADY_EXISTS and retried and self.requests[index].landed(connection)):
                self.outcomes.append(error_for_code(code, result_info(error)))
                return
        self.outcomes.append(None)
