"""A TCP relay to slapd that loses a connection at the worst moment, for retry tests.

It relays requests from plain TCP to slapd's ldapi socket (a simple bind needs no TLS there)
and, once armed, either drops answers after slapd has applied the requests (``swallow``: the
outcome is unknown to the client, the write landed) or hangs up before relaying a request
(``cut``: the write never reached slapd). It reads LDAP messages, so it sees them unencrypted.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path


class Relay:
    """A TCP relay to slapd that drops answers (``swallow``) or requests (``cut``), hangs up."""

    def __init__(self, ldapi: Path) -> None:
        self.ldapi = ldapi
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ldap://127.0.0.1:{self.listener.getsockname()[1]}"
        self.swallowing = 0  # answers still to drop before hanging up
        self.cutting = False
        self.armed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def swallow(self, answers: int) -> None:
        """Relay the next requests but drop ``answers`` answers, then close the connection."""
        self.swallowing = answers
        self.armed.set()

    def cut(self) -> None:
        """Close the connection when the next request arrives, without relaying it."""
        self.cutting = True
        self.armed.set()

    def close(self) -> None:
        """Stop accepting connections."""
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(str(self.ldapi))
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        while data := _recv(client):
            if self.cutting:
                self.cutting = False  # once: the retry's new connection goes through
                self.armed.clear()
                _hang_up(client, server)
                return
            server.sendall(data)
        _hang_up(client, server)  # the client went away: release slapd's side too

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        buffer = b""
        while data := _recv(server):
            if not self.armed.is_set():
                client.sendall(data)
                continue
            buffer += data
            while (size := _message_size(buffer)) is not None:
                buffer = buffer[size:]
                self.swallowing -= 1
                if self.swallowing == 0:
                    self.armed.clear()  # once: the retry's new connection goes through
                    _hang_up(client, server)
                    return


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _hang_up(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def _message_size(buffer: bytes) -> int | None:
    """Return the size of the first whole BER message in ``buffer`` (an LDAPMessage), if any."""
    if len(buffer) < 2:
        return None
    length = buffer[1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        if len(buffer) < 2 + count:
            return None
        length = int.from_bytes(buffer[2 : 2 + count], "big")
        header += count
    return header + length if len(buffer) >= header + length else None
