"""Bearer tokens on every SCIM request (RFC 6750), checked against hashes in the directory.

A verified token is remembered in this process for ``CACHE_SECONDS`` so that a busy client does
not cost an LDAP search per request. The price: a revoked token keeps working in a process that
saw it recently for at most that long. Unknown tokens are never cached, so a new token works at
once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bridge.core.tokens import Scope, TokenInfo, allows, matches, token_hash
from bridge.scim.errors import Forbidden, Unauthorized

CACHE_SECONDS = 30.0
MAX_CACHED = 1000


class TokenChecker:
    """Verify bearer tokens, remembering good ones briefly."""

    def __init__(
        self,
        find: Callable[[str], tuple[TokenInfo, str] | None],
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.find = find
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[TokenInfo, float]] = {}
        self._lock = threading.Lock()

    def check(self, authorization: str | None, wanted: Scope) -> TokenInfo:
        """Return the token's info if the header carries a token allowed ``wanted``."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send 'Authorization: Bearer <token>' (see `mims token create`)")
        info = self._verify(token)
        if info is None:
            raise Unauthorized("that token is not valid (revoked, mistyped or from elsewhere)")
        if not allows(info.scopes, wanted):
            raise Forbidden(f"token {info.name!r} does not have the scope {wanted!r}")
        return info

    def _verify(self, token: str) -> TokenInfo | None:
        hashed = token_hash(token)
        now = self.clock()
        with self._lock:
            cached = self._cache.get(hashed)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = self.find(hashed)
        if found is None or not matches(token, found[1]):
            with self._lock:
                self._cache.pop(hashed, None)
            return None
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[hashed] = (found[0], now + self.ttl)
        return found[0]
