"""The portal's limits by client address, counted in one place every worker shares.

Two limits apply to every POST of the portal and the console, per client address (an IPv6
address by its /64, the block one subscriber gets, so a stranger cannot step through addresses):

- ``[sspr] rate_limit``: requests, counted before each request is handled;
- ``[sspr] address_failures``: wrong passwords (the console's sign-in too: web/attempts.py)
  and wrong answer sets, tested before each request and counted after one fails, so an
  address that has used them up is refused (429) before its tries reach the accounts' own
  counters (ppolicy's, and the answers' lock).

The counts live in SQLite in the data folder (``throttle.sqlite``, mode 0600): each count is
one ``INSERT ... ON CONFLICT DO UPDATE`` statement, atomic across every gunicorn worker and
every other process of the host. Several bridge hosts each keep their own count
(docs/decisions.md). A failure is tested before and counted after, so requests that arrive
together may all pass the test: at most the server's threads more than the limit.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from flask_limiter.util import get_remote_address
from limits.storage import Storage

from bridge.sspr.service import AccountLocked, ResetRefused, WrongCurrentPassword, WrongSignIn
from bridge.web import sqlite_file
from bridge.web.attempts import mark_failed

THROTTLE_FILE = "throttle.sqlite"
SCHEME = "mims+sqlite"
# The refusals that mean a wrong secret was tried: what address_failures counts.
COUNTED = (WrongSignIn, AccountLocked, ResetRefused, WrongCurrentPassword)
# One count in this many also deletes the windows that are over.
_PURGE_EVERY = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires REAL NOT NULL
)
"""
_INCREMENT = """
INSERT INTO counters (key, count, expires) VALUES (:key, :amount, :expires)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN expires <= :now THEN :amount ELSE count + :amount END,
    expires = CASE WHEN expires <= :now THEN :expires ELSE expires END
RETURNING count
"""


def source() -> str:
    """Return the client's address as limits count it: IPv4 whole, IPv6 by its /64."""
    address = get_remote_address()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def note(error: BaseException) -> None:
    """Mark this request as a failed attempt if ``error`` is a wrong secret."""
    if isinstance(error, COUNTED):
        mark_failed()


def storage_uri(data_dir: Path) -> str:
    """Return the flask-limiter storage URI of the data folder's shared counters."""
    return f"{SCHEME}://{(Path(data_dir) / THROTTLE_FILE).resolve()}"


class SharedCounters(Storage):
    """Fixed-window counters in one SQLite file, for limits' fixed-window strategy."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool
    ) -> None:
        """Open (or make, 0600) the counters file the URI names."""
        super().__init__(uri, wrap_exceptions, **options)
        self.path = Path(uri.removeprefix(f"{SCHEME}://"))
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # SQLite's journal files take the database file's mode: make it private first.
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        self._db().execute(_SCHEMA)

    @property
    def base_exceptions(self) -> type[Exception]:
        """Return what a failing store raises (limits wraps it when asked)."""
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        """Return this thread's connection (sqlite3 connections stay on their thread)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite_file.connect(self.path)
            connection.execute("PRAGMA synchronous=NORMAL")  # a lost count on power loss is fine
            self._local.connection = connection
        return connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the key's count in its window (a new one once over); return it."""
        now = time.time()
        db = self._db()
        row = db.execute(
            _INCREMENT, {"key": key, "amount": amount, "expires": now + expiry, "now": now}
        ).fetchone()
        if secrets.randbelow(_PURGE_EVERY) == 0:
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return int(row[0])

    def get(self, key: str) -> int:
        """Return the key's count in its current window (0 when over or never counted)."""
        row = (
            self._db()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        """Return when the key's window ends (now if it has none)."""
        now = time.time()
        row = (
            self._db()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        """Tell whether the file answers."""
        return self._db().execute("SELECT 1").fetchone() is not None

    def reset(self) -> int | None:
        """Forget every count; return how many there were."""
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))


__all__ = ["COUNTED", "SharedCounters", "note", "source", "storage_uri"]
