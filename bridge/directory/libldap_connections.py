"""How a python-ldap (libldap) connection is made, protected and closed, and its errors read.

``client.py`` decides to which server; this module only dials one, with the same timeouts and
TLS rules as the ldap3 side (``ldap3_connections.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import ldap
from ldap.ldapobject import SimpleLDAPObject

from bridge.directory.errors import error_for_code
from bridge.directory.servers import TLS_HANDSHAKE, ClientSettings, TlsFailure
from bridge.errors import DirectoryUnavailable

L = TypeVar("L", bound=SimpleLDAPObject)

# The server is gone, frozen (the operation timed out) or refusing work.
GONE: tuple[type[Exception], ...] = (
    ldap.SERVER_DOWN,
    ldap.CONNECT_ERROR,
    ldap.TIMEOUT,
    ldap.UNAVAILABLE,
    ldap.BUSY,
)


class LibldapConnections:
    """Open python-ldap connections bound as the bridge."""

    gone = GONE

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings

    def bind(self, url: str) -> SimpleLDAPObject:
        """Connect to ``url``, start TLS if asked, and bind as the bridge."""
        return self.bind_with(url, SimpleLDAPObject)

    def bind_with(self, url: str, make: Callable[[str], L]) -> L:
        """Like ``bind``, for a connection class of the caller's (the syncrepl consumer)."""
        settings = self.settings
        mode = settings.tls_for(url)
        connection = make(url)
        connection.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
        connection.set_option(ldap.OPT_REFERRALS, 0)
        connection.set_option(ldap.OPT_NETWORK_TIMEOUT, settings.connect_timeout)
        connection.set_option(ldap.OPT_TIMEOUT, settings.operation_timeout)
        connection.timeout = settings.operation_timeout  # python-ldap's own wait in *_s calls
        if mode != "off":
            connection.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
            if settings.ca_file:
                connection.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.ca_file)
            connection.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: applies the TLS options
        try:
            if mode == "starttls":
                try:
                    connection.start_tls_s()
                except (*GONE, ldap.PROTOCOL_ERROR, ldap.OPERATIONS_ERROR) as error:
                    if isinstance(error, ldap.TIMEOUT):
                        raise
                    raise TlsFailure("the directory refused StartTLS or its certificate") from None
            try:
                connection.simple_bind_s(settings.bind_dn, settings.password)
            except (ldap.SERVER_DOWN, ldap.CONNECT_ERROR) as error:
                if mode == "ldaps" and _is_tls(error):
                    raise TlsFailure(TLS_HANDSHAKE) from None
                raise
        except BaseException:
            close(connection)
            raise
        return connection

    def close(self, connection: SimpleLDAPObject) -> None:
        """Unbind quietly."""
        close(connection)

    def closed(self, connection: SimpleLDAPObject) -> bool:
        """Return False: python-ldap only tells by failing, and the client handles that."""
        return False

    def translated(self) -> Any:
        """Turn python-ldap's exceptions into domain errors (errors.py's table)."""
        return translated()

    def done(self, connection: SimpleLDAPObject) -> None:
        """Nothing kept after an operation."""


@contextmanager
def translated() -> Iterator[None]:
    """Turn python-ldap exceptions raised inside the block into domain errors."""
    try:
        yield
    except GONE:
        raise DirectoryUnavailable("the directory does not answer") from None
    except ldap.LDAPError as error:
        raise error_for_code(result_code(error), result_info(error)) from None


def result_code(error: ldap.LDAPError) -> int:
    """Return the LDAP result code python-ldap carries in an exception (80, other, if none)."""
    return int(_details(error).get("result", 80))


def result_message(error: ldap.LDAPError) -> int | None:
    """Return the message id of the request a refusal answers (python-ldap 3.3 and later)."""
    message = _details(error).get("msgid")
    return int(message) if message is not None else None


def result_info(error: ldap.LDAPError) -> str:
    """Return the server's diagnostic message of a refusal."""
    return str(_details(error).get("info", ""))


def close(connection: SimpleLDAPObject) -> None:
    """Unbind, ignoring a connection that is already gone."""
    try:
        connection.unbind_s()
    except ldap.LDAPError:
        pass


def _details(error: ldap.LDAPError) -> dict[str, Any]:
    return error.args[0] if error.args and isinstance(error.args[0], dict) else {}


def _is_tls(error: ldap.LDAPError) -> bool:
    """Return whether a failed ldaps:// connect failed in the TLS handshake.

    libldap (2.5) does not say why a handshake failed: the refused or reset TCP connection
    names its cause in ``info``, a refused certificate leaves "(unknown error code)".
    """
    info = str(_details(error).get("info", "")).lower()
    return info == "(unknown error code)" or any(w in info for w in ("certificate", "tls", "ssl"))
