"""What the client home tells an observer: each operation's kind, result and time, pool changes.

``client.py`` calls these functions from ``Pool.run`` and ``Pool.connect`` (the one client
home, both libraries). The observer is whatever the wiring installs with ``observe_with``
(``bridge.metrics.ldap``: Prometheus counters); the directory itself knows no metrics library.
With none installed every call is a no-op.

Kinds: bind, search, add, modify, delete, modify_dn, extended, compare. A unit of work given to
``Pool.run`` may send several requests; it is counted once, as the kind of its last request
(ldap3 keeps the last result on the connection) or, for python-ldap, the kind its caller names.
Results: the LDAP result name (RFC 4511 section 4.1.9, as ldap3 spells it: success,
invalidCredentials, noSuchObject, ...), "timeout" when the server let the request time out,
"unavailable" when the connection failed, "error" for a refusal by the library itself.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import ldap
from ldap3.core import exceptions as ldap3_errors
from ldap3.core.results import RESULT_CODES

T = TypeVar("T")

# ldap3's name for each response type (RFC 4511 section 4.2 ff.) -> the kind counted.
_KINDS = {
    "bindResponse": "bind",
    "searchResDone": "search",
    "searchResEntry": "search",
    "addResponse": "add",
    "modifyResponse": "modify",
    "delResponse": "delete",
    "modDNResponse": "modify_dn",
    "extendedResp": "extended",
    "compareResponse": "compare",
}
_TIMEOUTS = (ldap3_errors.LDAPResponseTimeoutError, ldap.TIMEOUT, socket.timeout, TimeoutError)


class LdapObserver(Protocol):
    """Where the client home reports; implemented by ``bridge.metrics.ldap``."""

    def operation(self, kind: str, result: str, seconds: float) -> None:
        """Count one LDAP operation by kind and result, with the time it took."""

    def connections(self, library: str, change: int) -> None:
        """Note that a pool opened (+1) or dropped (-1) a held connection."""

    def failover(self) -> None:
        """Count a connection made to another server than the first one tried."""

    def quarantined(self, count: int) -> None:
        """Note how many servers are set aside now."""


class _Nobody:
    def operation(self, kind: str, result: str, seconds: float) -> None:
        pass

    def connections(self, library: str, change: int) -> None:
        pass

    def failover(self) -> None:
        pass

    def quarantined(self, count: int) -> None:
        pass


_NOBODY = _Nobody()
_observer: LdapObserver = _NOBODY


def observe_with(observer: LdapObserver | None) -> None:
    """Report to ``observer`` from now on, in this process (None: to nobody)."""
    global _observer
    _observer = observer or _NOBODY


def ran(operation: Callable[[Any], T], connection: Any, kind: str = "") -> T:
    """Run ``operation(connection)`` and report its kind, result and time."""
    if _observer is _NOBODY:
        return operation(connection)
    started = time.perf_counter()
    try:
        value = operation(connection)
    except Exception as error:
        _observer.operation(
            _kind(connection, kind, error), _failure(error), time.perf_counter() - started
        )
        raise
    _observer.operation(
        _kind(connection, kind), _success(connection), time.perf_counter() - started
    )
    return value


def bound(bind: Callable[[str], T], url: str) -> T:
    """Open and bind a connection to ``url`` with ``bind``; report the bind."""
    if _observer is _NOBODY:
        return bind(url)
    started = time.perf_counter()
    try:
        connection = bind(url)
    except Exception as error:
        _observer.operation("bind", _failure(error), time.perf_counter() - started)
        raise
    _observer.operation("bind", _success(connection), time.perf_counter() - started)
    return connection


def opened(dialer: object) -> None:
    """Note that a pool of ``dialer``'s library now holds one more connection."""
    _observer.connections(_library(dialer), 1)


def closed(dialer: object) -> None:
    """Note that a pool of ``dialer``'s library let one held connection go."""
    _observer.connections(_library(dialer), -1)


def failed_over() -> None:
    """Count a connection made after the first server in order failed."""
    _observer.failover()


def quarantine(quarantined: Callable[[str], bool], urls: tuple[str, ...]) -> None:
    """Report how many of ``urls`` are quarantined."""
    if _observer is not _NOBODY:
        _observer.quarantined(sum(1 for url in urls if quarantined(url)))


def _library(dialer: object) -> str:
    return "libldap" if type(dialer).__name__.startswith("Libldap") else "ldap3"


def _kind(connection: Any, hint: str, error: Exception | None = None) -> str:
    response_type = getattr(error, "type", None) if error is not None else None
    if not response_type:
        last = getattr(connection, "result", None)
        response_type = last.get("type") if isinstance(last, dict) else None
    if isinstance(response_type, str) and response_type in _KINDS:
        return _KINDS[response_type]
    return hint or "search"


def _success(connection: Any) -> str:
    last = getattr(connection, "result", None)
    if isinstance(last, dict) and isinstance(last.get("result"), int):
        return _name(last["result"])
    return "success"  # python-ldap raises on every result but success


def _failure(error: Exception) -> str:
    if isinstance(error, _TIMEOUTS):
        return "timeout"
    if isinstance(error, ldap3_errors.LDAPOperationResult):
        return _name(int(error.result))
    if isinstance(error, ldap.LDAPError):
        info = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        code = info.get("result")
        if isinstance(code, int) and code not in (-1, -11):  # libldap's own: server down
            return _name(code)
        return "unavailable"
    if isinstance(error, ldap3_errors.LDAPCommunicationError | OSError):
        return "unavailable"
    if type(error).__name__ in ("TlsFailure", "DirectoryUnavailable"):
        return "unavailable"
    return "error"


def _name(code: int) -> str:
    return str(RESULT_CODES.get(code, f"result{code}"))
