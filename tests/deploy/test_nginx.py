"""deploy/nginx/mims-bridge.conf as shipped, run by Debian's nginx in front of a real `mims serve`.

The bridge runs one worker with one thread, so a request body that reached it slowly would hold
every other request: that nginx buffers bodies shows as a second request answered while the
first one's body is still arriving.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support.certificates import Certificates, make_certificates
from tests.support.cli import Served, serving
from tests.support.nginx import NGINX, Nginx, fronting
from tests.support.sync import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(NGINX), reason="Debian nginx missing (make test installs it)"
    ),
]

BRIDGE_TOML = """
[http]
workers = 1
threads = 1
trusted_proxies = ["127.0.0.1"]

[sspr]
rate_limit = "2 per minute"
"""

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "externalId": "NGINX-SLOW-1",
    "name": {"formatted": "Slow Client Tan"},
    "urn:mims:params:scim:schemas:extension:mims:2.0:User": {
        "role": "student",
        "school": "Clementi Primary School",
        "level": "P4",
        "className": "4A",
    },
}


@dataclass(frozen=True)
class Stack:
    """nginx with the published site file, in front of `mims serve`."""

    nginx: Nginx
    bridge: Served
    certs: Certificates

    def tls(self) -> ssl.SSLContext:
        """Return a client context that trusts the test CA only."""
        return ssl.create_default_context(cafile=str(self.certs.ca))

    def connect(self, source: str = "127.0.0.1") -> http.client.HTTPSConnection:
        """Open an HTTPS connection to nginx from the loopback address ``source``."""
        return http.client.HTTPSConnection(
            "127.0.0.1",
            self.nginx.https_port,
            context=self.tls(),
            source_address=(source, 0),
            timeout=30,
        )

    def raw(self) -> ssl.SSLSocket:
        """Open a TLS connection to nginx to write HTTP by hand."""
        return self.tls().wrap_socket(
            socket.create_connection(("127.0.0.1", self.nginx.https_port), timeout=30),
            server_hostname="127.0.0.1",
        )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def call(
    stack: Stack,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> Answer:
    """Send one request through nginx over HTTPS and read the whole answer."""
    connection = stack.connect(source)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def scim_headers(stack: Stack) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {stack.bridge.token}",
        "Content-Type": "application/scim+json",
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    certs = make_certificates(tmp_path_factory.mktemp("nginx-tls"))
    with serving(BRIDGE_TOML) as bridge:
        upstream = bridge.base.removeprefix("http://")
        with fronting(upstream, certs) as nginx:
            yield Stack(nginx, bridge, certs)


def test_the_portal_answers_through_nginx_with_hsts_and_a_secure_cookie(stack: Stack) -> None:
    portal = call(stack, "GET", "/sspr/", headers={"X-Request-Id": "chosen-by-the-client"})
    assert portal.status == 200
    # nginx's own id replaced the client's, and the bridge (nginx is its trusted proxy) kept it.
    assert re.fullmatch(r"[0-9a-f]{32}", portal.headers["X-Request-Id"])
    # From the bridge (it believed nginx's X-Forwarded-Proto), once: nginx adds none of its own.
    assert portal.headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]
    cookie = portal.headers["Set-Cookie"]
    assert cookie.startswith("mims_portal=") and "; Secure" in cookie
    # The answer came from the bridge, and nginx logged the bridge's request id.
    request_id = portal.headers["X-Request-Id"]
    # nginx writes its log line after the answer has gone: wait for it, then read it.
    logged = f"id={request_id}"
    wait_until(lambda: logged in stack.nginx.access_log(), 10, "nginx to log the request")
    assert '"GET /sspr/ HTTP/1.1" 200 ' in stack.nginx.access_log()


def test_scim_answers_through_nginx(stack: Stack) -> None:
    users = call(stack, "GET", "/scim/v2/Users?count=1", headers=scim_headers(stack))
    assert users.status == 200, users.body
    assert "urn:ietf:params:scim:api:messages:2.0:ListResponse" in json.loads(users.body)["schemas"]
    assert call(stack, "GET", "/scim/v2/Users?count=1").status == 401
    assert call(stack, "GET", "/readyz").status == 200


def test_plain_http_is_sent_to_https(stack: Stack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.nginx.http_port, timeout=30)
    try:
        connection.request("GET", "/sspr/")
        response = connection.getresponse()
        assert response.status == 301
        assert response.headers["Location"] == "https://127.0.0.1/sspr/"
    finally:
        connection.close()


def resets(stack: Stack, source: str, forwarded_for: tuple[str, ...]) -> list[int]:
    """POST reset/start from ``source``, once per claimed X-Forwarded-For; return the statuses."""
    body = json.dumps({"loginId": "nobody"}).encode()
    return [
        call(
            stack,
            "POST",
            "/sspr/api/reset/start",
            body=body,
            headers={"Content-Type": "application/json", "X-Forwarded-For": claim},
            source=source,
        ).status
        for claim in forwarded_for
    ]


def test_the_bridge_counts_each_clients_own_address(stack: Stack) -> None:
    # Rate limit: 2 per minute per client address. Every request reaches the bridge from
    # nginx (127.0.0.1); the bridge counts the address nginx saw, whatever a client claims.
    assert resets(stack, "127.0.0.5", ("198.51.100.1", "198.51.100.2", "198.51.100.3")) == [
        200,
        200,
        429,
    ]
    assert resets(stack, "127.0.0.6", ("127.0.0.5", "127.0.0.6", "127.0.0.7")) == [200, 200, 429]


def test_a_body_over_the_scim_limit_is_refused_by_nginx(stack: Stack) -> None:
    with stack.raw() as raw:
        raw.sendall(
            b"POST /scim/v2/Bulk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/scim+json\r\nContent-Length: 1048577\r\n\r\n"
        )
        response = http.client.HTTPResponse(raw)
        response.begin()
        assert response.status == 413
        assert "X-Request-Id" not in response.headers  # the bridge never saw it


def test_a_body_of_exactly_the_scim_limit_reaches_the_bridge(stack: Stack) -> None:
    start = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "x": "'
    end = b'"}'
    body = start + b"a" * (1_048_576 - len(start) - len(end)) + end
    answer = call(stack, "POST", "/scim/v2/Bulk", body=body, headers=scim_headers(stack))
    assert answer.status != 413
    assert "X-Request-Id" in answer.headers, answer.body


def test_a_slow_clients_body_waits_in_nginx_not_in_the_bridge(stack: Stack) -> None:
    body = json.dumps(USER).encode()
    head = (
        "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {stack.bridge.token}\r\n"
        f"Content-Type: application/scim+json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with stack.raw() as slow:
        slow.sendall(head + body[: len(body) // 2])
        # The bridge's only thread is free: nginx holds the half body.
        answered = call(stack, "GET", "/scim/v2/Users?count=1", headers=scim_headers(stack))
        assert answered.status == 200, answered.body
        # Had the bridge been holding it, nginx would have given up on it first.
        assert not has_answer(slow), "the slow request ended before its body was sent"
        slow.sendall(body[len(body) // 2 :])
        response = http.client.HTTPResponse(slow)
        response.begin()
        assert response.status == 201, response.read()


def has_answer(connection: ssl.SSLSocket) -> bool:
    """Return whether anything (an answer, or the end of the connection) has arrived."""
    connection.setblocking(False)
    try:
        connection.recv(1)
    except ssl.SSLWantReadError:
        return False
    except OSError:
        return True
    finally:
        connection.settimeout(30)
    return True
