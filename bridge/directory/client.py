"""Connections to the directory, for both LDAP libraries: one server order, one failover loop.

ldap3 serves the stores (writes, binds, sorted pages); python-ldap (libldap, in C) serves the
reads clients make most (``lookup.py``), the importer's pipelined adds (``bulk.py``) and the
change feed (``feed.py``); ``bench/ldap_libraries.py`` measures why both stay. Every connection
of either library is opened by ``Pool.connect`` below, so the server order, the quarantine of
a bad server (``servers.py``), the timeouts and TLS are the same everywhere.

With one URL every pool uses it. With several (the providers of a replicated directory) the
ldap3 pool, and so every write, uses only the write target the directory names
(``write_target.py``): a target that does not answer is quarantined and writes fail at once
with DirectoryUnavailable until it answers or another provider is promoted; python-ldap and
``try_bind`` (reads, the feed, sign-ins) walk every server, the write target first.

Connections are sticky: a thread keeps its connection on the server it reached until that
server fails, or until the preferred server changes (a quarantine ended, or the write target
moved): then the next operation goes to it, so a process never writes to two servers for
longer than one check of the write target.

Retry rules. An operation that meets a connection error (the server went away, or let the
operation time out as a frozen one does) quarantines that server; reads and binds are then
retried once on the next server. Adds are retried too: when the retry meets entryAlreadyExists
(68), the entry is read back, and if it holds what was sent the first attempt landed and the
add counts as done; otherwise it is the real 68. Other writes are not retried: a modify that
landed before the connection broke could apply twice, or fail its own assertion
(docs/decisions.md, "Retries that tolerate a repeat").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ldap.ldapobject import SimpleLDAPObject
from ldap3 import BASE, Connection
from ldap3.core import exceptions as ldap
from ldap3.protocol.sasl.sasl import validate_simple_password

from bridge.directory import observation
from bridge.directory.errors import CONNECTION_ERRORS, translated
from bridge.directory.ldap3_connections import Ldap3Connections, close, forget_response
from bridge.directory.libldap_connections import LibldapConnections
from bridge.directory.servers import ClientSettings, Route, Servers, TlsFailure
from bridge.directory.write_target import ReadRoute, WriteRoute, WriteTarget
from bridge.errors import DirectoryUnavailable

__all__ = ["ClientSettings", "LdapClient", "Pool", "close_connection", "forget_response"]

INVALID_CREDENTIALS = 49  # RFC 4511 section 4.1.9

log = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")
L = TypeVar("L", bound=SimpleLDAPObject)

# Stored hashed by slapd (olcPPolicyHashCleartext) and never readable by the bridge.
UNCOMPARABLE = frozenset({"userpassword"})


class Dialer(Protocol[C]):
    """What a library adapter gives the pool: how to dial, close and read its errors."""

    gone: tuple[type[Exception], ...]

    def bind(self, url: str) -> C: ...  # noqa: D102

    def close(self, connection: C) -> None: ...  # noqa: D102

    def closed(self, connection: C) -> bool: ...  # noqa: D102

    def translated(self) -> Any: ...  # noqa: D102

    def done(self, connection: C) -> None: ...  # noqa: D102


@dataclass
class _Held(Generic[C]):
    url: str
    connection: C


class Pool(Generic[C]):
    """One connection per thread from one library, over the servers a client shares."""

    def __init__(self, servers: Route, dialer: Dialer[C]) -> None:
        self.servers = servers
        self.dialer = dialer
        self._local = threading.local()

    def connect(self, bind: Callable[[str], T]) -> tuple[str, T]:
        """Return (server, connection) from the first server in order that answers.

        The one failover walk of the bridge: both libraries, every connection.
        """
        reason = "the directory does not answer"
        skipped: list[str] = []  # logged only on failover: when none answers, the error says it
        order = self.servers.order()
        if not order:  # several URLs, and the write target is unknown or quarantined
            reason = "the write target does not answer"
        for url in order:
            with self.dialer.translated():
                try:
                    connection = observation.bound(bind, url)
                except TlsFailure as failure:
                    reason = str(failure)
                    skipped.append(f"LDAP server {url}: {failure}")
                    self.servers.failed(url)
                    continue
                except self.dialer.gone as error:
                    skipped.append(f"LDAP server {url} does not answer ({type(error).__name__})")
                    self.servers.failed(url)
                    continue
            for line in skipped:
                log.warning("%s; failed over to %s", line, url)
            self.servers.answered(url)
            self._observe_walk(failed_over=bool(skipped))
            return url, connection
        for line in skipped:
            log.info("%s", line)
        self._observe_walk(failed_over=False)
        raise DirectoryUnavailable(reason)

    def _observe_walk(self, failed_over: bool) -> None:
        if failed_over:
            observation.failed_over()
        observation.quarantine(self.servers.quarantined, self.servers.urls)

    def open(self) -> C:
        """Return a new bound connection that the caller owns and closes."""
        return self.connect(self.dialer.bind)[1]

    def connection(self) -> C:
        """Return this thread's bound connection, opening it on the preferred server if needed."""
        held: _Held[C] | None = getattr(self._local, "held", None)
        if held is not None and (
            self.dialer.closed(held.connection) or held.url != self.servers.preferred()
        ):
            self.discard()
            held = None
        if held is None:
            held = _Held(*self.connect(self.dialer.bind))
            self._local.held = held
            observation.opened(self.dialer)
        return held.connection

    def server(self) -> str | None:
        """Return the server this thread's connection is on, if it has one."""
        held: _Held[C] | None = getattr(self._local, "held", None)
        return held.url if held is not None else None

    def run(self, operation: Callable[[C], T], retry: bool = True, kind: str = "") -> T:
        """Run ``operation`` on this thread's connection; on a connection error, retry once.

        ``kind``: what python-ldap work does (search, add), for the metrics (observation.py).
        """
        for attempt in (1, 2):
            with self.dialer.translated():
                connection = self.connection()
                try:
                    return observation.ran(operation, connection, kind)
                except self.dialer.gone:
                    self.lost()
                    if not retry or attempt == 2:
                        raise
                finally:
                    self.dialer.done(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    def lost(self) -> None:
        """Quarantine the server of this thread's connection and drop the connection."""
        held: _Held[C] | None = getattr(self._local, "held", None)
        if held is not None:
            log.warning("LDAP server %s failed during an operation", held.url)
            self.servers.failed(held.url)
            observation.quarantine(self.servers.quarantined, self.servers.urls)
        self.discard()

    def discard(self) -> None:
        """Drop this thread's connection so the next call opens a fresh one."""
        held: _Held[C] | None = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            observation.closed(self.dialer)
            self.dialer.close(held.connection)


class LdapClient:
    """The bridge's connections to the directory, ldap3 and python-ldap, one per thread each."""

    def __init__(
        self, settings: ClientSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.servers = Servers(settings.urls, settings.quarantine_seconds, clock)
        self._ldap3 = Ldap3Connections(settings)
        self._libldap = LibldapConnections(settings)
        # One URL: one server for everything (the managed default). Several: writes go to the
        # write target alone, reads and sign-ins to any healthy server, the target first.
        self.write_target: WriteTarget | None = None
        self.writes: Route = self.servers
        self.reads: Route = self.servers
        if len(settings.urls) > 1:
            self.write_target = WriteTarget(settings, self.servers, self._ldap3.bind, clock)
            self.writes = WriteRoute(self.servers, self.write_target)
            self.reads = ReadRoute(self.servers, self.write_target)
        self.ldap3: Pool[Connection] = Pool(self.writes, self._ldap3)
        self.libldap: Pool[SimpleLDAPObject] = Pool(self.reads, self._libldap)
        # python-ldap's writes (bulk.py's pipelined adds) follow the write target like ldap3's.
        self.libldap_writes: Pool[SimpleLDAPObject] = self.libldap
        if self.write_target is not None:
            self.libldap_writes = Pool(self.writes, self._libldap)
        self._binds: Pool[Connection] = Pool(self.reads, self._ldap3)
        self._closers: list[Callable[[], None]] = [
            self.ldap3.discard,
            self.libldap.discard,
            self.libldap_writes.discard,
        ]

    # -- ldap3 ---------------------------------------------------------------------------------

    def connection(self) -> Connection:
        """Return this thread's bound ldap3 connection, opening it if needed."""
        return self.ldap3.connection()

    def open(self) -> Connection:
        """Return a new bound ldap3 connection that the caller owns and closes."""
        return self.ldap3.open()

    def pool(self) -> Pool[Connection]:
        """Return another set of per-thread ldap3 connections over the same servers."""
        return Pool(self.writes, self._ldap3)

    def run(self, operation: Callable[[Connection], T], retry: bool = True) -> T:
        """Run ``operation`` on this thread's ldap3 connection (retry rules: module docstring).

        Pass ``retry=False`` for writes other than adds; use ``add`` for adds.
        """
        return self.ldap3.run(operation, retry)

    def add(
        self, entry: str, attributes: Mapping[str, Any], controls: list[Any] | None = None
    ) -> None:
        """Add an entry; a retry that finds it there already, as sent, counts as done."""
        attempts = 0

        def send(connection: Connection) -> None:
            nonlocal attempts
            attempts += 1
            try:
                connection.add(entry, attributes=dict(attributes), controls=controls)
            except ldap.LDAPEntryAlreadyExistsResult:
                if attempts == 1 or not self._holds(connection, entry, attributes):
                    raise

        self.ldap3.run(send)

    def _holds(self, connection: Connection, entry: str, attributes: Mapping[str, Any]) -> bool:
        names = [name for name in attributes if name.lower() not in UNCOMPARABLE]
        connection.search(entry, "(objectClass=*)", BASE, attributes=names)
        found = next(
            (e for e in connection.response or [] if e.get("type") == "searchResEntry"), None
        )
        return found is not None and holds(found["raw_attributes"], attributes)

    def try_bind(
        self,
        user: str,
        password: str,
        controls: list[Any],
        then: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> dict[str, Any]:
        """Bind as someone else on a fresh connection; return the result (never raise on 49).

        Used to check a person's password the way SSO tools do, so ppolicy counts failures.
        ``then``: given the result, the DN to bind as next on the same connection with the same
        password, or None; that second result is not returned (the sign-in decoy's work).
        A password ldap3 will not send (empty, or what RFC 4013 prohibits: control characters,
        lone surrogates...) is answered as wrong without a bind: no stored password can be it.
        """
        try:
            validate_simple_password(password)
        except (ldap.LDAPSASLPrepError, ldap.LDAPPasswordIsMandatoryError):
            return {"result": INVALID_CREDENTIALS, "description": "invalidCredentials"}
        with translated():
            _, connection = self._binds.connect(
                lambda url: self._ldap3.bind_as(url, user, password, controls, raise_refusal=False)
            )
            try:
                result = dict(connection.result)
                again = then(result) if then is not None else None
                if again is not None:
                    connection.rebind(again, password, read_server_info=False, controls=controls)
                return result
            finally:
                close(connection)

    def discard(self) -> None:
        """Drop this thread's ldap3 connection so the next call opens a fresh one."""
        self.ldap3.discard()

    def ping(self) -> None:
        """Read the suffix entry; raise DirectoryUnavailable when the directory does not answer."""

        def read_suffix(connection: Connection) -> None:
            connection.search(self.settings.suffix, "(objectClass=*)", "BASE", attributes=["1.1"])

        self.run(read_suffix)

    def probe(self) -> str:
        """Bind afresh to the write target and read the suffix entry; return its URL.

        Readiness (``/readyz``, ``mims doctor``): not the pooled connection, which could be
        bound since before the server stopped taking binds. DirectoryUnavailable when it does
        not answer, in words that name the server.
        """
        url = self.writes.preferred()
        if url is None:
            raise DirectoryUnavailable("the write target is unknown or does not answer")
        with translated():
            try:
                connection = self._ldap3.bind(url)
            except TlsFailure as failure:
                raise DirectoryUnavailable(f"{url}: {failure}") from None
            except CONNECTION_ERRORS:
                raise DirectoryUnavailable(f"{url} does not answer") from None
            try:
                connection.search(self.settings.suffix, "(objectClass=*)", BASE, attributes=["1.1"])
            except CONNECTION_ERRORS:
                raise DirectoryUnavailable(f"{url} took the bind but not a search") from None
            finally:
                close(connection)
        return url

    # -- python-ldap ---------------------------------------------------------------------------

    def open_libldap(self, make: Callable[[str], L]) -> tuple[str, L]:
        """Return (server, new python-ldap connection made by ``make``): the syncrepl consumer.

        The caller owns and closes it; other python-ldap work goes through ``self.libldap``.
        """
        return self.libldap.connect(lambda url: self._libldap.bind_with(url, make))

    # -- both ----------------------------------------------------------------------------------

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` when this thread's connections are closed (sort connections)."""
        self._closers.append(closer)

    def close(self) -> None:
        """Close this thread's connections (others close when their threads end)."""
        for closer in self._closers:
            closer()


def holds(stored: Mapping[str, Sequence[bytes]], sent: Mapping[str, Any]) -> bool:
    """Return whether an entry read back holds exactly the values an add sent.

    Attribute names compare without regard to case; values as sent (slapd keeps them so).
    ``userPassword`` is left out: slapd stores it hashed, and the bridge cannot read it.
    """
    found = {name.lower(): {bytes(v) for v in values} for name, values in stored.items()}
    for name, values in sent.items():
        if name.lower() in UNCOMPARABLE:
            continue
        listed = values if isinstance(values, list | tuple) else [values]
        wanted = {v if isinstance(v, bytes) else str(v).encode("utf-8") for v in listed}
        if wanted != found.get(name.lower(), set()):
            return False
    return True


def close_connection(connection: Connection) -> None:
    """Unbind and release a connection's socket, whatever state it is in."""
    close(connection)
