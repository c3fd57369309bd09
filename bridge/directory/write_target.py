"""The write target: the one provider every bridge writes to, decided in the directory (issue 21).

Two providers that take writes to the same entry at once diverge or lose one of them (the
measured facts in docs/high-availability.md), so all bridges write to one provider at a
time, named by ``cn=write-target,ou=services,SUFFIX`` (class ``mimsWriteTarget``), an entry
both providers replicate. A bridge with several ``[directory] urls`` reads that entry from
each server it reaches and follows the copy with the highest ``mimsWriteEpoch``, but only
when the server it names holds a copy naming itself (self-confirmation: an old target cut off
from the promotion still names itself at the lower epoch, and a bridge that has seen the
higher epoch never goes back to it). With no entry anywhere (a new pair) the first
configured URL is the target. The entry is read again every ``[failover] check_seconds`` and
after a write failure, on the write path: no thread of its own.

With ``[failover] automatic_after`` above 0, the bridges renew ``mimsWriteHeartbeat`` on the
target every ``heartbeat_seconds``, and a bridge that has not reached the target for
``automatic_after`` seconds promotes the first other provider it reaches, provided that
provider's copy of the heartbeat is older than ``automatic_after`` too (it has not heard
from the target either). ``failover.py`` has the administrator's side (status, promote).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, MODIFY_INCREMENT, MODIFY_REPLACE, Connection
from ldap3.core import exceptions as ldap

from bridge.directory import controls, dn
from bridge.directory.ldap3_connections import close, raw_values
from bridge.directory.servers import ClientSettings, Servers, TlsFailure

log = logging.getLogger(__name__)

ENTRY_CLASS = "mimsWriteTarget"
URL = "mimsWriteTargetUrl"
EPOCH = "mimsWriteEpoch"
HEARTBEAT = "mimsWriteHeartbeat"
# id_numbers.COUNTER_ATTRIBUTES (that module sits above the client, this one below it).
COUNTERS = ("mimsNextUidNumber", "mimsNextGidNumber")
# How far a promotion moves the new target's counters ahead: numbers the old target handed
# out whose increment had not replicated yet are never handed out again.
COUNTER_GAP = 1000
# "This server cannot tell us now": gone, frozen, refusing, or its certificate refused.
UNREACHABLE: tuple[type[Exception], ...] = (ldap.LDAPException, TlsFailure, OSError)


def entry_dn(suffix: str) -> str:
    """Return the write-target entry: one per directory, replicated to every provider."""
    return f"cn=write-target,{dn.services_base(suffix)}"


@dataclass(frozen=True)
class Copy:
    """One server's copy of the write-target entry."""

    url: str
    epoch: int
    heartbeat: datetime | None


@dataclass(frozen=True)
class Seen:
    """What one server answered: whether it did, its copy (None: no entry), its contextCSN."""

    server: str
    reachable: bool
    copy: Copy | None = None
    context_csn: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    """The target a survey names: ``url`` confirmed by its own copy, or None; at ``epoch``."""

    url: str | None
    epoch: int
    named: str | None  # what the highest copy names, confirmed or not


def read(connection: Connection, suffix: str, server: str) -> Seen:
    """Read a server's copy of the entry and its contextCSN on a bound connection."""
    connection.search(suffix, "(objectClass=*)", BASE, attributes=["contextCSN"])
    csn = raw_values(connection.response or []).get("contextcsn", [])
    try:
        connection.search(
            entry_dn(suffix), "(objectClass=*)", BASE, attributes=[URL, EPOCH, HEARTBEAT]
        )
        values = raw_values(connection.response or [])
    except ldap.LDAPNoSuchObjectResult:
        values = {}
    copy = None
    if values.get(URL.lower()) and values.get(EPOCH.lower()):
        beat = values.get(HEARTBEAT.lower())
        copy = Copy(
            values[URL.lower()][0].decode(),
            int(values[EPOCH.lower()][0]),
            parse_time(beat[0].decode()) if beat else None,
        )
    return Seen(server, True, copy, tuple(sorted(v.decode() for v in csn)))


def choose(seen: list[Seen], urls: tuple[str, ...], floor: int = 0) -> Choice:
    """Return the target: the highest copy at or above ``floor``, confirmed by its own server.

    No copy on any server that answered (a new pair) names the first configured URL, epoch 0,
    unless this process has seen a promotion (``floor`` above 0).
    """
    copies = [s.copy for s in seen if s.reachable and s.copy is not None]
    if not copies:
        return Choice(urls[0], 0, urls[0]) if floor == 0 else Choice(None, floor, None)
    best = max(copies, key=lambda c: c.epoch)
    if best.epoch < floor:
        return Choice(None, floor, None)
    own = next((s for s in seen if s.server == best.url and s.reachable), None)
    confirmed = own is not None and own.copy is not None and own.copy.url == best.url
    if confirmed and own is not None and own.copy is not None and own.copy.epoch >= best.epoch:
        return Choice(best.url, best.epoch, best.url)
    return Choice(None, best.epoch, best.url)


def write(connection: Connection, suffix: str, copy: Copy) -> None:
    """Write ``copy`` as this server's entry: replace it, or add it when there is none.

    An add can meet the entry that replication brought meanwhile (68): then it is replaced.
    """
    values = {URL: copy.url, EPOCH: str(copy.epoch)}
    if copy.heartbeat is not None:
        values[HEARTBEAT] = format_time(copy.heartbeat)
    changes = {name: [(MODIFY_REPLACE, [value])] for name, value in values.items()}
    try:
        connection.modify(entry_dn(suffix), changes)
        return
    except ldap.LDAPNoSuchObjectResult:
        pass
    attributes: dict[str, Any] = {"objectClass": ["top", ENTRY_CLASS], "cn": "write-target"}
    try:
        connection.add(entry_dn(suffix), attributes=attributes | values)
    except ldap.LDAPEntryAlreadyExistsResult:
        connection.modify(entry_dn(suffix), changes)


def renew(connection: Connection, suffix: str, copy: Copy, moment: datetime) -> None:
    """Set the heartbeat of the target ``copy`` names, only while it still names it.

    The assertion (RFC 4528) matters for a renewal that reaches a frozen target late: it
    must not bring back a URL or epoch that a promotion replaced meanwhile.
    """
    still = f"(&{dn.equals(URL, copy.url)}{dn.equals(EPOCH, str(copy.epoch))})"
    connection.modify(
        entry_dn(suffix),
        {HEARTBEAT: [(MODIFY_REPLACE, [format_time(moment)])]},
        controls=[controls.assertion(still)],
    )


def move_counters(connection: Connection, suffix: str, gap: int = COUNTER_GAP) -> bool:
    """Move the uidNumber and gidNumber counters ahead by ``gap`` (RFC 4525); False: none."""
    try:
        connection.modify(
            dn.id_numbers_dn(suffix), {name: [(MODIFY_INCREMENT, [gap])] for name in COUNTERS}
        )
    except ldap.LDAPNoSuchObjectResult:
        return False
    return True


def format_time(moment: datetime) -> str:
    """Return ``moment`` as an LDAP generalized time in UTC (RFC 4517 section 3.3.13)."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def parse_time(text: str) -> datetime | None:
    """Return a generalized time written by ``format_time``; None when it is not one."""
    try:
        return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class WriteTarget:
    """The process's view of the write target, read again when due (module docstring).

    One thread refreshes at a time, over connections of its own (one per server, closed after
    each refresh); the others keep the last answer meanwhile, except before the first answer,
    which they wait for.
    """

    def __init__(
        self,
        settings: ClientSettings,
        servers: Servers,
        dial: Callable[[str], Connection],
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.servers = servers
        self._dial = dial
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._connections: dict[str, Connection] = {}
        self._choice: Choice | None = None
        self._checked = float("-inf")
        self._beaten = float("-inf")
        self._lost_since: float | None = None
        self._seen: list[Seen] = []

    @property
    def floor(self) -> int:
        """Return the highest epoch this process has seen: it never follows a lower one."""
        return self._choice.epoch if self._choice is not None else 0

    def current(self) -> str | None:
        """Return the server to write to now, None when no server is confirmed as the target."""
        if self._clock() - self._checked >= self.settings.check_seconds:
            self.refresh(wait=self._choice is None)
        return self._choice.url if self._choice is not None else None

    def failed(self) -> None:
        """Note a write failure: the next call reads the entry again."""
        self._checked = float("-inf")

    def refresh(self, wait: bool = True) -> None:
        """Read every server that is not quarantined, choose, renew or promote when due."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            seen = [self._read(url) for url in self.settings.urls]
            self._seen = seen
            choice = choose(seen, self.settings.urls, self.floor)
            if choice.named is None and self._choice is not None:  # below what was seen
                choice = replace(choice, named=self._choice.named)
            if self._choice is not None and choice.url != self._choice.url:
                log.warning(
                    "the write target is now %s (epoch %s)", choice.url or "unknown", choice.epoch
                )
            self._choice = choice
            self._checked = self._clock()
            if self.settings.automatic_after > 0:
                self._automatic(seen, choice)
        finally:
            for url in list(self._connections):  # every few seconds: not worth keeping open
                self._drop(url)
            self._lock.release()

    def _read(self, url: str) -> Seen:
        if self.servers.quarantined(url):
            return Seen(url, False)
        try:
            connection = self._connections[url] = self._dial(url)
            seen = read(connection, self.settings.suffix, url)
        except UNREACHABLE as error:
            log.info("LDAP server %s: write target not read (%s)", url, type(error).__name__)
            self._drop(url)
            self.servers.failed(url)
            return Seen(url, False)
        return seen

    def _drop(self, url: str) -> None:
        connection = self._connections.pop(url, None)
        if connection is not None:
            close(connection)

    def _automatic(self, seen: list[Seen], choice: Choice) -> None:
        """Renew the heartbeat on a confirmed target; promote when it was lost long enough."""
        now = self._clock()
        if choice.url is not None:
            self._lost_since = None
            if now - self._beaten >= self.settings.heartbeat_seconds:
                self._renew(choice)
            return
        self._lost_since = self._lost_since if self._lost_since is not None else now
        if now - self._lost_since < self.settings.automatic_after:
            return
        wall = self._now()
        for other in seen:
            if not other.reachable or other.server == choice.named:
                continue
            if (other.copy.epoch if other.copy is not None else 0) < choice.epoch:
                continue  # it has not caught up with the last promotion
            beat = other.copy.heartbeat if other.copy is not None else None
            if beat is not None and (wall - beat).total_seconds() < self.settings.automatic_after:
                log.warning(
                    "write target %s lost, but %s still hears from it: not promoting",
                    choice.named,
                    other.server,
                )
                return
            self._promote(other.server, max(choice.epoch, self.floor) + 1)
            return

    def _renew(self, choice: Choice) -> None:
        assert choice.url is not None
        connection = self._connections.get(choice.url)
        if connection is None:
            return
        try:
            if choice.epoch == 0 and not self._has_entry(choice.url):
                write(connection, self.settings.suffix, Copy(choice.url, 0, self._now()))
            else:
                renew(
                    connection,
                    self.settings.suffix,
                    Copy(choice.url, choice.epoch, None),
                    self._now(),
                )
            self._beaten = self._clock()
        except UNREACHABLE:
            self._drop(choice.url)
            self.failed()

    def _has_entry(self, url: str) -> bool:
        return any(s.server == url and s.copy is not None for s in self._seen)

    def _promote(self, url: str, epoch: int) -> None:
        """Name ``url`` the target at ``epoch`` on its own copy, its counters moved ahead."""
        connection = self._connections.get(url)
        if connection is None:
            return
        try:
            move_counters(connection, self.settings.suffix)
            write(connection, self.settings.suffix, Copy(url, epoch, self._now()))
        except UNREACHABLE as error:
            log.warning("automatic promotion of %s failed (%s)", url, type(error).__name__)
            self._drop(url)
            return
        after = self.settings.automatic_after
        log.warning("write target unreachable for %s s: promoted %s", after, url)
        self._lost_since = None
        self._choice = Choice(url, epoch, url)
        self._beaten = self._clock()


class _Route:
    """What both routes share: the client's servers, the write target, what they learn."""

    def __init__(self, servers: Servers, target: WriteTarget) -> None:
        self.servers = servers
        self.target = target

    def failed(self, url: str) -> None:
        """Quarantine ``url``."""
        self.servers.failed(url)

    def answered(self, url: str) -> None:
        """Note that ``url`` answered."""
        self.servers.answered(url)

    @property
    def urls(self) -> tuple[str, ...]:
        """Return every configured server (the metrics count the quarantined among them)."""
        return self.servers.urls

    def quarantined(self, url: str) -> bool:
        """Return whether ``url`` is set aside."""
        return self.servers.quarantined(url)


class WriteRoute(_Route):
    """The servers the ldap3 pool (every write) may use: the write target alone.

    A target that is quarantined gives no server at all, so writes fail fast with
    DirectoryUnavailable until it answers again or another provider is promoted.
    """

    def order(self) -> list[str]:
        """Return the write target, or nothing when none is confirmed or it is quarantined."""
        url = self.target.current()
        return [url] if url is not None and not self.servers.quarantined(url) else []

    def preferred(self) -> str | None:
        """Return the write target, or None when none is confirmed or it is quarantined.

        None makes a thread drop a connection it holds to a target that failed since.
        """
        order = self.order()
        return order[0] if order else None

    def failed(self, url: str) -> None:
        """Quarantine ``url`` and read the write-target entry again before the next write."""
        super().failed(url)
        self.target.failed()


class ReadRoute(_Route):
    """The servers reads and sign-ins may use: any healthy one, the write target first."""

    def order(self) -> list[str]:
        """Return the servers in the usual order (quarantined last), the write target first."""
        order = self.servers.order()
        url = self.target.current()
        if url is None or url not in order or self.servers.quarantined(url):
            return order
        return [url] + [other for other in order if other != url]

    def preferred(self) -> str | None:
        """Return the first server of ``order``."""
        return self.order()[0]
