"""How an ldap3 connection is made, protected and closed; ``client.py`` decides to which server."""

from __future__ import annotations

import math
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from ldap3 import EXTERNAL, NONE, SASL, Connection, Server, Tls
from ldap3.core import exceptions as ldap

from bridge.directory.errors import CONNECTION_ERRORS, translated
from bridge.directory.servers import TLS_HANDSHAKE, ClientSettings, TlsFailure


class Ldap3Connections:
    """Open ldap3 connections bound as the bridge (or as a person, for ``try_bind``)."""

    gone: tuple[type[Exception], ...] = CONNECTION_ERRORS

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings

    def bind(self, url: str) -> Connection:
        """Connect to ``url``, start TLS if asked, and bind as the bridge."""
        return self.bind_as(url, self.settings.bind_dn, self.settings.password)

    def bind_as(
        self,
        url: str,
        user: str,
        password: str,
        controls: list[Any] | None = None,
        raise_refusal: bool = True,
    ) -> Connection:
        """Connect to ``url`` and bind as ``user`` (``raise_refusal`` False: keep the result)."""
        mode = self.settings.tls_for(url)
        # A new Server each time: ldap3 2.9.1 lists an address twice once it has been marked
        # unavailable, and leaks one socket per retry. get_info=NONE: the schema is not needed
        # and reading it costs 15-20 ms per connection.
        server = Server(
            url,
            get_info=NONE,
            connect_timeout=self.settings.connect_timeout,
            use_ssl=mode == "ldaps",
            tls=VerifiedTls(self.settings.ca_file) if mode != "off" else None,
        )
        connection = RefusingReferrals(
            server,
            user=user,
            password=password,
            raise_exceptions=raise_refusal,
            # Absent attributes are left out, not filled in as empty: a person's read asks for
            # many optional ones, and filling them cost more than decoding those present.
            return_empty_attributes=False,
            # A referral (a read-only replica's answer to a write) is reported, never followed:
            # following it would send the bridge's password and its write to a server that
            # the bridge's own choice of write target did not pick.
            auto_referrals=False,
            # Whole seconds: on ldapi sockets ldap3 packs the timeout into a C struct of integers.
            receive_timeout=math.ceil(self.settings.operation_timeout),
        )
        try:
            try:
                connection.open(read_server_info=False)
                if mode == "starttls":
                    connection.start_tls(read_server_info=False)
            except ldap.LDAPStartTLSError:
                raise TlsFailure("the directory refused StartTLS or its certificate") from None
            except ldap.LDAPOperationResult:  # an answer other than success to the request
                raise TlsFailure("the directory refused StartTLS") from None
            except ldap.LDAPSocketOpenError as error:
                if mode == "ldaps" and "ssl" in str(error).lower():
                    raise TlsFailure(TLS_HANDSHAKE) from None
                raise
            connection.bind(read_server_info=False, controls=controls)
        except BaseException:
            close(connection)
            raise
        return connection

    def close(self, connection: Connection) -> None:
        """Unbind and release the socket."""
        close(connection)

    def closed(self, connection: Connection) -> bool:
        """Return whether the connection can no longer be used."""
        return bool(connection.closed)

    def translated(self) -> AbstractContextManager[None]:
        """Turn ldap3's exceptions into domain errors (errors.py)."""
        return translated()

    def done(self, connection: Connection) -> None:
        """Drop the response ldap3 keeps after an operation."""
        forget_response(connection)


REFERRAL = 10  # RFC 4511 section 4.1.10


class RefusingReferrals(Connection):  # type: ignore[misc]
    """ldap3's Connection that raises on a referral as on any other refusal.

    ldap3 never raises for a referral (it is in its DO_NOT_RAISE_EXCEPTIONS): not followed,
    a write sent to a read-only replica would look done when nothing was written.
    """

    def add(self, *args: Any, **kwargs: Any) -> Any:
        """Add an entry (RFC 4511 section 4.7)."""
        return self._refused_if_referred(super().add(*args, **kwargs))

    def modify(self, *args: Any, **kwargs: Any) -> Any:
        """Modify an entry (RFC 4511 section 4.6)."""
        return self._refused_if_referred(super().modify(*args, **kwargs))

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        """Delete an entry (RFC 4511 section 4.8)."""
        return self._refused_if_referred(super().delete(*args, **kwargs))

    def modify_dn(self, *args: Any, **kwargs: Any) -> Any:
        """Rename or move an entry (RFC 4511 section 4.9)."""
        return self._refused_if_referred(super().modify_dn(*args, **kwargs))

    def extended(self, *args: Any, **kwargs: Any) -> Any:
        """Send an extended operation (RFC 4511 section 4.12), e.g. a password change."""
        return self._refused_if_referred(super().extended(*args, **kwargs))

    def _refused_if_referred(self, done: Any) -> Any:
        result = self.result or {}
        if self.raise_exceptions and result.get("result") == REFERRAL:
            raise ldap.LDAPReferralResult(
                result=REFERRAL,
                description=result.get("description"),
                dn=result.get("dn"),
                message=result.get("message"),
                response_type=result.get("type"),
            )
        return done


class VerifiedTls(Tls):  # type: ignore[misc]
    """ldap3's Tls with the standard library's host name check.

    ldap3 2.9.1 switches the SSL context's own check off and calls ``ssl.match_hostname``,
    which Python 3.12 removed (and 3.11 warns about); this keeps the context's check on.
    """

    def __init__(self, ca_file: str) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file or None)
        self.context = ssl.create_default_context(cafile=ca_file or None)

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        """Wrap the socket with the checked context, the server's host as the name to match."""
        connection.socket = self.context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=connection.server.host,
        )


@contextmanager
def root_connection(ldapi_url: str, *, raise_exceptions: bool = True) -> Iterator[Connection]:
    """Bind to a managed slapd as its rootDN over its ldapi socket; close on every path.

    SASL EXTERNAL: slapd takes the socket peer's uid and gid as the identity, and the data
    folder's owner is the rootDN (``slapd_config.peercred_dn``). No password, no TLS, no
    timeout (the socket is local). Failing to open or bind raises ldap3's exception, whatever
    ``raise_exceptions`` (which only says whether refused operations raise or return False):
    each caller words it for its own job.
    """
    connection = Connection(
        Server(ldapi_url, get_info=NONE),
        authentication=SASL,
        sasl_mechanism=EXTERNAL,
        sasl_credentials="",
        raise_exceptions=raise_exceptions,
    )
    try:
        connection.open(read_server_info=False)
        if not connection.bind(read_server_info=False):
            raise ldap.LDAPBindError(f"bind not successful - {connection.last_error}")
        yield connection
    finally:
        close(connection)


def forget_response(connection: Connection) -> None:
    """Drop the last response ldap3 keeps on a connection (it holds it until the next request).

    A thread's connection outlives its request; a kept page of 1,000 decoded entries on each of
    a server's threads made memory grow with page size times threads.
    """
    connection.response = None
    connection.result = None


def close(connection: Connection) -> None:
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


def raw_values(entries: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> dict[str, list[bytes]]:
    """Return the raw attributes of the first entry of a response, keyed in lower case."""
    for entry in entries:
        if entry.get("type") == "searchResEntry":
            return {name.lower(): list(values) for name, values in entry["raw_attributes"].items()}
    return {}
