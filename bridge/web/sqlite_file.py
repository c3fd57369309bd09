"""Open the small SQLite files the web doors share across processes (sessions, counters).

Every gunicorn worker opens them as it boots, at the same moment as the others. The files use
WAL (readers never wait for a writer), and turning a fresh file to WAL is the one step SQLite
does not wait for: while another connection holds the file it answers "database is locked" at
once, busy timeout or not. So the switch is retried briefly; once a file is in WAL (which
SQLite records in the file) every later connection finds it so and changes nothing.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

# How long a statement waits for another process's lock, and the WAL switch for its turn.
BUSY_SECONDS = 10.0


def connect(path: Path) -> sqlite3.Connection:
    """Return an autocommit connection to ``path`` in WAL mode, waiting out other openers."""
    connection = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None)
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return connection
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                connection.close()
                raise
            time.sleep(random.uniform(0.005, 0.05))  # noqa: S311 - a back-off, not a secret
