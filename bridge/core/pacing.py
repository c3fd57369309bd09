"""How fast to talk to a target: exponential backoff with jitter, and a token bucket."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped (AWS architecture blog's "full jitter").

    Jitter spreads the retries of many bridges after one outage so they do not arrive at
    the target in one wave.
    """

    base: float = 0.5
    cap: float = 60.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Return how long to wait before retry number ``attempt`` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        return ceiling * (0.5 + 0.5 * rng())


class TokenBucket:
    """Allow ``rate`` operations per second on average, bursts up to ``burst``.

    ``take`` blocks (by ``sleep``) until a token is there; thread-safe.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def wait_time(self) -> float:
        """Take a token now if one is there (return 0), else reserve one; return the wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def take(self) -> None:
        """Wait until one operation is allowed."""
        wait = self.wait_time()
        if wait > 0:
            self._sleep(wait)
