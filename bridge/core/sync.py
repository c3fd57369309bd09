"""Downstream sync: the change model, what a target's answer means, and the ports around it.

The directory is the source of truth; a change is "this entry now looks like this" (present)
or "this entry is gone" (delete), keyed by its entryUUID. Pushing a change is idempotent: the
same change twice leaves the target as once, so replaying after a crash is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Kind = Literal["person", "group", "unknown"]


@dataclass(frozen=True)
class Change:
    """One entry's new state (``deleted`` False) or its removal, as the change feed saw it.

    ``attributes`` maps lowercase directory attribute names to their values (the names a
    target's configured mapping uses). For a group, ``members`` holds the entryUUIDs of its
    members and ``name`` its display name; for a person, ``groups`` holds the entryUUIDs of
    the groups it belongs to and ``active`` says whether the account may sign in. A delete
    carries only the entryUUID (RFC 4533 reports nothing else), so its kind may be
    ``unknown``.
    """

    uuid: str
    kind: Kind
    deleted: bool = False
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    active: bool = True
    name: str | None = None

    @property
    def label(self) -> str:
        """Return ``kind:present`` or ``kind:delete``, as dead letters record it."""
        return f"{self.kind}:{'delete' if self.deleted else 'present'}"

    def first(self, attribute: str) -> str | None:
        """Return the first value of an attribute, or None."""
        values = self.attributes.get(attribute.lower())
        return values[0] if values else None


class Refused(Exception):
    """The target refused the change for good (a 4xx): retrying the same change cannot help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unavailable(Exception):
    """The target did not take the change now (5xx, 429, no connection): wait and retry."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class TargetReset(Exception):
    """The target lost what it had been sent (restored, or in-memory and restarted).

    The only repair is a full refresh: send every entry again from an empty cookie.
    """


Verdict = Literal["ok", "retry", "refused", "conflict", "missing"]


def verdict(status: int) -> Verdict:
    """Return what an HTTP status from a target means for the change that got it.

    429 (too many requests) and 5xx are the target's trouble: retry later. 409 (a conflict,
    such as a userName taken) and 404 (an id the target forgot) are handled by looking the
    resource up again. Any other 4xx is a refusal of this change: dead letter it.
    """
    if 200 <= status < 300:
        return "ok"
    if status == 429 or status >= 500 or status == 408:
        return "retry"
    if status == 409:
        return "conflict"
    if status == 404:
        return "missing"
    return "refused"


class Target(Protocol):
    """A downstream system that takes changes (a SCIM app, Entra ID)."""

    name: str

    def apply(self, change: Change) -> None:
        """Make the target match the change; raise Refused, Unavailable or TargetReset."""

    def flush(self) -> None:
        """Send whatever is buffered; after it returns every applied change is confirmed."""

    def lost_data(self) -> bool:
        """Return whether the target has forgotten people it was sent (probe after outages)."""

    def reconcile(self, present: set[str]) -> None:
        """Deactivate what the target holds from us whose entryUUID is not in ``present``."""

    def forget(self) -> None:
        """Drop every cached id mapping (before a full refresh)."""

    def close(self) -> None:
        """Close the target's connections."""


@dataclass(frozen=True)
class DeadLetter:
    """A change a target refused, kept in the directory until replayed with success."""

    uuid: str
    kind: str
    reason: str
    time: datetime | None
    attempts: int


@dataclass(frozen=True)
class TargetStatus:
    """What ``mims sync status`` shows for one target."""

    name: str
    cookie: str | None
    last_success: datetime | None
    pushed: int
    failures: int
    last_error: str | None
    dead_letters: int
    pending: int | None = None
    oldest_pending: datetime | None = None
    lease_holder: str | None = None
    lease_until: datetime | None = None
    # More changes wait than were counted (``pending`` is the bound): a read of every one of
    # them would grow with the directory, and the status must stay quick at any size.
    pending_capped: bool = False
    dead_letters_capped: bool = False


@dataclass(frozen=True)
class Lease:
    """Which sync process may push to a target, and until when (``holder`` None: nobody).

    The holder is ``host:pid:random``; it renews ``until`` while it runs. Once ``until`` has
    passed without a renewal, the holder is taken to be dead and another process may take over.
    """

    holder: str | None = None
    until: datetime | None = None

    def held_by(self, holder: str) -> bool:
        """Return whether ``holder`` holds this lease."""
        return self.holder == holder

    def expired(self, now: datetime) -> bool:
        """Return whether nobody holds the lease at ``now`` (free, or not renewed in time)."""
        return self.holder is None or self.until is None or self.until <= now


class SyncState(Protocol):
    """Where a target's place in the feed and its dead letters are kept (the directory)."""

    def cookie(self) -> str | None:
        """Return the cookie up to which the target confirmed every change."""

    def save_cookie(self, cookie: str | None, pushed: int) -> None:
        """Record the confirmed cookie, the count of changes pushed since, and success now."""

    def record_failure(self, reason: str) -> None:
        """Count one failed attempt to reach the target, with why."""

    def dead_letter(self, change: Change, reason: str) -> None:
        """Keep a refused change (one per entry: a newer refusal replaces an older one)."""

    def clear_dead_letter(self, uuid: str) -> None:
        """Forget the dead letter of an entry whose newer state went through."""

    def dead_letters(self) -> list[DeadLetter]:
        """Return the target's dead letters, oldest first."""

    def take_lease(self, holder: str, seconds: float) -> Lease:
        """Take the lease for ``seconds`` if it is free, expired or ``holder``'s already.

        Return the lease as it stands afterwards: held by another process when it was not
        free, or when another took it in the same moment (only one of two racing takers wins).
        """

    def renew_lease(self, holder: str, seconds: float) -> Lease:
        """Extend ``holder``'s lease by ``seconds`` from now; return it as it stands.

        A lease another process holds by now is returned unchanged: ``holder`` lost it.
        """

    def release_lease(self, holder: str) -> None:
        """Give up ``holder``'s lease (nothing happens if another process holds it)."""

    def close(self) -> None:
        """Close this thread's connections to where the state is kept."""


class FeedHandler(Protocol):
    """What the change feed calls as it reads the directory; the sync runner implements it."""

    def change(self, change: Change) -> None:
        """Deliver one change (returns once the target took or refused it)."""

    def cookie(self, cookie: str) -> None:
        """Note that every change before this cookie was delivered."""

    def refreshed(self, present: set[str] | None) -> None:
        """Note the end of the refresh; ``present`` is every entry there, if it was sent."""


class ChangeFeed(Protocol):
    """The directory's changes in order, from a cookie (syncrepl in the directory package)."""

    def run(self, cookie: str | None, handler: FeedHandler, persist: bool = True) -> None:
        """Refresh from ``cookie``, then (``persist``) follow changes until stopped."""

    def read(self, uuid: str) -> Change | None:
        """Return one entry as it is now, as a change, or None if it is gone."""

    def close(self) -> None:
        """Close the feed's connections."""
