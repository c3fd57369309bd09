"""Deliver each change of the feed to one target: retry, dead-letter, and move the cookie.

The rules: a change the target refuses (a 4xx) goes to the dead-letter list with the reason
and the feed moves on; a target that is down (5xx, 429, no connection) is waited for, with
backoff, and the cookie does not move past a change until the target confirmed it. After an
outage the target is probed, since an in-memory target comes back empty.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bridge.core.pacing import Backoff
from bridge.core.sync import Change, Refused, SyncState, Target, TargetReset, Unavailable

log = logging.getLogger(__name__)


class Stopped(Exception):
    """The delivery was asked to stop while it waited for the target."""


class Delivery:
    """Push changes to one target in order; save the cookie once they are confirmed."""

    def __init__(
        self,
        target: Target,
        state: SyncState,
        *,
        backoff: Backoff | None = None,
        save_every: float = 1.0,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        report: Callable[[str], None] = lambda _: None,
        max_attempts: int | None = None,
    ) -> None:
        self.target = target
        self.max_attempts = max_attempts
        self.state = state
        self.backoff = backoff or Backoff()
        self.save_every = save_every
        self.stop = stop or threading.Event()
        self.clock = clock
        self.report = report
        self.pushed = 0  # changes the target took
        self.refused = 0  # changes it refused (dead letters)
        self._unsaved = 0
        self._pending_cookie: str | None = None
        self._saved_at = clock()
        self._dead = {letter.uuid for letter in state.dead_letters()}

    def deliver(self, change: Change) -> None:
        """Apply one change, waiting out outages; dead-letter it if the target refuses it."""
        attempt = 0
        while True:
            try:
                if attempt and self.target.lost_data():
                    raise TargetReset(f"{self.target.name} lost what it was sent")
                self.target.apply(change)
            except Refused as refusal:
                self.refused += 1
                self._dead.add(change.uuid)
                self.state.dead_letter(change, refusal.reason)
                log.warning(
                    "%s refused %s %s: %s",
                    self.target.name,
                    change.label,
                    change.uuid,
                    refusal.reason,
                )
                return
            except Unavailable as trouble:
                attempt += 1
                self._wait(attempt, trouble)
                continue
            if change.uuid in self._dead:
                self._dead.discard(change.uuid)
                self.state.clear_dead_letter(change.uuid)
            break
        self.pushed += 1
        self._unsaved += 1

    def _wait(self, attempt: int, trouble: Unavailable) -> None:
        if self.max_attempts is not None and attempt >= self.max_attempts:
            raise trouble  # a one-off run gives up rather than wait for ever
        delay = trouble.retry_after or self.backoff.delay(attempt)
        if attempt == 1 or attempt % 10 == 0:
            self.state.record_failure(trouble.reason)
        self.report(f"{self.target.name}: {trouble.reason}; retry {attempt} in {delay:.1f} s")
        if self.stop.wait(delay):
            raise Stopped()

    def confirmed(self, cookie: str | None, force: bool = False) -> None:
        """Note that every change up to ``cookie`` was delivered; save it now and then.

        Saving at most every ``save_every`` seconds keeps the directory from taking one extra
        write per change; after a crash at most that much is sent again, which is harmless.
        """
        self._pending_cookie = cookie
        if force or self.clock() - self._saved_at >= self.save_every:
            self.save()

    def save(self) -> None:
        """Flush the target and record the last confirmed cookie in the directory."""
        if self._pending_cookie is None and not self._unsaved:
            return
        self._flush()
        self.state.save_cookie(self._pending_cookie, self._unsaved)
        self._unsaved = 0
        self._saved_at = self.clock()

    def _flush(self) -> None:
        attempt = 0
        while True:
            try:
                self.target.flush()
                return
            except Unavailable as trouble:
                attempt += 1
                self._wait(attempt, trouble)
            except Refused as refusal:  # a whole batch refused: nothing in it can be retried
                self.state.record_failure(refusal.reason)
                return

    def reconcile(self, present: set[str]) -> None:
        """After a refresh with a present phase, deactivate what the directory no longer has."""
        attempt = 0
        while True:
            try:
                self.target.reconcile(present)
                return
            except Unavailable as trouble:
                attempt += 1
                self._wait(attempt, trouble)
