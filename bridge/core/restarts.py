"""When to restart a process that died, and when to stop: backoff and a crash-loop limit.

Pure rules over the clock readings the caller passes in, so they are tested without processes.
A process that dies once a day is restarted every time; one that dies more than ``limit`` times
within ``window`` seconds is given up on, instead of being restarted in a tight loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.core.pacing import Backoff

SLAPD_BACKOFF = Backoff(base=0.5, cap=4.0)


def _no_jitter() -> float:
    # One supervisor restarting one process: there is no crowd of retries to spread out.
    return 1.0


@dataclass(frozen=True)
class Restart:
    """Restart after ``delay`` seconds; this is restart ``attempt`` of ``limit`` in the window."""

    delay: float
    attempt: int
    limit: int
    window: float


@dataclass(frozen=True)
class GiveUp:
    """Stop restarting: ``failures`` failures within ``window`` seconds are a crash loop."""

    failures: int
    window: float


class RestartPolicy:
    """Count failures in a sliding window; answer each one with a backoff or with giving up.

    A failure is a death or a restart that did not come up. The n-th failure within the window
    waits ``backoff``'s delay for attempt n (without jitter). Once given up, it stays given up:
    a crash loop needs a person, not another restart.
    """

    def __init__(
        self, limit: int = 5, window: float = 60.0, backoff: Backoff = SLAPD_BACKOFF
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self.backoff = backoff
        self._failures: list[float] = []
        self._given_up: GiveUp | None = None

    @property
    def given_up(self) -> bool:
        """Return whether the crash-loop limit was reached."""
        return self._given_up is not None

    def failed(self, now: float) -> Restart | GiveUp:
        """Record a failure at clock reading ``now``; return what to do about it."""
        if self._given_up is not None:
            return self._given_up
        self._failures = [t for t in self._failures if now - t < self.window]
        self._failures.append(now)
        count = len(self._failures)
        if count > self.limit:
            self._given_up = GiveUp(failures=count, window=self.window)
            return self._given_up
        delay = self.backoff.delay(count, rng=_no_jitter)
        return Restart(delay=delay, attempt=count, limit=self.limit, window=self.window)
