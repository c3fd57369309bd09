"""Run one target's sync: the directory's change feed into the target, cookie kept in LDAP.

This is the glue between the feed (``directory.feed``), the delivery rules (``core.delivery``)
and a target (``provisioning.scim_target`` / ``entra_target``); ``mims sync`` drives it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from bridge.config import Config, SyncTargetConfig
from bridge.core.delivery import Delivery, Stopped
from bridge.core.pacing import Backoff
from bridge.core.sync import (
    Change,
    ChangeFeed,
    DeadLetter,
    Kind,
    Refused,
    SyncState,
    Target,
    TargetReset,
    Unavailable,
)
from bridge.core.sync_lease import LeaseKeeper
from bridge.errors import ConfigError, DirectoryUnavailable, NotFound
from bridge.provisioning.auth import Credentials
from bridge.provisioning.entra_target import EntraTarget
from bridge.provisioning.scim_target import ScimTarget

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 5.0
ONCE_ATTEMPTS = 4  # a one-off run (--once, retry) gives up after this many tries in a row


def target_config(config: Config, name: str) -> SyncTargetConfig:
    """Return a configured target's settings, or say which targets there are."""
    targets = config.sync.targets
    if name not in targets:
        known = ", ".join(sorted(targets)) or "none are configured ([sync.targets.NAME])"
        raise NotFound(f"no sync target is named {name!r}; configured: {known}")
    return targets[name]


def build_target(name: str, settings: SyncTargetConfig) -> ScimTarget | EntraTarget:
    """Return the target object for a configured target (reads its secret from the env)."""
    credentials = Credentials(name, settings)
    if settings.kind == "entra":
        return EntraTarget(name, settings, credentials)
    return ScimTarget(name, settings, credentials)


# What the composition root gives a runner: the target's stored state, and a feed that reads
# the directory's changes with these attributes and stops when the event is set.
StateFactory = Callable[[str], SyncState]
FeedFactory = Callable[[Iterable[str], threading.Event], ChangeFeed]


class Runner:
    """Follow the directory and deliver every change to one target until stopped."""

    def __init__(
        self,
        config: Config,
        name: str,
        state: StateFactory,
        feed: FeedFactory,
        *,
        stop: threading.Event | None = None,
        report: Callable[[str], None] = lambda _: None,
        target: Target | None = None,
    ) -> None:
        settings = target_config(config, name)
        if not settings.enabled:
            raise ConfigError(f"sync target {name!r} is disabled (enabled = false)")
        self.name = name
        self.stop = stop or threading.Event()
        self.report = report
        self.target: Target = target or build_target(name, settings)
        self.state = state(name)
        self.lease = LeaseKeeper(
            self.state, name, config.sync.lease_seconds, stop=self.stop, report=report
        )
        self.max_attempts: int | None = None
        self.delivery = self._delivery()
        self.feed = feed(settings.attributes.values(), self.stop)
        self.resets = 0
        self._last_cookie: str | None = None
        self._progress_at = time.monotonic()

    # -- the loop ----------------------------------------------------------------------------

    def run(self, once: bool = False) -> None:
        """Take the target's lease, then sync from the stored cookie until stopped.

        ``once``: refresh, then return; raise LeaseHeld if another process holds the lease
        (without ``once``, wait for it). A lease lost midway stops the run (``lease.lost``).
        """
        try:
            if not self.lease.acquire(wait=not once):
                self._close()
                return
        except BaseException:
            self._close()
            raise
        self.report(
            f"{self.name}: {'refreshing' if once else 'following the directory'} (Ctrl-C stops)"
        )
        try:
            self._run(once)
        finally:
            self.lease.release()

    def _run(self, once: bool) -> None:
        cookie = self.state.cookie()
        if isinstance(self.target, ScimTarget):
            self.target.expect_data = cookie is not None
        if once:
            self.max_attempts = ONCE_ATTEMPTS
            self.delivery = self._delivery()
        backoff, attempt = Backoff(base=1.0, cap=30.0), 0
        try:
            if (cookie is not None or once) and self._probe_lost():
                self._full_refresh()
                cookie = None
            while not self.stop.is_set():
                try:
                    self.feed.run(cookie, self, persist=not once)
                    self.delivery.save()
                    return
                except TargetReset as reset:
                    self.report(f"{self.name}: {reset}; sending everything again")
                    self._full_refresh()
                    cookie = None
                except DirectoryUnavailable as trouble:
                    if self.stop.is_set():  # a signal interrupted the wait: not a failure
                        return
                    attempt += 1
                    self.report(f"{self.name}: {trouble}; retrying")
                    if self.stop.wait(backoff.delay(attempt)):
                        return
                    cookie = self._stored_cookie(cookie)
        except Stopped:
            pass
        finally:
            self._finish()

    def _stored_cookie(self, known: str | None) -> str | None:
        """Return the stored cookie (changes after it are sent again: harmless), or ``known``."""
        try:
            return self.state.cookie()
        except DirectoryUnavailable:
            return known

    def _finish(self) -> None:
        if self.lease.valid():  # a process that lost the lease leaves the cookie to the next
            try:
                self.delivery.save()
            except (Stopped, Unavailable, Refused, DirectoryUnavailable):
                pass  # the last cookie stays; what follows it is sent again next time
        self._close()

    def _close(self) -> None:
        self.feed.close()
        self.target.close()

    def _delivery(self) -> Delivery:
        return Delivery(
            self.target,
            self.state,
            stop=self.stop,
            report=self.report,
            max_attempts=self.max_attempts,
        )

    def _probe_lost(self) -> bool:
        attempt = 0
        while True:
            try:
                return self.target.lost_data()
            except Unavailable as trouble:
                attempt += 1
                if self.max_attempts is not None and attempt >= self.max_attempts:
                    raise
                self.report(f"{self.name}: {trouble.reason}; waiting for it")
                if self.stop.wait(Backoff().delay(attempt)):
                    raise Stopped() from None

    def _full_refresh(self) -> None:
        """Start over from no cookie: the target gets every person and group again."""
        self.resets += 1
        self.target.forget()
        self.state.save_cookie(None, 0)
        self.delivery = self._delivery()

    # -- Handler -----------------------------------------------------------------------------

    def change(self, change: Change) -> None:
        """Deliver one change, as long as this process holds the lease."""
        if not self.lease.holding():
            raise Stopped()
        self.delivery.deliver(change)
        now = time.monotonic()
        if now - self._progress_at >= PROGRESS_SECONDS:
            self._progress_at = now
            self.report(
                f"{self.name}: delivered {self.delivery.pushed}, refused {self.delivery.refused}"
            )

    def cookie(self, cookie: str) -> None:
        """Every change before ``cookie`` was delivered (kept only while the lease is held)."""
        if not self.lease.holding():
            raise Stopped()
        self._last_cookie = cookie
        self.delivery.confirmed(cookie)

    def refreshed(self, present: set[str] | None) -> None:
        """Reconcile after a present phase, and save the cookie at the end of the refresh."""
        if not self.lease.holding():
            raise Stopped()
        if present is not None:
            self.delivery.reconcile(present)
        self.delivery.confirmed(self._last_cookie, force=True)
        self.report(f"{self.name}: up to date (delivered {self.delivery.pushed})")


def retry_dead_letters(
    runner: Runner, report: Callable[[str], None] = lambda _: None
) -> tuple[int, int]:
    """Send each dead letter's entry as it is now; return (delivered, still refused)."""
    letters = runner.state.dead_letters()
    delivered = refused = 0
    try:
        for index, letter in enumerate(letters, 1):
            change = runner.feed.read(letter.uuid) or _removal(letter)
            try:
                runner.target.apply(change)
                runner.target.flush()
            except Refused as refusal:
                runner.state.dead_letter(change, refusal.reason)
                refused += 1
            else:
                runner.state.clear_dead_letter(letter.uuid)
                delivered += 1
            if index % 100 == 0:
                report(f"{runner.name}: {index} of {len(letters)} dead letters replayed")
    finally:
        runner.feed.close()
        runner.target.close()
    return delivered, refused


def _removal(letter: DeadLetter) -> Change:
    kind = letter.kind.split(":")[0]
    known: Kind = kind if kind in ("person", "group") else "unknown"  # type: ignore[assignment]
    return Change(uuid=letter.uuid, kind=known, deleted=True)
