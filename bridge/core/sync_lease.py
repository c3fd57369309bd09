"""One sync process per downstream target: take the target's lease, keep it, give it back.

The lease lives with the target's state (``SyncState``, the directory), so every bridge on
every host sees the same one. A process takes it when it is free or expired, renews it every
third of its length from a thread of its own, and clears it on a clean exit. A holder killed
with -9 renews no more: once its lease has expired another process takes over, from the cookie
the dead one last confirmed. Expiry is read against this host's clock, so hosts' clocks must
agree to well within a lease (NTP).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bridge.core.sync import Lease, SyncState
from bridge.errors import BridgeError, DirectoryUnavailable

RETRY_SECONDS = 1.0  # how soon a directory that did not answer is asked again


def new_holder() -> str:
    """Return this process's lease holder name: ``host:pid:random`` (random: pids repeat)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def who(lease: Lease) -> str:
    """Return the holder as people read it: ``host:pid`` (the random part says nothing)."""
    return (lease.holder or "nobody").rsplit(":", 1)[0]


def held_line(target: str, lease: Lease) -> str:
    """Return the line that says another process holds ``target``'s lease."""
    until = f"{lease.until:%Y-%m-%d %H:%M:%SZ}" if lease.until else "an unknown time"
    return f"another sync process holds {target} ({who(lease)}) until {until}"


class LeaseHeld(Exception):
    """Another process holds the lease and the caller chose not to wait."""

    def __init__(self, target: str, lease: Lease) -> None:
        super().__init__(held_line(target, lease))
        self.lease = lease


class LeaseKeeper:
    """Take one target's lease (waiting for it if asked), renew it while held, release it."""

    def __init__(
        self,
        state: SyncState,
        target: str,
        seconds: float,
        *,
        stop: threading.Event,
        report: Callable[[str], None] = lambda _: None,
        holder: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state = state
        self.target = target
        self.seconds = seconds
        self.stop = stop
        self.report = report
        self.holder = holder or new_holder()
        self.clock = clock
        self.until: datetime | None = None
        self.lost: str | None = None  # why the lease was lost, once it was
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lease and start renewing it; return False if stopped while waiting.

        Another holder: raise LeaseHeld (``wait`` False), or say so once and try again until
        its lease expires or it releases it.
        """
        said = False
        while not self.stop.is_set():
            try:
                lease = self.state.take_lease(self.holder, self.seconds)
            except DirectoryUnavailable as trouble:
                self.report(f"{self.target}: {trouble}; retrying")
                self.stop.wait(RETRY_SECONDS)
                continue
            if lease.held_by(self.holder):
                self.until = lease.until
                self._start()
                return True
            if not wait:
                raise LeaseHeld(self.target, lease)
            if not said:
                self.report(f"{held_line(self.target, lease)}; waiting")
                said = True
            self.stop.wait(self._pause(lease))
        return False

    def _pause(self, lease: Lease) -> float:
        """Return how long to wait before asking again: till expiry, at most a third."""
        left = (lease.until - self.clock()).total_seconds() if lease.until else 0.0
        return max(0.05, min(self.seconds / 3, left + 0.05))

    def valid(self) -> bool:
        """Return whether this process still holds the lease (not lost, not run out)."""
        return self.lost is None and self.until is not None and self.clock() < self.until

    def holding(self) -> bool:
        """Return whether the lease is still held; one that ran out counts as lost from now."""
        if self.valid():
            return True
        if self.lost is None:
            self._lose("the lease ran out before it was renewed")
        return False

    def _start(self) -> None:
        self._done.clear()
        self._thread = threading.Thread(target=self._keep, name="sync-lease", daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        """Renew every third of the lease; on loss, say why and stop the sync."""
        try:
            self._renew()
        finally:
            self.state.close()

    def _renew(self) -> None:
        while not self._done.wait(self.seconds / 3):
            try:
                lease = self.state.renew_lease(self.holder, self.seconds)
            except BridgeError:  # unreachable, or refused: the lease runs out meanwhile
                if not self.valid():
                    self._lose("the lease ran out before it could be renewed")
                    return
                continue
            if not lease.held_by(self.holder):
                self._lose(f"{who(lease)} took over the lease")
                return
            self.until = lease.until

    def _lose(self, why: str) -> None:
        self.lost = why
        self.report(f"{self.target}: {why}; stopping")
        self.stop.set()

    def release(self) -> None:
        """Stop renewing and clear the lease, so another process may take it at once."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.lost is not None or self.until is None:
            return
        try:
            self.state.release_lease(self.holder)
        except DirectoryUnavailable:
            pass  # it expires by itself
        self.until = None
