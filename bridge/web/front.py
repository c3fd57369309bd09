"""The HTTP front of ``mims serve``: a body is limited and read whole before a thread is given.

gunicorn's threaded worker hands a connection to a thread as soon as its first bytes arrive,
and the thread then waits for the body: forty clients sending a byte a second held every
thread. Here gunicorn's asyncio worker reads each request on its event loop, where a slow
client costs a little memory and no thread; ``Front`` refuses a body over its route's limit
before reading it (413 when the ``Content-Length`` says so, or as soon as a chunked body
passes the limit), gives a body a deadline (408), and only then runs the Flask app in a
thread of a fixed pool (``threaded_wsgi``: a2wsgi's environ, the response gathered in the
thread and sent by the loop), with the body in memory. The LDAP libraries block (python-ldap
is C), so the app keeps a thread per request: only the waiting for clients moved to the loop.
Why this and not gevent or an nginx in front: docs/decisions.md, "Slow clients".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.web.threaded_wsgi import ThreadedWsgi, lifespan

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# How long a client may take to send a whole body once its headers are in: a 1 MB SCIM body
# over a slow school line is seconds; a client that trickles is cut off.
BODY_SECONDS = 30.0
# A route no front door claims (health checks): they take no body.
OTHER_BODY_BYTES = 8 * 1024


@dataclass(frozen=True)
class Refusal:
    """A response the front sends itself: status, content type and body."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class BodyLimit:
    """The largest body the routes under ``prefix`` take, and how they say no."""

    prefix: str
    max_bytes: int
    # (status, words) -> the refusal in the front door's own error shape.
    refuse: Callable[[int, str], Refusal]

    def covers(self, path: str) -> bool:
        """Return whether a request path is under this limit's prefix."""
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")


def plain_refusal(status: int, words: str) -> Refusal:
    """Refuse in the shape of the app's own catch-all errors."""
    return Refusal(
        status,
        "application/json",
        json.dumps({"status": "error", "detail": words}).encode(),
    )


class _TooLarge(Exception):
    """The body passed its limit."""


class _Gone(Exception):
    """The client went away before its body was in."""


class Front:
    """An ASGI app: limit and buffer each request's body, then run the WSGI app in a thread."""

    def __init__(
        self,
        app: WSGIApplication,
        limits: Sequence[BodyLimit],
        threads: int,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        self.limits = tuple(limits)
        self.other = BodyLimit("/", OTHER_BODY_BYTES, plain_refusal)
        self.body_seconds = body_seconds
        self.app = ThreadedWsgi(app, threads)

    def limit_for(self, path: str) -> BodyLimit:
        """Return the limit of the route a path is under."""
        return next((limit for limit in self.limits if limit.covers(path)), self.other)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit.max_bytes:
            await _send(send, limit.refuse(413, _too_large(limit)))
            return
        try:
            async with asyncio.timeout(self.body_seconds):
                body = await _read_body(receive, limit.max_bytes)
        except _TooLarge:
            await _send(send, limit.refuse(413, _too_large(limit)))
            return
        except TimeoutError:
            words = f"the body did not arrive within {self.body_seconds:g} seconds"
            await _send(send, limit.refuse(408, words))
            return
        except _Gone:
            return
        buffered = dict(scope)
        buffered["headers"] = _framed(scope["headers"], len(body))
        await self.app(buffered, body, send)


def _too_large(limit: BodyLimit) -> str:
    return f"the request body is larger than this endpoint takes ({limit.max_bytes} bytes)"


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """Return the declared Content-Length (the server has already checked its syntax)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_body(receive: Receive, max_bytes: int) -> bytes:
    """Read a request's body, refusing it as soon as it passes ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _framed(headers: Iterable[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """Return the headers of a body now in memory: its length, no transfer coding."""
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in (b"content-length", b"transfer-encoding")
    ]
    return [*kept, (b"content-length", str(length).encode())]


async def _send(send: Send, refusal: Refusal) -> None:
    """Send a refusal and close the connection: the rest of the body is never read."""
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", refusal.content_type.encode()),
                (b"content-length", str(len(refusal.body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": refusal.body})
