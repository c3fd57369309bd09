"""The WSGI app in a thread under the event loop: a response sent whole, or streamed when long."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bridge.web.threaded_wsgi import BUFFER_BYTES, ThreadedWsgi

SCOPE = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/echo",
    "query_string": b"a=1",
    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
    "server": ("127.0.0.1", 8080),
    "client": ("127.0.0.1", 50000),
}


class Body:
    """A WSGI body of ``parts`` chunks that notes when the server closes it."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def close(self) -> None:
        self.closed += 1


def serve(parts: list[bytes]) -> tuple[list[dict[str, Any]], Body, dict[str, Any]]:
    body = Body(parts)
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Body:
        seen.update(environ, body=environ["wsgi.input"].read())
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Id", " 7 ")])
        return body

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    served = ThreadedWsgi(app, threads=2)(SCOPE, b"hello", send)  # type: ignore[arg-type]
    # A loop of its own on a thread of its own: a test before this one in the same worker
    # (the browser tests' Playwright) may leave an event loop running on the main thread.
    with ThreadPoolExecutor(max_workers=1) as alone:
        alone.submit(asyncio.run, served).result()
    return sent, body, seen


def test_a_short_response_is_sent_whole_after_the_app_ran() -> None:
    sent, body, seen = serve([b"one ", b"", b"two"])
    assert seen["body"] == b"hello"
    assert (seen["REQUEST_METHOD"], seen["PATH_INFO"], seen["QUERY_STRING"]) == (
        "POST",
        "/echo",
        "a=1",
    )
    assert seen["CONTENT_TYPE"] == "text/plain" and seen["REMOTE_ADDR"] == "127.0.0.1"
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-id", b"7")],
        },
        {"type": "http.response.body", "body": b"one two"},
    ]
    assert body.closed == 1


def test_a_long_response_is_streamed_and_closed_once() -> None:
    chunk = b"x" * (BUFFER_BYTES // 2 + 1)
    sent, body, _ = serve([chunk, chunk, chunk, b"end"])
    bodies = [message for message in sent if message["type"] == "http.response.body"]
    assert b"".join(message["body"] for message in bodies) == chunk * 3 + b"end"
    assert len(bodies) == 5 and bodies[-1] == {"type": "http.response.body", "body": b""}
    assert all(message["more_body"] for message in bodies[:-1])
    assert body.closed == 1
