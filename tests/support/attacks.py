"""What a stranger on the network does to `mims serve`: raw HTTP over sockets, and the cost.

urllib cannot send a 200 MB chunked body it never holds, nor keep 200 requests half-sent; these
helpers speak HTTP/1.1 on plain sockets. ``worker_rss`` reads what the attack cost the server
from /proc.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    """A response read off a socket: its status and body (empty when none came)."""

    status: int
    body: bytes

    def json(self) -> object:
        """Return the body as JSON."""
        return json.loads(self.body)


def _address(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _parse(raw: bytes) -> Answer:
    """Read the status and the Content-Length-framed body of a response."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/"):
        return Answer(0, b"")
    status = int(head.split(b" ", 2)[1])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return Answer(status, rest if length is None else rest[:length])


def send_body(
    base: str,
    path: str,
    headers: dict[str, str],
    *,
    total: int,
    chunked: bool,
    block: int = 64 * 1024,
    timeout: float = 120,
) -> tuple[Answer, int]:
    """POST ``total`` bytes of ``[`` (chunked or with a Content-Length) as fast as allowed.

    Return the answer and how many body bytes the server let through before it answered or
    closed. The response is read while sending, so a server that answers early is heard.
    """
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(total)}
    connection = socket.create_connection(_address(base), timeout=timeout)
    received = bytearray()
    done = threading.Event()

    def read() -> None:
        with suppress(OSError):
            while chunk := connection.recv(65536):
                received.extend(chunk)
                if _parse(bytes(received)).status and b"\r\n\r\n" in received:
                    answer = _parse(bytes(received))
                    if len(answer.body) >= _declared(bytes(received)):
                        break
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sent = 0
    payload = b"[" * block
    try:
        connection.sendall(_head("POST", path, headers | framing))
        while sent < total and not done.is_set():
            piece = payload[: min(block, total - sent)]
            connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked and not done.is_set():
            connection.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection: what it said was read by ``read``
    done.wait(timeout)
    connection.close()
    return _parse(bytes(received)), sent


def _declared(raw: bytes) -> int:
    head = raw.partition(b"\r\n\r\n")[0]
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def worker_pids(master: int) -> list[int]:
    """Return the ids of gunicorn's workers: the master's children that run Python."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rpartition(")")[2].split()
            pid = int(stat.parent.name)
            if int(fields[1]) == master and b"python" in (stat.parent / "cmdline").read_bytes():
                children.append(pid)
    return sorted(children)


def worker_rss(master: int) -> dict[int, int]:
    """Return each worker's resident memory in bytes (VmRSS)."""
    sizes = {}
    for pid in worker_pids(master):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes[pid] = int(line.split()[1]) * 1024
    return sizes


@contextmanager
def slow_clients(base: str, path: str, count: int) -> Iterator[list[socket.socket]]:
    """Hold ``count`` POSTs open, each sending its 1,000-byte body one byte a second."""
    sockets = []
    for _ in range(count):
        connection = socket.create_connection(_address(base), timeout=10)
        connection.sendall(
            _head("POST", path, {"Content-Type": "application/json", "Content-Length": "1000"})
        )
        connection.sendall(b"{")
        sockets.append(connection)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1):
            for connection in sockets:
                with suppress(OSError):
                    connection.send(b" ")

    dripper = threading.Thread(target=trickle, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join(5)
        for connection in sockets:
            connection.close()


def still_waiting(sockets: list[socket.socket]) -> int:
    """Count the connections still open with no answer yet (the server waits on them)."""
    count = 0
    for connection in sockets:
        timeout = connection.gettimeout()
        connection.setblocking(False)
        try:
            connection.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            count += 1
        except OSError:
            pass
        finally:
            connection.settimeout(timeout)
    return count


def request(
    base: str, method: str, path: str, body: object, headers: dict[str, str], timeout: float
) -> Answer:
    """Send one ordinary JSON request and read its answer (status 0: none within ``timeout``)."""
    data = json.dumps(body).encode()
    connection = socket.create_connection(_address(base), timeout=timeout)
    deadline = time.monotonic() + timeout
    received = bytearray()
    try:
        connection.sendall(
            _head(
                method,
                path,
                headers
                | {
                    "Content-Type": "application/json",
                    "Content-Length": str(len(data)),
                    "Connection": "close",
                },
            )
            + data
        )
        while time.monotonic() < deadline:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received.extend(chunk)
    except OSError:
        pass
    finally:
        connection.close()
    return _parse(bytes(received))
