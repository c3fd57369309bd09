"""Each downstream target's place in the feed, kept in the directory (ou=sync,ou=services).

``cn=<target>`` (mimsSyncTarget) holds the confirmed syncrepl cookie, when the target last
confirmed a change, how many it took, and failures since; below it one mimsSyncDeadLetter per
entry whose change the target refused. Keeping this in LDAP, not in a local file, means any
host can run the sync and ``mims sync status`` sees the same truth.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, LEVEL, MODIFY_REPLACE, SUBTREE, Connection
from ldap3.utils.conv import escape_filter_chars

from bridge.core.sync import Change, DeadLetter, TargetStatus
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.feed import feed_filter
from bridge.directory.mapping import generalized_time, to_generalized_time
from bridge.errors import NameTaken, NotFound

TARGET_READ = [
    "mimsSyncCookie",
    "mimsSyncLastSuccess",
    "mimsSyncPushed",
    "mimsSyncFailures",
    "mimsSyncLastError",
]
LETTER_READ = [
    "mimsSyncEntryUUID",
    "mimsSyncChangeKind",
    "mimsSyncReason",
    "mimsSyncTime",
    "mimsSyncAttempts",
]
# A CSN (change sequence number) such as 20261204150102.123456Z#000000#000#000000.
_CSN = re.compile(r"\d{14}(?:\.\d+)?Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}")
_MAX_TEXT = 1000


class SyncStateStore:
    """Read and write one target's sync entry and dead letters as the bridge's account."""

    def __init__(self, directory: LdapClient, suffix: str, target: str) -> None:
        self.directory = directory
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
            (self.entry, {"objectClass": ["top", "mimsSyncTarget"], "cn": [self.target]}),
        ]
        for entry, attributes in entries:
            self._add_once(entry, attributes)

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

        def search(connection: Connection) -> list[dict[str, Any]]:
            connection.search(
                self.entry, "(objectClass=mimsSyncDeadLetter)", LEVEL, attributes=LETTER_READ
            )
            return list(connection.response)

        try:
            entries = self.directory.run(search)
        except NotFound:
            return []
        letters = [_letter(entry) for entry in entries]
        return sorted(letters, key=lambda d: (d.time or datetime.min.replace(tzinfo=UTC), d.uuid))

    # -- status ------------------------------------------------------------------------------

    def status(self) -> TargetStatus:
        """Return the target's state, and how many directory changes it has not confirmed."""
        position = self.position()
        pending, oldest = self._pending(position.cookie)
        return replace(
            position,
            dead_letters=len(self.dead_letters()),
            pending=pending,
            oldest_pending=oldest,
        )

    def position(self) -> TargetStatus:
        """Return the target entry's state alone: one base read (readiness asks it often)."""
        values = self.read()
        cookie = values["mimssynccookie"].decode() if values.get("mimssynccookie") else None
        last = values.get("mimssynclastsuccess")
        error = values.get("mimssynclasterror")
        return TargetStatus(
            name=self.target,
            cookie=cookie,
            last_success=generalized_time(last.decode()) if last else None,
            pushed=int(values.get("mimssyncpushed", b"0")),
            failures=int(values.get("mimssyncfailures", b"0")),
            last_error=error.decode() if error else None,
            dead_letters=0,
        )

    def _pending(self, cookie: str | None) -> tuple[int | None, datetime | None]:
        """Count people and groups changed after the cookie's CSN (None: never synced)."""
        found = _CSN.findall(cookie or "")
        if not found:
            return None, None
        csn = max(found)  # one per server id; the newest bounds what was confirmed
        # Strictly after: the cookie's own change was confirmed.
        after = f"(entryCSN>={escape_filter_chars(csn)})(!{dn.equals('entryCSN', csn)})"
        query = f"(&{feed_filter(self.suffix)}{after})"

        def search(connection: Connection) -> list[dict[str, Any]]:
            connection.search(self.suffix, query, SUBTREE, attributes=["modifyTimestamp"])
            return list(connection.response)

        entries = self.directory.run(search)
        times = [
            generalized_time(e["raw_attributes"]["modifyTimestamp"][0].decode())
            for e in entries
            if e.get("raw_attributes", {}).get("modifyTimestamp")
        ]
        known = [t for t in times if t is not None]
        return len(entries), min(known) if known else None


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
