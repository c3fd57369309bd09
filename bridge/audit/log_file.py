"""The audit trail as JSON lines in one file, shared by every worker and process of the host.

Many processes append at once (gunicorn's workers, ``mims`` commands, ``mims sync``), so:

- each event is one ``write()`` of one whole line to a descriptor opened with ``O_APPEND``:
  the kernel places it at the end, never interleaved with another process's line;
- rotation happens under an exclusive ``fcntl.flock`` on ``<file>.lock``, and every append
  holds the same lock shared. So no append is under way while the files are renamed, and an
  appender that finds the name pointing at another file (its inode changed) opens the new one
  first, as the standard library's ``WatchedFileHandler`` does;
- with ``max_bytes = 0`` the bridge never rotates; logrotate may then rename the file (with
  no ``copytruncate``) and the next append opens a new one, as above.

The files are 0600: they say who changed what, although never a secret's value. A failure to
write is logged (``bridge.audit``) and never fails the change it is about, which has happened.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.core.audit import Event

log = logging.getLogger("bridge.audit")
MODE = 0o600


class AuditFile:
    """Append events to ``path``; rotate it past ``max_bytes``, keeping ``keep`` old files."""

    def __init__(self, path: Path, max_bytes: int = 10 * 1024 * 1024, keep: int = 5) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.lock_path = path.with_name(path.name + ".lock")
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        self._guard = threading.Lock()

    # -- writing -------------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Append one event as one line; log, never raise, if it cannot be written."""
        line = (json.dumps(event.as_json(), separators=(",", ":")) + "\n").encode()
        try:
            with self._guard:
                full = self._append(line)
                if full:
                    self._rotate()
        except OSError as error:
            log.error("the audit trail %s could not be written: %s", self.path, error)

    def _append(self, line: bytes) -> bool:
        """Write the line under the shared lock; return whether the file is now full."""
        with self._locked(fcntl.LOCK_SH):
            fd = self._current()
            os.write(fd, line)
            return 0 < self.max_bytes <= os.fstat(fd).st_size

    def _current(self) -> int:
        """Return a descriptor of the file the name points at now (reopened after a rotation)."""
        try:
            found = os.stat(self.path)
            now: tuple[int, int] | None = (found.st_dev, found.st_ino)
        except FileNotFoundError:
            now = None
        if self._fd is not None and now == self._inode:
            return self._fd
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, MODE)
        os.fchmod(fd, MODE)  # a file that was there keeps its mode otherwise
        opened = os.fstat(fd)
        self._fd, self._inode = fd, (opened.st_dev, opened.st_ino)
        return fd

    def _rotate(self) -> None:
        """Rename file -> .1 -> .2 ... under the exclusive lock, if no one did already."""
        with self._locked(fcntl.LOCK_EX):
            try:
                if os.stat(self.path).st_size < self.max_bytes:
                    return  # another process rotated meanwhile
            except FileNotFoundError:
                return
            if self.keep <= 0:
                os.unlink(self.path)
                return
            for number in range(self.keep - 1, 0, -1):
                older = self._numbered(number)
                if older.exists():
                    os.replace(older, self._numbered(number + 1))
            os.replace(self.path, self._numbered(1))

    def _numbered(self, number: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{number}")

    @contextmanager
    def _locked(self, kind: int) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, MODE)
        try:
            fcntl.flock(fd, kind)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def close(self) -> None:
        """Close the open file (a later event opens it again)."""
        with self._guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # -- reading -------------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """Yield the kept events, oldest file first; lines that are not events are skipped."""
        files = [self._numbered(n) for n in range(self.keep, 0, -1)] + [self.path]
        for path in files:
            try:
                handle = path.open(encoding="utf-8")
            except FileNotFoundError:
                continue
            with handle:
                for line in handle:
                    try:
                        yield Event.from_json(json.loads(line))
                    except ValueError:
                        log.warning("%s: a line that is not an audit event was skipped", path)
