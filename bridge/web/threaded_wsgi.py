"""Run the Flask (WSGI) app in a thread pool under the event loop: one hop there, one back.

a2wsgi's responder hands each part of a response (its start, every chunk, its end) from the
app's thread to the event loop and waits for the loop each time: three round trips between
two threads for every request, which the benchmark's profile of a one-client lookup found in
5-30% of the HTTP layer's samples, the more the busier the machine (bench/README.md,
"profile split"). Here the thread runs the app and gathers the response, and the loop sends
it in one go. A body longer than ``BUFFER_BYTES`` is not held
whole: the loop asks the thread for each further chunk. The environ is a2wsgi's
(``build_environ``), so the app sees every request as it did.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from a2wsgi.wsgi import build_environ

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

BUFFER_BYTES = 1024 * 1024  # a page of 1,000 SCIM users is ~1 MB


@dataclass
class _Response:
    """What the app answered: status, headers, the body read so far, and the rest of it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: list[bytes]
    rest: Iterator[bytes] | None  # None: the body is all in ``body`` and the iterable closed
    close: Callable[[], None]


class ThreadedWsgi:
    """Serve ASGI HTTP requests whose body is already read with a WSGI app in ``threads``."""

    def __init__(self, app: WSGIApplication, threads: int) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="WSGI")

    async def __call__(self, scope: MutableMapping[str, Any], body: bytes, send: Send) -> None:
        """Run the app on one request in a thread, then send its response."""
        loop = asyncio.get_running_loop()
        environ: dict[str, Any] = dict(build_environ(scope, io.BytesIO(body)))  # type: ignore[arg-type]
        context = contextvars.copy_context()
        response = await loop.run_in_executor(
            self.pool, functools.partial(context.run, self._run, environ)
        )
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": response.headers,
                }
            )
            if response.rest is None:
                await send({"type": "http.response.body", "body": b"".join(response.body)})
                return
            for part in response.body:
                await send({"type": "http.response.body", "body": part, "more_body": True})
            read = functools.partial(context.run, _next_chunk, response.rest)
            while (more := await loop.run_in_executor(self.pool, read)) is not None:
                await send({"type": "http.response.body", "body": more, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            if response.rest is not None:
                await loop.run_in_executor(
                    self.pool, functools.partial(context.run, response.close)
                )

    def _run(self, environ: dict[str, Any]) -> _Response:
        """Call the app and read its body up to ``BUFFER_BYTES`` (in a pool thread)."""
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            # Nothing is sent before the app returns, so a later call (with exc_info) replaces.
            started[:] = [status, headers]
            return written.append

        iterable: Iterable[bytes] = self.app(environ, start_response)
        close: Callable[[], None] = getattr(iterable, "close", None) or (lambda: None)
        chunks = iter(iterable)
        rest: Iterator[bytes] | None = None
        size = 0
        try:
            for chunk in chunks:
                written.append(chunk)
                size += len(chunk)
                if size > BUFFER_BYTES:
                    rest = chunks
                    break
            if not started:
                raise RuntimeError("the WSGI app returned without calling start_response")
        except BaseException:
            close()
            raise
        if rest is None:
            close()
        status, headers = started
        return _Response(
            int(status.split(" ", 1)[0]),
            [
                (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
                for name, value in headers
            ],
            [chunk for chunk in written if chunk],
            rest,
            close,
        )


def _next_chunk(rest: Iterator[bytes]) -> bytes | None:
    """Return the next chunk of a long body, or None at its end."""
    return next(rest, None)


async def lifespan(receive: Callable[[], Awaitable[Message]], send: Send) -> None:
    """Answer the server's lifespan messages: there is nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
