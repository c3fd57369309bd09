"""Connections to the directory: one bound connection per thread, write server first.

Every bridge process sends all writes to the first URL that answers (DESIGN.md: concurrent
writes to two providers diverge), reconnects after slapd restarts, and never waits forever.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ldap3 import NONE, Connection, Server
from ldap3.core import exceptions as ldap

from bridge.directory.errors import CONNECTION_ERRORS, translated
from bridge.errors import DirectoryUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class ClientSettings:
    """Where the directory is and as whom the bridge binds."""

    urls: tuple[str, ...]
    bind_dn: str
    password: str = field(repr=False)
    suffix: str
    connect_timeout: float = 5.0
    operation_timeout: float = 10.0


class LdapClient:
    """Hand out one bound ldap3 connection per thread, rebuilt after a failure."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self._local = threading.local()
        self._closers: list[Callable[[], None]] = []

    def connection(self) -> Connection:
        """Return this thread's bound connection, opening it if needed."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._open()
            self._local.connection = connection
        return connection

    def open(self) -> Connection:
        """Return a new bound connection that the caller owns and closes."""
        return self._open()

    def on_close(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` when this thread's connections are closed (sort connections)."""
        self._closers.append(closer)

    def _open(self) -> Connection:
        """Bind to the first server in order that answers.

        ldap3's ServerPool would do this, but its availability check breaks on ldapi:// sockets
        (ldap3 2.9.1 binds a TCP source address to a unix socket), so the order is walked here.
        """
        *others, last = self.settings.urls
        for url in others:
            try:
                return self._bind(url)
            except CONNECTION_ERRORS:
                continue
        with translated():
            return self._bind(last)

    def _bind(self, url: str) -> Connection:
        # A new Server each time: ldap3 2.9.1 lists an address twice once it has been marked
        # unavailable, and leaks one socket per retry. get_info=NONE: the schema is not needed
        # and reading it costs 15-20 ms per connection.
        server = Server(url, get_info=NONE, connect_timeout=self.settings.connect_timeout)
        connection = Connection(
            server,
            user=self.settings.bind_dn,
            password=self.settings.password,
            raise_exceptions=True,
            # Whole seconds: on ldapi sockets ldap3 packs the timeout into a C struct of integers.
            receive_timeout=math.ceil(self.settings.operation_timeout),
        )
        try:
            connection.open(read_server_info=False)
            connection.bind(read_server_info=False)
        except BaseException:
            _close(connection)
            raise
        return connection

    def try_bind(self, user: str, password: str, controls: list[Any]) -> dict[str, Any]:
        """Bind as someone else on a fresh connection; return the result (never raise on 49).

        Used to check a person's password the way SSO tools do, so ppolicy counts failures.
        """
        with translated():
            server = Server(
                self.settings.urls[0], get_info=NONE, connect_timeout=self.settings.connect_timeout
            )
            connection = Connection(
                server,
                user=user,
                password=password,
                receive_timeout=math.ceil(self.settings.operation_timeout),
            )
            try:
                connection.open(read_server_info=False)
                connection.bind(read_server_info=False, controls=controls)
                return dict(connection.result)
            finally:
                _close(connection)

    def discard(self) -> None:
        """Drop this thread's connection so the next call opens a fresh one."""
        connection: Connection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            _close(connection)

    def run(self, operation: Callable[[Connection], T], retry: bool = True) -> T:
        """Run ``operation`` on this thread's connection, reconnecting once if it was lost.

        Only idempotent operations (reads, binds) should retry: a write that was sent before the
        connection broke may have been applied.
        """
        for attempt in (1, 2):
            try:
                with translated():
                    connection = self.connection()
                    try:
                        return operation(connection)
                    finally:
                        forget_response(connection)
            except DirectoryUnavailable:
                self.discard()
                if not retry or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self) -> None:
        """Read the suffix entry; raise DirectoryUnavailable when the directory does not answer."""

        def read_suffix(connection: Connection) -> None:
            connection.search(self.settings.suffix, "(objectClass=*)", "BASE", attributes=["1.1"])

        self.run(read_suffix)

    def close(self) -> None:
        """Close this thread's connections (others close when their threads end)."""
        self.discard()
        for closer in self._closers:
            closer()


def forget_response(connection: Connection) -> None:
    """Drop the last response ldap3 keeps on a connection (it holds it until the next request).

    A thread's connection outlives its request; a kept page of 1,000 decoded entries on each of
    a server's threads made memory grow with page size times threads.
    """
    connection.response = None
    connection.result = None


def close_connection(connection: Connection) -> None:
    """Unbind and release a connection's socket, whatever state it is in."""
    _close(connection)


def _close(connection: Connection) -> None:
    """Unbind if possible and always release the socket.

    ldap3 2.9.1 keeps the socket of a failed connect, and of a connection whose server went
    away, open until garbage collection; a server process would run out of descriptors.
    """
    socket = connection.socket
    try:
        connection.unbind()
    except (ldap.LDAPException, OSError):
        pass
    finally:
        if socket is not None:
            socket.close()
