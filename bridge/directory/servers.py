"""Where the directory is and how to reach it: the settings, and the server order with quarantine.

Kept below ``client.py`` so that both library adapters (``ldap3_connections.py``,
``libldap_connections.py``) read the same settings without importing the client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

TlsMode = Literal["ldaps", "starttls", "off"]
TlsSetting = Literal["", "ldaps", "starttls", "off"]


@dataclass(frozen=True)
class ClientSettings:
    """Where the directory is, as whom the bridge binds, and how long it waits.

    ``tls``: "" lets each URL decide (ldaps:// is TLS from the first byte, ldap:// is plain);
    "starttls" upgrades every ldap:// connection before the bind; "off" never asks for TLS
    (ldaps:// URLs still are TLS). ldapi:// sockets never use TLS. Certificates are always
    checked, host name included, against ``ca_file`` (or the system's CAs when empty).
    """

    urls: tuple[str, ...]
    bind_dn: str
    password: str = field(repr=False)
    suffix: str
    connect_timeout: float = 5.0
    operation_timeout: float = 10.0
    tls: TlsSetting = ""
    ca_file: str = ""
    quarantine_seconds: float = 30.0
    # [failover]: used only with several URLs (write_target.py).
    check_seconds: float = 2.0
    automatic_after: float = 0.0
    heartbeat_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("at least one LDAP URL is needed")
        plain = [url for url in self.urls if _scheme(url) == "ldap"]
        if self.tls == "ldaps" and plain:
            raise ValueError(f"tls = 'ldaps' but {plain[0]} is not an ldaps:// URL")

    def tls_for(self, url: str) -> TlsMode:
        """Return how a connection to ``url`` is protected."""
        scheme = _scheme(url)
        if scheme == "ldaps":
            return "ldaps"
        if scheme == "ldap" and self.tls == "starttls":
            return "starttls"
        return "off"


TLS_HANDSHAKE = "the TLS handshake failed: the directory's certificate was not accepted"


class TlsFailure(Exception):
    """A server refused StartTLS, or its certificate was not accepted (says which, in words)."""


class Route(Protocol):
    """Which servers a pool may connect to, in order, and what it learns of them."""

    def order(self) -> list[str]: ...  # noqa: D102

    def preferred(self) -> str | None: ...  # noqa: D102

    def failed(self, url: str) -> None: ...  # noqa: D102

    def answered(self, url: str) -> None: ...  # noqa: D102


class Servers:
    """The configured order (write server first, DESIGN.md), with failed servers set aside.

    A server that failed (refused the connection, broke it, or let an operation time out, as
    a frozen one does) is quarantined: for ``quarantine_seconds`` it is tried only after every
    server in good standing. When all are quarantined they are still tried, in order: a lone
    slapd that restarts is read again at once. One instance is shared by every connection of a
    client, whichever library opened it, so both learn about a bad server together.
    """

    def __init__(
        self,
        urls: tuple[str, ...],
        quarantine_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.urls = urls
        self.quarantine_seconds = quarantine_seconds
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def order(self) -> list[str]:
        """Return the servers to try, in the order to try them."""
        if not self._until:  # nobody quarantined: the configured order (the usual case)
            return list(self.urls)
        now = self._clock()
        with self._lock:
            held = {url for url, until in self._until.items() if until > now}
        return [url for url in self.urls if url not in held] + [
            url for url in self.urls if url in held
        ]

    def preferred(self) -> str:
        """Return the server a new connection should be on."""
        return self.urls[0] if not self._until else self.order()[0]

    def quarantined(self, url: str) -> bool:
        """Return whether ``url`` failed less than ``quarantine_seconds`` ago."""
        with self._lock:
            return self._until.get(url, 0.0) > self._clock()

    def failed(self, url: str) -> None:
        """Set ``url`` aside for ``quarantine_seconds``."""
        with self._lock:
            self._until[url] = self._clock() + self.quarantine_seconds

    def answered(self, url: str) -> None:
        """Note that ``url`` answered: it is in good standing again."""
        with self._lock:
            self._until.pop(url, None)


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].lower()
