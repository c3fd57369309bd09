"""Each downstream target's place in the feed, kept in the directory (ou=sync,ou=services).

``cn=<target>`` (mimsSyncTarget) holds the confirmed syncrepl cookie, when the target last
confirmed a change, how many it took, and failures since; below it one mimsSyncDeadLetter per
entry whose change the target refused. Keeping this in LDAP, not in a local file, means any
host can run the sync and ``mims sync status`` sees the same truth.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ldap3 import BASE, LEVEL, MODIFY_ADD, MODIFY_REPLACE, SUBTREE, Connection
from ldap3.utils.conv import escape_filter_chars

from bridge.core.sync import Change, DeadLetter, Lease, TargetStatus
from bridge.directory import controls, dn
from bridge.directory.client import LdapClient
from bridge.directory.feed import feed_filter
from bridge.directory.mapping import generalized_time, to_generalized_time
from bridge.errors import NameTaken, NotFound, PreconditionFailed

TARGET_READ = [
    "mimsSyncCookie",
    "mimsSyncLastSuccess",
    "mimsSyncPushed",
    "mimsSyncFailures",
    "mimsSyncLastError",
    "mimsSyncLeaseHolder",
    "mimsSyncLeaseUntil",
]
TARGET_CLASS = "mimsSyncTarget"
LEASE_CLASS = "mimsSyncLease"  # schema version 11
HOLDER = "mimsSyncLeaseHolder"
UNTIL = "mimsSyncLeaseUntil"
LETTER_READ = [
    "mimsSyncEntryUUID",
    "mimsSyncChangeKind",
    "mimsSyncReason",
    "mimsSyncTime",
    "mimsSyncAttempts",
]
# A CSN (change sequence number) such as 20261204150102.123456Z#000000#000#000000.
_CSN = re.compile(r"\d{14}(?:\.\d+)?Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}")
# `mims sync status` and /metrics count at most this many waiting changes and dead letters
# ("1000+"): reading every one made the status take tens of seconds for a target far behind
# at 100,000 people, and a scrape must stay quick whatever the backlog.
COUNT_LIMIT = 1000
_MAX_TEXT = 1000


class SyncStateStore:
    """Read and write one target's sync entry and dead letters as the bridge's account."""

    def __init__(
        self, directory: LdapClient, suffix: str, target: str, count_limit: int = COUNT_LIMIT
    ) -> None:
        self.directory = directory
        self.count_limit = count_limit
        self.suffix = suffix
        self.target = target
        self.entry = dn.sync_target_dn(target, suffix)
        self._pushed: int | None = None

    # -- the target entry --------------------------------------------------------------------

    def ensure(self) -> None:
        """Create the target's sync entry (and ou=sync) if they are not there yet."""
        base = dn.sync_base(self.suffix)
        entries: list[tuple[str, dict[str, list[str]]]] = [
            (base, {"objectClass": ["top", "organizationalUnit"], "ou": ["sync"]}),
            (
                self.entry,
                {"objectClass": ["top", TARGET_CLASS, LEASE_CLASS], "cn": [self.target]},
            ),
        ]
        for entry, attributes in entries:
            self._add_once(entry, attributes)
        # An entry made before version 11 whose upgrade has not run gets the class here.
        without = f"(!{dn.equals('objectClass', LEASE_CLASS)})"
        self._modify_if({"objectClass": [(MODIFY_ADD, [LEASE_CLASS])]}, without)

    def _add_once(self, entry: str, attributes: dict[str, list[str]]) -> None:
        try:
            self.directory.add(entry, attributes)
        except NameTaken:
            pass

    def read(self) -> dict[str, Any]:
        """Return the target entry's attributes (lowercase names, decoded first values)."""

        def search(connection: Connection) -> list[dict[str, Any]]:
            connection.search(self.entry, "(objectClass=*)", BASE, attributes=TARGET_READ)
            return list(connection.response)

        try:
            entries = self.directory.run(search)
        except NotFound:
            return {}
        raw = {k.lower(): v for k, v in entries[0]["raw_attributes"].items()} if entries else {}
        return {name: values[0] for name, values in raw.items() if values}

    def cookie(self) -> str | None:
        """Return the confirmed cookie, or None to start from nothing."""
        value = self.read().get("mimssynccookie")
        return value.decode() if value else None

    def save_cookie(self, cookie: str | None, pushed: int) -> None:
        """Record the confirmed cookie, add to the pushed count, and mark success now."""
        if self._pushed is None:
            self._pushed = int(self.read().get("mimssyncpushed", b"0"))
        self._pushed += pushed
        changes: dict[str, Any] = {
            "mimsSyncCookie": [(MODIFY_REPLACE, [cookie.encode()] if cookie else [])],
            "mimsSyncPushed": [(MODIFY_REPLACE, [str(self._pushed)])],
            "mimsSyncFailures": [(MODIFY_REPLACE, ["0"])],
        }
        if pushed:
            now = to_generalized_time(datetime.now(UTC))
            changes["mimsSyncLastSuccess"] = [(MODIFY_REPLACE, [now])]
        self.directory.run(lambda c: c.modify(self.entry, changes), retry=False)

    def record_failure(self, reason: str) -> None:
        """Count a failed attempt and keep its reason (never a secret: reasons are ours)."""
        failures = int(self.read().get("mimssyncfailures", b"0")) + 1
        changes = {
            "mimsSyncFailures": [(MODIFY_REPLACE, [str(failures)])],
            "mimsSyncLastError": [(MODIFY_REPLACE, [reason[:_MAX_TEXT] or "unknown"])],
        }
        self.directory.run(lambda c: c.modify(self.entry, changes), retry=False)

    # -- the lease: one sync process per target --------------------------------------------
    #
    # Every write of the lease carries an assertion (RFC 4528) that the holder and expiry are
    # still what this process read, so of two processes that read the same free lease and
    # write at once, slapd applies one and refuses the other (assertionFailed).

    def lease(self) -> Lease:
        """Return who holds the lease, and until when."""
        values = self.read()
        return _lease(_text(values, HOLDER), _text(values, UNTIL))

    def take_lease(self, holder: str, seconds: float) -> Lease:
        """Take the lease if it is free, expired or ``holder``'s; return it as it stands."""
        values = self.read()
        held, until = _text(values, HOLDER), _text(values, UNTIL)
        current = _lease(held, until)
        if not current.held_by(holder) and not current.expired(datetime.now(UTC)):
            return current
        return self._write_lease(holder, seconds, _unchanged(held, until))

    def renew_lease(self, holder: str, seconds: float) -> Lease:
        """Extend ``holder``'s lease from now; a lease another holds is returned unchanged."""
        return self._write_lease(holder, seconds, dn.equals(HOLDER, holder))

    def release_lease(self, holder: str) -> None:
        """Clear ``holder``'s lease so another process may take it at once."""
        changes: dict[str, Any] = {HOLDER: [(MODIFY_REPLACE, [])], UNTIL: [(MODIFY_REPLACE, [])]}
        self._modify_if(changes, dn.equals(HOLDER, holder))

    def _write_lease(self, holder: str, seconds: float, asserted: str) -> Lease:
        until = lease_time(datetime.now(UTC) + timedelta(seconds=seconds))
        changes = {HOLDER: [(MODIFY_REPLACE, [holder])], UNTIL: [(MODIFY_REPLACE, [until])]}
        if self._modify_if(changes, asserted):
            return _lease(holder, until)
        return self.lease()

    def _modify_if(self, changes: dict[str, Any], asserted: str) -> bool:
        """Apply ``changes`` only if the entry matches ``asserted``; say whether it did.

        Not retried on a broken connection: its outcome is then unknown, and the caller reads
        the lease again on its next turn (a lease it holds is then its own to renew).
        """
        control = [controls.assertion(asserted)]
        try:
            self.directory.run(lambda c: c.modify(self.entry, changes, controls=control), False)
        except PreconditionFailed:
            return False
        return True

    def close(self) -> None:
        """Close this thread's connections (the lease is renewed from a thread of its own)."""
        self.directory.close()

    # -- dead letters ------------------------------------------------------------------------

    def dead_letter(self, change: Change, reason: str) -> None:
        """Keep a refused change; a newer refusal of the same entry replaces the older."""
        letter = dn.dead_letter_dn(change.uuid, self.target, self.suffix)
        now = to_generalized_time(datetime.now(UTC))
        attempts = 1 + self._attempts(letter)
        values = {
            "mimsSyncChangeKind": [change.label],
            "mimsSyncReason": [reason[:_MAX_TEXT] or "refused"],
            "mimsSyncTime": [now],
            "mimsSyncAttempts": [str(attempts)],
        }
        if attempts > 1:
            changes = {name: [(MODIFY_REPLACE, v)] for name, v in values.items()}
            self.directory.run(lambda c: c.modify(letter, changes), retry=False)
            return
        attributes = {
            "objectClass": ["top", "mimsSyncDeadLetter"],
            "mimsSyncEntryUUID": [change.uuid],
            **values,
        }
        self.directory.add(letter, attributes)

    def _attempts(self, letter: str) -> int:
        """Return how often the change in this letter was refused so far (0: no letter)."""

        def search(connection: Connection) -> list[dict[str, Any]]:
            connection.search(letter, "(objectClass=*)", BASE, attributes=["mimsSyncAttempts"])
            return list(connection.response)

        try:
            entries = self.directory.run(search)
        except NotFound:
            return 0
        return _letter(entries[0]).attempts if entries else 0

    def clear_dead_letter(self, uuid: str) -> None:
        """Forget an entry's dead letter (its newer state went through)."""
        letter = dn.dead_letter_dn(uuid, self.target, self.suffix)
        try:
            self.directory.run(lambda c: c.delete(letter), retry=False)
        except NotFound:
            pass

    def dead_letters(self) -> list[DeadLetter]:
        """Return the dead letters, oldest first."""
        letters = [_letter(entry) for entry in self._letters(LETTER_READ)]
        return sorted(letters, key=lambda d: (d.time or datetime.min.replace(tzinfo=UTC), d.uuid))

    def _letters(self, attributes: list[str], limit: int = 0) -> list[dict[str, Any]]:
        """Return the dead-letter entries (at most ``limit``, 0: all) with these attributes."""

        def search(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                self.entry,
                "(objectClass=mimsSyncDeadLetter)",
                LEVEL,
                attributes=attributes,
                size_limit=limit,
            )
            return list(connection.response)

        try:
            return self.directory.run(search)
        except NotFound:
            return []

    # -- status ------------------------------------------------------------------------------

    def status(self) -> TargetStatus:
        """Return the target's state, with its waiting changes and dead letters counted.

        Both counts stop past ``count_limit`` (``pending_capped``, ``dead_letters_capped``), so
        the status costs a few small reads however far behind the target is.
        """
        position = self.position()
        pending, oldest, capped = self._pending(position.cookie)
        letters = len(self._letters(["1.1"], self.count_limit + 1))
        return replace(
            position,
            dead_letters=min(letters, self.count_limit),
            dead_letters_capped=letters > self.count_limit,
            pending=pending,
            oldest_pending=oldest,
            pending_capped=capped,
        )

    def position(self) -> TargetStatus:
        """Return the target entry's state alone: one base read (readiness asks it often)."""
        values = self.read()
        cookie = values["mimssynccookie"].decode() if values.get("mimssynccookie") else None
        last = values.get("mimssynclastsuccess")
        error = values.get("mimssynclasterror")
        lease = _lease(_text(values, HOLDER), _text(values, UNTIL))
        return TargetStatus(
            name=self.target,
            cookie=cookie,
            last_success=generalized_time(last.decode()) if last else None,
            pushed=int(values.get("mimssyncpushed", b"0")),
            failures=int(values.get("mimssyncfailures", b"0")),
            last_error=error.decode() if error else None,
            dead_letters=0,
            lease_holder=lease.holder,
            lease_until=lease.until,
        )

    def _pending(self, cookie: str | None) -> tuple[int | None, datetime | None, bool]:
        """Count people and groups changed after the cookie's CSN, up to ``count_limit``.

        Return the count (None: never synced), when the oldest counted one changed (its
        entryCSN's time), and whether more wait than were counted. Past the limit the oldest
        is that of the changes counted, so the lag shown is at least that.
        """
        found = _CSN.findall(cookie or "")
        if not found:
            return None, None, False
        csn = max(found)  # one per server id; the newest bounds what was confirmed
        # Strictly after: the cookie's own change was confirmed.
        after = f"(entryCSN>={escape_filter_chars(csn)})(!{dn.equals('entryCSN', csn)})"
        query = f"(&{feed_filter(self.suffix)}{after})"

        def search(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                self.suffix,
                query,
                SUBTREE,
                attributes=["entryCSN"],
                size_limit=self.count_limit + 1,
            )
            return list(connection.response)

        entries = self.directory.run(search)
        # CSNs sort as their times do (a fixed-width timestamp first): parse only the oldest.
        csns = [v[0] for e in entries if (v := e.get("raw_attributes", {}).get("entryCSN"))]
        oldest = csn_time(min(csns).decode()) if csns else None
        return min(len(entries), self.count_limit), oldest, len(entries) > self.count_limit


def csn_time(csn: str) -> datetime:
    """Return when a change happened, from its CSN's timestamp (to the microsecond)."""
    return parse_lease_time(csn.partition("#")[0])


def lease_time(moment: datetime) -> str:
    """Format a GeneralizedTime in UTC with milliseconds (RFC 4517 3.3.13 allows a fraction).

    Seconds alone would cut up to one second off a short lease.
    """
    utc = moment.astimezone(UTC)
    return f"{utc:%Y%m%d%H%M%S}.{utc.microsecond // 1000:03d}Z"


def parse_lease_time(text: str) -> datetime:
    """Parse a GeneralizedTime in UTC, with or without a fraction of a second."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return moment + timedelta(microseconds=int((fraction + "000000")[:6])) if fraction else moment


def _text(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name.lower())
    return value.decode() if value else None


def _lease(holder: str | None, until: str | None) -> Lease:
    return Lease(holder, parse_lease_time(until) if until else None)


def _unchanged(holder: str | None, until: str | None) -> str:
    """Return a filter that the target entry matches while its lease is as read."""
    held = dn.equals(HOLDER, holder) if holder else f"(!({HOLDER}=*))"
    expires = dn.equals(UNTIL, until) if until else f"(!({UNTIL}=*))"
    return f"(&{held}{expires})"


def _letter(entry: dict[str, Any]) -> DeadLetter:
    raw = {k.lower(): v for k, v in entry["raw_attributes"].items()}

    def first(name: str) -> str | None:
        values = raw.get(name.lower()) or []
        return values[0].decode() if values else None

    time = first("mimsSyncTime")
    return DeadLetter(
        uuid=first("mimsSyncEntryUUID") or "",
        kind=first("mimsSyncChangeKind") or "",
        reason=first("mimsSyncReason") or "",
        time=generalized_time(time) if time else None,
        attempts=int(first("mimsSyncAttempts") or "1"),
    )
