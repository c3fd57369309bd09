"""A small SCIM (or any JSON API) client over the standard library: one kept-alive connection.

The benchmark's clients must cost little and the same for every server measured, so this is
plain ``http.client`` (no requests/httpx machinery in the timed loop): one connection per
client thread, as a SCIM client's own HTTP session would be. The portal's JSON API accepts
``application/scim+json`` as JSON too, so the SSPR phase uses it as well.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.workspace import BenchError

SCIM_JSON = "application/scim+json"
# gunicorn closes a kept-alive connection after 2 s of silence (its ``keepalive``); a client
# that was idle longer opens a new one rather than write into a closing socket.
IDLE_S = 1.5


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status and the JSON body (None when there is none)."""

    status: int
    body: Any

    def expect(self, *statuses: int) -> Any:
        """Return the body, or fail with what the server said."""
        if self.status not in statuses:
            detail = self.body.get("detail") if isinstance(self.body, dict) else self.body
            raise BenchError(f"HTTP {self.status} (wanted {statuses}): {str(detail)[:300]}")
        return self.body


class ScimClient:
    """Send SCIM requests on one kept-alive connection; reconnect after idleness."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname is None:
            raise BenchError(f"the benchmark speaks plain HTTP to local servers, not {base_url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Accept": SCIM_JSON, **headers}
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None
        self._used = 0.0

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Reply:
        query = f"?{urlencode(params)}" if params else ""
        return self.request("GET", f"{path}{query}")

    def post(self, path: str, document: Any) -> Reply:
        return self.request("POST", path, document)

    def patch(self, path: str, document: Any) -> Reply:
        return self.request("PATCH", path, document)

    def request(self, method: str, path: str, document: Any = None) -> Reply:
        """Send one request under the SCIM root (``path`` such as ``/Users``)."""
        body = None if document is None else json.dumps(document).encode()
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = SCIM_JSON
        connection = self._connect()
        try:
            connection.request(method, self.prefix + path, body, headers)
            response = connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.close()
            raise
        self._used = time.monotonic()
        if response.will_close:
            self.close()
        return Reply(response.status, json.loads(data) if data else None)

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is not None and time.monotonic() - self._used > IDLE_S:
            self.close()
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self.host, self.port, self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
