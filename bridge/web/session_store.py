"""Sessions and reset grants kept on the server, in SQLite in the data folder.

The portal and the admin console each keep their own file (``sessions.sqlite``,
``console_sessions.sqlite``) through this one store. A browser holds only a random id (in a
cookie); what it stands for lives here, shared by every gunicorn worker and every other
process of the host (mode 0600, like ``throttle.sqlite``). Ids are stored as their SHA-256,
so the file alone lets nobody take over a session. A session ends when it is idle too long,
when it is too old, or when it is ended (sign-out, password change): then its row is gone.

A reset grant is what the right answers earn: the account and its version, bound to the
browser that answered (a random value in that browser's cookie), used once (deleted in the
same statement that reads it), and short-lived.

One host's file: several bridge hosts each keep their own (docs/decisions.md).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge.core.people import Person
from bridge.core.ports import People
from bridge.errors import NotFound
from bridge.web import sqlite_file

SESSIONS_FILE = "sessions.sqlite"
# One write in this many also deletes the rows that are over.
_PURGE_EVERY = 100

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        stamp TEXT NOT NULL,
        started REAL NOT NULL,
        seen REAL NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS sessions_person ON sessions (person_id)",
    """
    CREATE TABLE IF NOT EXISTS reset_grants (
        id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        version TEXT NOT NULL,
        browser TEXT NOT NULL,
        expires REAL NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class Session:
    """A signed-in person, and what their account looked like when they signed in."""

    person_id: str
    stamp: str


@dataclass(frozen=True)
class ResetGrant:
    """What a reset token stands for: one account, at the version its answers were checked."""

    account: str
    version: str


def new_id() -> str:
    """Return a fresh random id for a cookie (256 bits)."""
    return secrets.token_urlsafe(32)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SessionStore:
    """Sessions with an idle timeout and an absolute lifetime, and single-use reset grants."""

    def __init__(
        self,
        path: Path,
        idle_seconds: float,
        lifetime_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Open (or make, 0600) the sessions file at ``path``."""
        self.path = Path(path)
        self.idle = idle_seconds
        self.lifetime = lifetime_seconds
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # SQLite's journal files take the database file's mode: make it private first.
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._local = threading.local()
        for statement in _SCHEMA:
            self._db().execute(statement)

    def _db(self) -> sqlite3.Connection:
        """Return this thread's connection (sqlite3 connections stay on their thread)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite_file.connect(self.path)
            self._local.connection = connection
        return connection

    # -- sessions ------------------------------------------------------------------------------

    def start(self, person_id: str, stamp: str) -> str:
        """Begin a session for a person; return its new id (for the cookie only)."""
        session_id = new_id()
        now = self.clock()
        self._db().execute(
            "INSERT INTO sessions (id, person_id, stamp, started, seen) VALUES (?, ?, ?, ?, ?)",
            (_digest(session_id), person_id, stamp, now, now),
        )
        self._purge(now)
        return session_id

    def find(self, session_id: str) -> Session | None:
        """Return the live session with this id and mark it used; None if unknown or over."""
        now = self.clock()
        row = (
            self._db()
            .execute(
                "UPDATE sessions SET seen = :now WHERE id = :id AND seen > :idle"
                " AND started > :oldest RETURNING person_id, stamp",
                {
                    "id": _digest(session_id),
                    "now": now,
                    "idle": now - self.idle,
                    "oldest": now - self.lifetime,
                },
            )
            .fetchone()
        )
        if row is None:
            self.end(session_id)
            return None
        return Session(str(row[0]), str(row[1]))

    def end(self, session_id: str) -> None:
        """End one session."""
        self._db().execute("DELETE FROM sessions WHERE id = ?", (_digest(session_id),))

    def end_person(self, person_id: str) -> None:
        """End every session of a person."""
        self._db().execute("DELETE FROM sessions WHERE person_id = ?", (person_id,))

    # -- reset grants --------------------------------------------------------------------------

    def grant_reset(self, grant: ResetGrant, browser: str, seconds: float) -> str:
        """Store a reset grant for the browser holding ``browser``; return its token."""
        token = new_id()
        now = self.clock()
        self._db().execute(
            "INSERT INTO reset_grants (id, account, version, browser, expires)"
            " VALUES (?, ?, ?, ?, ?)",
            (_digest(token), grant.account, grant.version, _digest(browser), now + seconds),
        )
        self._purge(now)
        return token

    def reset_grant(self, token: str, browser: str) -> ResetGrant | None:
        """Return the live grant a token names for this browser, leaving it unused."""
        row = (
            self._db()
            .execute(
                "SELECT account, version FROM reset_grants"
                " WHERE id = ? AND browser = ? AND expires > ?",
                (_digest(token), _digest(browser), self.clock()),
            )
            .fetchone()
        )
        return ResetGrant(str(row[0]), str(row[1])) if row else None

    def use_reset(self, token: str, browser: str) -> ResetGrant | None:
        """Take the live grant a token names for this browser, once: it is gone after this."""
        row = (
            self._db()
            .execute(
                "DELETE FROM reset_grants WHERE id = ? AND browser = ? AND expires > ?"
                " RETURNING account, version",
                (_digest(token), _digest(browser), self.clock()),
            )
            .fetchone()
        )
        return ResetGrant(str(row[0]), str(row[1])) if row else None

    def _purge(self, now: float) -> None:
        if secrets.randbelow(_PURGE_EVERY) == 0:
            db = self._db()
            db.execute(
                "DELETE FROM sessions WHERE seen <= ? OR started <= ?",
                (now - self.idle, now - self.lifetime),
            )
            db.execute("DELETE FROM reset_grants WHERE expires <= ?", (now,))


__all__ = ["SESSIONS_FILE", "ResetGrant", "Session", "SessionStore", "new_id"]


def stamp_of(person: Person) -> str:
    """Return what of an account must stay the same for its sessions to go on: the password.

    Disable and lock are read as they are on each request; a new password changes this.
    """
    return person.password_changed.isoformat() if person.password_changed else "never"


def session_person(
    store: SessionStore,
    people: People,
    session_id: str | None,
    refused: Callable[[Person], bool] = lambda person: False,
) -> Person | None:
    """Return whom a session is for, as they are now; None once it is over.

    A session is over when the store no longer has it, or its person is gone, disabled,
    locked, has a new password, or is ``refused`` by the door (the console: must change a
    password); then every session of that person ends here, in every door's store it is.
    """
    found = store.find(session_id) if session_id else None
    if found is None:
        return None
    try:
        person: Person | None = people.get(found.person_id)
    except NotFound:
        person = None
    if (
        person is None
        or person.disabled
        or person.lock.locked
        or refused(person)
        or stamp_of(person) != found.stamp
    ):
        store.end_person(found.person_id)
        return None
    return person
