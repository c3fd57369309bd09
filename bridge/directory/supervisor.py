"""Keep the managed slapd running under ``mims serve``: restart it when it dies, within limits.

A thread in the ``mims serve`` master (never in a gunicorn worker) polls slapd's PID. When
slapd is gone, the bridge's /readyz already says not ready (the LDAP client cannot connect);
the thread restarts slapd on the same port after the :class:`RestartPolicy`'s backoff, and the
client reconnects by itself. mdb is crash-safe, so a kill loses nothing that was committed.
A crash loop is given up on, loudly, rather than restarted without end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bridge.core.restarts import GiveUp, RestartPolicy
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import SlapdError

log = logging.getLogger("mims.slapd")

POLL_SECONDS = 0.5


class SlapdSupervisor:
    """Watch one managed slapd from a background thread and restart it when it dies."""

    def __init__(
        self,
        slapd: ManagedSlapd,
        port: int,
        ldaps_port: int | None = None,
        policy: RestartPolicy | None = None,
        poll: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slapd = slapd
        self.port = port
        self.ldaps_port = ldaps_port
        self.policy = policy or RestartPolicy()
        self.poll = poll
        self.clock = clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="slapd-supervisor", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (before slapd is stopped on purpose), letting a restart under way end."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        pid = self.slapd.pid()
        while not self._stopping.wait(self.poll):
            running = self.slapd.pid()
            if running is not None:
                pid = running  # the same slapd, or one someone restarted by hand
                continue
            pid = self._revive(f"slapd (pid {pid}) is gone")
            if pid is None:
                return

    def _revive(self, reason: str) -> int | None:
        """Restart slapd until it runs; return its new PID, or None when stopping or given up."""
        while True:
            decision = self.policy.failed(self.clock())
            if isinstance(decision, GiveUp):
                log.error(
                    "%s; it failed %d times within %.0f s, so it is not restarted again: the "
                    "bridge stays not ready until slapd is repaired and mims serve restarted "
                    "(see %s)",
                    reason,
                    decision.failures,
                    decision.window,
                    self.slapd.layout.log_file,
                )
                return None
            log.warning(
                "%s; restarting it in %.1f s (restart %d of at most %d within %.0f s)",
                reason,
                decision.delay,
                decision.attempt,
                decision.limit,
                decision.window,
            )
            if self._stopping.wait(decision.delay):
                return None
            try:
                pid = self.slapd.start(self.port, self.ldaps_port)
            except SlapdError as error:
                reason = f"slapd did not restart: {error}"
                continue
            log.warning("slapd is back (pid %d) on port %d", pid, self.port)
            return pid
