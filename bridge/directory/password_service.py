"""The LDAP password-change service: ``ldappasswd`` and SSSD's ``passwd`` under the portal's rules.

slapd refuses a person's own password change (``slapd_config.access_rules``): its ppolicy
checks length and history but not the policy's other rules. This small server, run by the
bridge over TLS only (ldaps), takes the change instead and applies the core's one rule path
(``bridge.core.own_password``), so the words a person sees are the portal's. SSSD reaches it
through ``ldap_chpass_uri``, a sysadmin through ``ldappasswd -H``. It speaks just this much
LDAP (RFC 4511):

- a base-scope search of the root DSE: what it supports (Password Modify, ppolicy, v3);
- a simple Bind as a person (their DN, or their login ID, which is their mail) with their
  password, checked by a bind to the directory as the portal checks it, so a failure counts
  toward the lock; a temporary (must-change) password binds;
- the Password Modify extended operation (RFC 3062), for the bound person or for the
  ``userIdentity`` given with its ``oldPasswd``; a new password is never made up here;
- Unbind. Everything else is answered unwillingToPerform with a reason.

Limits: a message larger than ``max_message`` bytes, bytes that are not an LDAP message, or
a connection idle for ``idle_seconds`` closes the connection; at most ``max_connections`` are
open at once. Passwords are never logged: log lines name the client address and the login.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
import ssl
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from bridge.core import own_password
from bridge.core.audit import Origin, reset_origin, set_origin
from bridge.core.own_password import OwnPassword
from bridge.core.people import Role
from bridge.directory import dn
from bridge.directory import ldap_messages as wire
from bridge.errors import DirectoryUnavailable, Locked, PolicyViolation

log = logging.getLogger("mims.password_service")
T = TypeVar("T")

PASSWORD_MODIFY = "1.3.6.1.4.1.4203.1.11.1"  # RFC 3062
PPOLICY_CONTROL = "1.3.6.1.4.1.42.2.27.8.5.1"  # draft-behera-ldap-password-policy
ROOT_DSE = {
    "supportedExtension": [PASSWORD_MODIFY],
    "supportedControl": [PPOLICY_CONTROL],
    "supportedLDAPVersion": ["3"],
}
UNAVAILABLE_WORDS = "The service is not working right now. Please try again later."
INTERNAL_WORDS = "Something went wrong on our side. Please try again later."
BIND_FIRST = (
    "Bind as yourself first (your login ID or DN and your current password), "
    "or give your login ID and current password with the request."
)
NOT_YOURS = "You can change only your own password."
NO_NEW = (
    "Type the new password you chose: this service does not make one up (ldappasswd: -s or -S)."
)
NO_CURRENT = "Give your current password too (ldappasswd: -a or -A)."
ONLY_THIS = (
    "This server only changes passwords (Bind, then the Password Modify operation); "
    "ask the directory itself for anything else."
)
CONTROL_WORDS = "A critical control this server does not support was sent."


@dataclass(frozen=True)
class Limits:
    """What one client may take of the service."""

    max_message: int = 16 * 1024  # a bind name and two passwords are well under 2 KiB
    max_connections: int = 64
    idle_seconds: float = 60.0
    handshake_seconds: float = 10.0
    workers: int = 4  # threads doing directory work (binds and writes)


@dataclass(frozen=True)
class BindNames:
    """How a bind name becomes a login ID: a person's DN under this suffix, or the ID itself."""

    suffix: str
    domains: Mapping[Role, str]

    def login(self, name: str) -> str:
        """Return the login ID a bind name stands for ('' if it names nobody)."""
        name = name.strip()
        if "=" not in name:
            return name
        try:
            rdns = dn.normalised(name)
            if rdns[3:] != dn.normalised(self.suffix) or rdns[0][0] != "uid":
                return ""
            role = dn.role_of(name)
            domain = self.domains.get(role) if role else None
            return f"{dn.first_value(name)}@{domain}" if domain else ""
        except (IndexError, ValueError):
            return ""


@dataclass
class Session:
    """One connection's state: who is bound (a login ID) and with which password."""

    peer: str
    login: str | None = None
    password: str = field(default="", repr=False)


class PasswordService:
    """The protocol: one small handler per operation, over an asyncio TLS server."""

    def __init__(
        self,
        desk: OwnPassword,
        names: BindNames,
        tls: ssl.SSLContext,
        limits: Limits | None = None,
    ) -> None:
        self.desk = desk
        self.names = names
        self.tls = tls
        self.limits = limits or Limits()
        self._open = 0
        self._pool = ThreadPoolExecutor(self.limits.workers, "mims-password")

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on ``host:port`` (ldaps) and return the server."""
        return await asyncio.start_server(
            self._connection,
            host,
            port,
            ssl=self.tls,
            ssl_handshake_timeout=self.limits.handshake_seconds,
            limit=self.limits.max_message,
        )

    def close(self) -> None:
        """Let the directory work under way finish and stop the worker threads."""
        self._pool.shutdown(wait=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client; when the service stops under it, drop the connection quietly.

        asyncio cancels the handlers of open connections at shutdown; a handler that ends
        cancelled is logged by asyncio with a traceback (its stream callback reads the task's
        exception), so the cancellation ends here, with the socket closed without waiting.
        """
        try:
            await self._handle(reader, writer)
        except asyncio.CancelledError:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if self._open >= self.limits.max_connections:
            log.warning("refused a connection from %s: %d open", peer, self._open)
            await _close(writer)
            return
        self._open += 1
        session = Session(peer)
        try:
            await self._serve(session, reader, writer)
        except wire.ProtocolError as error:
            log.info("closed the connection of %s: %s", peer, error)
            with contextlib.suppress(OSError, ssl.SSLError):
                writer.write(wire.notice_of_disconnection("That is not an LDAP request."))
                await writer.drain()
        except (TimeoutError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # idle, reset or cut: nothing to answer
        finally:
            self._open -= 1
            session.password = ""
            await _close(writer)

    async def _serve(
        self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            frame = await asyncio.wait_for(
                wire.read_frame(reader, self.limits.max_message), self.limits.idle_seconds
            )
            if frame is None:
                return
            request = wire.decode(frame)
            if request.operation == "unbindRequest":
                return
            for reply in await self._answer(session, request):
                writer.write(reply)
            await writer.drain()

    async def _answer(self, session: Session, request: wire.Request) -> list[bytes]:
        """Return the replies to one request (none for an abandon)."""
        operation, message_id = request.operation, request.message_id
        if operation == "abandonRequest":
            return []
        if operation not in wire.RESPONSES:
            raise wire.ProtocolError(f"a client may not send {operation}")
        response = wire.RESPONSES[operation]
        if request.critical_controls:
            code = wire.UNAVAILABLE_CRITICAL_EXTENSION
            return [wire.result(message_id, response, code, CONTROL_WORDS)]
        if operation == "bindRequest":
            return [await self._bind(session, request)]
        if operation == "searchRequest":
            return self._search(request)
        if operation == "extendedReq":
            return [await self._extended(session, request)]
        return [wire.result(message_id, response, wire.UNWILLING_TO_PERFORM, ONLY_THIS)]

    async def _bind(self, session: Session, request: wire.Request) -> bytes:
        """Answer a simple Bind by checking the password against the directory."""
        message_id, value = request.message_id, request.value
        session.login, session.password = None, ""
        if int(value["version"]) != 3:  # type: ignore[index]
            return wire.result(message_id, "bindResponse", wire.PROTOCOL_ERROR, "LDAPv3 only.")
        choice = value["authentication"]  # type: ignore[index]
        if choice.getName() != "simple":
            code = wire.AUTH_METHOD_NOT_SUPPORTED
            return wire.result(message_id, "bindResponse", code, "Simple bind only.")
        name = wire.text(value["name"])  # type: ignore[index]
        password = wire.text(choice.getComponent())
        if not name and not password:  # anonymous: enough to read the root DSE
            return wire.result(message_id, "bindResponse", wire.SUCCESS)
        login = self.names.login(name)
        try:
            ok = await self._run(session, self.desk.verify, login, password)
        except DirectoryUnavailable:
            return wire.result(message_id, "bindResponse", wire.UNAVAILABLE, UNAVAILABLE_WORDS)
        if not ok:
            log.info("bind refused from %s", session.peer)  # never the login ID: docs/security.md
            code, words = wire.INVALID_CREDENTIALS, own_password.WRONG_SIGN_IN
            return wire.result(message_id, "bindResponse", code, words)
        session.login, session.password = login, password
        return wire.result(message_id, "bindResponse", wire.SUCCESS)

    def _search(self, request: wire.Request) -> list[bytes]:
        """Answer a base-scope search of the root DSE; refuse any other search."""
        message_id, value = request.message_id, request.value
        base = wire.text(value["baseObject"])  # type: ignore[index]
        if base or int(value["scope"]) != 0:  # type: ignore[index]
            code = wire.UNWILLING_TO_PERFORM
            return [wire.result(message_id, "searchResDone", code, ONLY_THIS)]
        wanted = {wire.text(a).lower() for a in value["attributes"]}  # type: ignore[index]
        every = not wanted or bool(wanted & {"+", "*"})
        shown = {k: v for k, v in ROOT_DSE.items() if every or k.lower() in wanted}
        return [
            wire.entry(message_id, "", shown),
            wire.result(message_id, "searchResDone", wire.SUCCESS),
        ]

    async def _extended(self, session: Session, request: wire.Request) -> bytes:
        """Answer Password Modify; any other extended operation is not known here."""
        message_id, value = request.message_id, request.value
        name = wire.text(value["requestName"])  # type: ignore[index]
        if name != PASSWORD_MODIFY:
            # RFC 4511 section 4.12: an unrecognised request name gets protocolError.
            words = "Unknown extended operation: this server only changes passwords."
            return wire.result(message_id, "extendedResp", wire.PROTOCOL_ERROR, words)
        raw = value["requestValue"]  # type: ignore[index]
        change = wire.password_modify(bytes(raw) if raw.isValue else None)
        code, words = await self._change(session, change)
        return wire.result(message_id, "extendedResp", code, words)

    async def _change(self, session: Session, change: wire.PasswordModify) -> tuple[int, str]:
        """Change a password by the core's rules; return the result code and the words."""
        login = session.login
        if change.identity is not None:
            named = self.names.login(change.identity)
            if login is not None and not _same(named, login):
                return wire.INSUFFICIENT_ACCESS_RIGHTS, NOT_YOURS
            login = named
        if login is None:
            return wire.UNWILLING_TO_PERFORM, BIND_FIRST
        if not change.new:
            return wire.UNWILLING_TO_PERFORM, NO_NEW
        current = change.old if change.old is not None else session.password
        if not current or (session.login is None and change.old is None):
            return wire.UNWILLING_TO_PERFORM, NO_CURRENT
        try:
            await self._run(session, self.desk.change, login, current, change.new)
        except own_password.WrongPassword as error:
            log.info("password change refused (wrong password) from %s", session.peer)
            return wire.INVALID_CREDENTIALS, str(error)
        except Locked as error:
            return wire.INVALID_CREDENTIALS, str(error)
        except PolicyViolation as error:
            log.info("password refused by the policy from %s", session.peer)
            return wire.CONSTRAINT_VIOLATION, str(error)
        except DirectoryUnavailable:
            return wire.UNAVAILABLE, UNAVAILABLE_WORDS
        except Exception:
            log.exception("password change failed from %s", session.peer)
            return wire.OTHER, INTERNAL_WORDS
        log.info("password changed from %s", session.peer)
        if session.login is not None:
            session.password = change.new
        return wire.SUCCESS, ""

    async def _run(self, session: Session, work: Callable[..., T], *args: str) -> T:
        """Run directory work on a worker thread, as the person, from the client's address."""
        origin = Origin("ldap", None, session.peer, f"ldap-{secrets.token_hex(6)}")

        def call() -> T:
            token = set_origin(origin)
            try:
                return work(*args)
            finally:
                reset_origin(token)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)


def serve_forever(
    service: PasswordService, host: str, port: int, ready: Callable[[str], None]
) -> None:
    """Listen until SIGTERM or SIGINT, then let the changes under way finish.

    ``ready`` is called with the service's URL once it listens; an address that cannot be
    listened on raises OSError before that.
    """

    async def main() -> None:
        server = await service.start(host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop.set)
        bracketed = f"[{host}]" if ":" in host else host
        ready(f"ldaps://{bracketed}:{port}")
        await stop.wait()
        server.close()  # connections still open are cancelled as asyncio.run ends

    try:
        asyncio.run(main())
    finally:
        service.close()


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """Return the server's TLS settings: TLS 1.2 or later, this certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


def _same(one: str, other: str) -> bool:
    first, second = own_password.login_id(one), own_password.login_id(other)
    return first is not None and first == second


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    return str(address[0]) if isinstance(address, tuple) and address else "unknown"


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 5)
