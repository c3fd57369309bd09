"""How the bridge authenticates to a target: a bearer token, or OAuth 2.0 client credentials.

Secrets come from environment variables named in the configuration, never from the file, and
are never logged or put in an error message.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

import httpx2

from bridge.config import SyncTargetConfig
from bridge.core.sync import Refused, Unavailable
from bridge.errors import ConfigError

_EARLY = 60.0  # renew a token this many seconds before it expires


class Credentials:
    """Hand out the Authorization header; fetch and renew OAuth tokens as needed."""

    def __init__(
        self,
        name: str,
        config: SyncTargetConfig,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.config = config
        self.env = os.environ if env is None else env
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        if config.auth == "bearer":
            self._token = self._secret(config.token_env)
            self._expires = float("inf")
        else:
            self._secret(config.client_secret_env)  # fail at start, not at the first change

    def header(self, http: httpx2.Client) -> dict[str, str]:
        """Return the Authorization header, fetching a new OAuth token when due."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires:
                self._fetch(http)
            return {"Authorization": f"Bearer {self._token}"}

    def expire(self) -> None:
        """Forget an OAuth token the target refused (a 401), so the next call gets a new one."""
        if self.config.auth == "oauth":
            with self._lock:
                self._token = None

    def _fetch(self, http: httpx2.Client) -> None:
        """Get a token by the client-credentials grant (RFC 6749 section 4.4)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self._secret(self.config.client_secret_env),
        }
        if self.config.scope:
            form["scope"] = self.config.scope
        try:
            answer = http.post(self.config.token_url, data=form, timeout=self.config.timeout)
        except httpx2.RequestError as exc:
            raise Unavailable(f"token URL unreachable: {type(exc).__name__}") from None
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Unavailable(f"token URL answered {answer.status_code}")
        if answer.status_code != 200:
            raise Refused(f"token URL refused the client credentials ({answer.status_code})")
        body = answer.json()
        self._token = str(body["access_token"])
        self._expires = self.clock() + max(0.0, float(body.get("expires_in", 3600)) - _EARLY)

    def _secret(self, variable: str) -> str:
        value = self.env.get(variable, "")
        if not value:
            raise ConfigError(
                f"sync target {self.name!r}: the environment variable {variable} is not set"
            )
        return value
