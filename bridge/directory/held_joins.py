"""Group joins an import holds back until a group has a full modify's worth of new members.

A roster in no set order gives each class a member or two per batch of 1,000 rows. Sent per
batch, that was one modify per group per batch: 38,636 modifies adding 113,074 members for an
import of 40,000 people, and each modify costs slapd about 0.3 ms (a rewritten group entry, an
accesslog record, syncprov) whatever its size. Replayed one by one into a fresh slapd, those
modifies took slapd 36-41 s of CPU; the same members held until a group had 50 took 27 s, about
what ldapadd of the finished groups takes (``bench/README.md``).

At 500,000 people the joins held can be 1.5 million DNs (every class holds its members to the
end), so they wait on disk, in a private SQLite database that SQLite deletes when it is
closed, and the import's memory stays flat whatever the roster's size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter

from bridge.directory.bulk import MEMBERS_PER_MODIFY

Joins = list[tuple[str, list[str]]]
GROUPS_AT_ONCE = 500  # groups handed back at a time at the end: bounded memory


class HeldJoins:
    """Member DNs waiting to join their groups, by group, for the length of one import run."""

    def __init__(self, full: int = MEMBERS_PER_MODIFY) -> None:
        self.full = full
        self._ids: dict[str, int] = {}
        self._groups: list[str] = []
        self._held: dict[int, int] = {}  # group id -> members held
        self._full: set[int] = set()  # group ids holding a modify's worth: taken after the batch
        # "": a private database in a temporary file, removed as soon as it is closed (or the
        # process dies); nothing in it needs to survive a crash, the next run re-checks memberOf.
        # Made and closed by the importer's main thread, used by its joining thread: one
        # thread at a time, so SQLite's own check (same thread always) does not apply.
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE held (grp INTEGER NOT NULL, member TEXT NOT NULL)")
        self._db.execute("CREATE INDEX held_by_group ON held (grp)")

    def __enter__(self) -> HeldJoins:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop whatever is still held: the database file goes with the connection."""
        self._db.close()

    def hold(self, group: str, members: Iterable[str]) -> None:
        """Keep these members for the group until it has a modify's worth, or the run ends."""
        group_id = self._ids.get(group)
        if group_id is None:
            group_id = self._ids[group] = len(self._groups)
            self._groups.append(group)
        rows = [(group_id, member) for member in members]
        if not rows:
            return
        with self._db:  # one transaction
            self._db.executemany("INSERT INTO held VALUES (?, ?)", rows)
        self._held[group_id] = self._held.get(group_id, 0) + len(rows)
        if self._held[group_id] >= self.full:
            self._full.add(group_id)

    def take_full(self) -> Joins:
        """Hand back, and forget, the groups that hold at least a modify's worth."""
        return self._take(sorted(self._full))

    def take_all(self) -> Iterator[Joins]:
        """Hand back everything held, GROUPS_AT_ONCE groups at a time."""
        waiting = list(self._held)
        for start in range(0, len(waiting), GROUPS_AT_ONCE):
            yield self._take(waiting[start : start + GROUPS_AT_ONCE])

    def _take(self, group_ids: list[int]) -> Joins:
        if not group_ids:
            return []
        marks = ",".join("?" * len(group_ids))
        with self._db:  # one transaction
            rows = self._db.execute(
                f"SELECT grp, member FROM held WHERE grp IN ({marks}) ORDER BY grp, rowid",
                group_ids,
            ).fetchall()
            self._db.execute(f"DELETE FROM held WHERE grp IN ({marks})", group_ids)
        for group_id in group_ids:
            del self._held[group_id]
            self._full.discard(group_id)
        return [
            (self._groups[group_id], [member for _, member in members])
            for group_id, members in groupby(rows, key=itemgetter(0))
        ]
