"""Many adds at once, pipelined on one connection, for imports of 100,000 people.

ldap3 encodes each request in pure Python (pyasn1): about ten times the CPU of python-ldap,
which encodes in libldap's C (``bench/ldap_libraries.py``). An import is nothing but adds, so
it goes through python-ldap. Requests are sent without waiting and their results read
afterwards, so slapd always has work queued. The connection comes from the client
(``client.py``): same servers, failover, timeouts and TLS as every other one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import ldap
import ldap.controls
from ldap.ldapobject import SimpleLDAPObject

from bridge.directory import dn
from bridge.directory.client import LdapClient, holds
from bridge.directory.errors import DirectoryError, error_for_code
from bridge.directory.libldap_connections import GONE, result_code, result_info, result_message
from bridge.errors import BridgeError

Entry = tuple[str, dict[str, list[str]]]
PERMISSIVE_MODIFY = "1.2.840.113556.1.4.1413"  # adding a value already there is not an error
WINDOW = 256  # requests in flight on the connection; slapd's limit is 1,000
SUCCESS = 0
ALREADY_EXISTS = 68
# Member additions go in small modifies, few at a time: slapd's memberof overlay writes every
# new member's entry before it answers, and works on all the modifies in flight at once. One
# modify of a 3,000-pupil school kept the client waiting 0.9 s on a quiet machine (past the 10 s
# operation timeout on a busy one); 50 members a modify, two in flight, 0.04 s between answers.
MEMBERS_PER_MODIFY = 50
MEMBER_WINDOW = 2


class BulkWriter:
    """Pipelined adds and member additions on this thread's python-ldap connection."""

    def __init__(self, client: LdapClient) -> None:
        self.client = client

    def add_all(self, entries: Sequence[Entry]) -> list[BridgeError | None]:
        """Add every entry; return, in order, None for each success or the domain error."""
        return self._pipeline([_Add(entry, attributes) for entry, attributes in entries])

    def add_members(self, groups: Sequence[tuple[str, list[str]]]) -> list[BridgeError | None]:
        """Add member DNs to each group, pipelined; members already there are left alone.

        Return, for each group in order, None or the first refusal of its modifies. A member
        named twice, in any spelling, is sent once (slapd refuses a modify that names a value
        twice, permissive or not); members go MEMBERS_PER_MODIFY to a modify.
        """
        requests: list[_Request] = []
        owners: list[int] = []  # the position in ``groups`` of each request
        for position, (group, members) in enumerate(groups):
            unique: dict[tuple[tuple[str, str], ...], str] = {}
            for member in members:
                unique.setdefault(dn.normalised(member), member)
            once = list(unique.values())
            for start in range(0, len(once), MEMBERS_PER_MODIFY):
                requests.append(_AddMembers(group, once[start : start + MEMBERS_PER_MODIFY]))
                owners.append(position)
        outcomes: list[BridgeError | None] = [None] * len(groups)
        answers = self._pipeline(requests, MEMBER_WINDOW)
        for position, outcome in zip(owners, answers, strict=True):
            outcomes[position] = outcomes[position] or outcome
        return outcomes

    def _pipeline(
        self, requests: Sequence[_Request], window: int = WINDOW
    ) -> list[BridgeError | None]:
        """Send requests, at most ``window`` outstanding; return outcomes in order.

        slapd drops a connection with more than olcConnMaxPendingAuth (1,000) requests waiting.
        When the connection breaks, the client retries once on the next server with the
        requests that have no outcome yet (the retry rules of ``client.py``).
        """
        run = _Run(requests, window)
        self.client.libldap.run(run.send, kind="add")
        return [run.outcomes[index] for index in range(len(requests))]


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
    """A member addition; permissive, so sending it again after it landed changes nothing."""

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
    """One pipeline's progress, so that a retry resends only what has no outcome yet."""

    requests: Sequence[_Request]
    window: int
    outcomes: dict[int, BridgeError | None] = field(default_factory=dict)
    sent: set[int] = field(default_factory=set)  # requests that went out, on any connection

    def send(self, connection: SimpleLDAPObject) -> None:
        """Send every request without an outcome yet, reading answers as they come."""
        resent = set(self.sent)  # sent on an earlier connection: their first attempt may land
        waiting: dict[int, int] = {}  # message id -> request index
        for index, request in enumerate(self.requests):
            if index in self.outcomes:
                continue
            if len(waiting) >= self.window:
                self._read(connection, waiting, resent)
            waiting[request.send(connection)] = index
            self.sent.add(index)
        while waiting:
            self._read(connection, waiting, resent)

    def _read(
        self, connection: SimpleLDAPObject, waiting: dict[int, int], resent: set[int]
    ) -> None:
        """Read the next answer to any waiting request.

        The operation timeout then means that slapd answered nothing for that long (frozen),
        not that one request waited behind the others slapd was working on.
        """
        message: int | None
        code, info = SUCCESS, ""
        try:
            message = connection.result3(ldap.RES_ANY)[2]
        except GONE:
            raise
        except ldap.LDAPError as error:
            message, code, info = result_message(error), result_code(error), result_info(error)
        index = waiting.pop(message, None) if message is not None else None
        if index is None:
            raise DirectoryError("the directory answered a request the bridge did not send")
        retried = index in resent  # a 68 may be this request's own first attempt
        landed = code == ALREADY_EXISTS and retried and self.requests[index].landed(connection)
        self.outcomes[index] = None if code == SUCCESS or landed else error_for_code(code, info)
