"""Bulk import of a roster: idempotent by external ID, parallel, safe to kill and run again.

Each person is one atomic LDAP add or modify. Group memberships are held until a group has a
modify's worth of new members, and the rest added when the last batch is in (``held_joins.py``),
in permissive modifies (``bulk.py``); every run re-checks them against each person's memberOf,
so an import killed at any point and run again finishes the job with nothing duplicated and
nothing half-written.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice
from typing import Literal

from bridge.core.namesakes import HighestSuffixes
from bridge.core.people import (
    GroupKind,
    NewPerson,
    Person,
    PersonChange,
    PersonField,
    change_between,
)
from bridge.core.roster import Rejected, Row, Summary
from bridge.directory import dn
from bridge.directory.bulk import BulkWriter
from bridge.directory.errors import DirectoryError
from bridge.directory.held_joins import HeldJoins, Joins
from bridge.directory.people import Draft, PeopleStore, managed_groups
from bridge.errors import AlreadyExists, BridgeError, DirectoryUnavailable, NameTaken

Outcome = Literal["created", "updated", "unchanged", "rejected"]
ALWAYS_COMPARED: tuple[PersonField, ...] = (
    "full_name",
    "school",
    "other_schools",
    "level",
    "class_name",
)
OPTIONAL_FIELDS: dict[str, PersonField] = {
    "given_name": "given_name",
    "family_name": "family_name",
    "email": "recovery_email",
    "department": "department",
    "title": "title",
}


_Written = tuple["Outcome | Rejected", str, list[tuple[GroupKind, str]]]
_Joins = dict[tuple[GroupKind, str], list[str]]  # member DNs by the group they are to join
READ_ALL_AT = 100  # bases to look up at once from which one read of every uid is cheaper


class _Namesakes:
    """Where each base's suffixes go on, for the length of one import run.

    The directory is read once per base, the first time one of its namesakes needs a suffix
    (or once for all: ``look_up``); after that the uids this run adds keep the count
    (``HighestSuffixes``), so a namesake costs one add: no refused first choice, no search
    that reads every earlier namesake (which grew as n^2 with the roster's namesakes). A guess
    another writer took meanwhile is refused by the directory (the add is atomic) and the row
    goes to the allocator; the base is then searched again.
    """

    def __init__(self, people: PeopleStore) -> None:
        self.people = people
        self.seen = HighestSuffixes()
        self.searched: set[str] = set()  # bases whose first choice was found taken
        self.named: set[str] = set()  # bases whose first choice this run added
        self.forgotten: set[str] = set()  # bases another writer got ahead on: search again
        self.all_read = False  # every uid of the directory has been read into ``seen``

    def known_taken(self, draft: Draft) -> bool:
        """Return whether this draft's first choice is known to be taken: skip it.

        Taken by this run, or found taken in the directory: either way its add would be refused.
        """
        return draft.login_id is None and (draft.base in self.searched or draft.base in self.named)

    def took(self, attributes: dict[str, list[str]]) -> None:
        """Record the uid of an entry this run added."""
        self.seen.add(attributes["uid"][0])

    def took_first_choice(self, draft: Draft) -> None:
        """Record that this run added a base's first choice: its next namesake skips it."""
        if draft.login_id is None:  # a chosen login ID leaves the base's own first choice free
            self.named.add(draft.base)

    def look_up(self, drafts: Iterable[Draft]) -> None:
        """Read the suffixes in use of the bases not read yet.

        A hundred bases go to a search; from READ_ALL_AT bases at once on, one paged read of
        every uid in the directory replaces all later searches (but those of bases another
        writer got ahead on). slapd answers ``uid=tan_mei_ling_*`` from its `sub` index keys
        of 3 letters, and in a large directory the keys of common fragments hold too many
        entries to be kept as lists (LMDB's 65,536): it then tests each entry of a range.
        """
        bases = {draft.base for draft in drafts} - self.searched
        if not self.all_read and len(bases) >= READ_ALL_AT:
            self.people.each_uid(self.seen.add)
            self.all_read = True
        wanted = bases & self.forgotten if self.all_read else bases
        if wanted:
            for uid in self.people.namesake_uids(wanted):
                self.seen.add(uid)
        self.forgotten -= wanted
        self.searched |= bases

    def next_suffix(self, draft: Draft) -> int:
        """Return one past the highest suffix in use for the draft's base."""
        self.look_up([draft])
        highest = self.seen.highest(draft.base, self.people.rules)
        return self.people.next_suffix(draft) if highest is None else highest + 1

    def forget(self, draft: Draft) -> None:
        """Search the directory again next time: another writer took one of this base's uids."""
        self.searched.discard(draft.base)
        self.forgotten.add(draft.base)


@dataclass(frozen=True)
class _Plan:
    row: Row
    existing: tuple[str, Person] | None
    change: PersonChange
    move_role: bool


@dataclass(frozen=True)
class _Prepared:
    """A batch ready to write: its plans, and its new people's numbered entries."""

    size: int  # rows read, rejected ones included: the progress to report
    last: bool
    rejected: list[Rejected]  # by the roster reader
    plans: list[_Plan]
    drafts: dict[int, Draft]  # by the plan's index: new people
    refused: dict[int, _Written]  # by the plan's index: new people whose entry was refused


class Importer:
    """Apply roster rows to the directory in batches, with several connections at once."""

    def __init__(
        self,
        people: PeopleStore,
        bulk: BulkWriter,
        workers: int = 4,
        batch_size: int = 1000,
        dry_run: bool = False,
    ) -> None:
        self.people = people
        self.bulk = bulk
        self.workers = workers
        self.batch_size = batch_size
        self.dry_run = dry_run

    def run(
        self,
        items: Iterable[Row | Rejected],
        on_reject: Callable[[Rejected], None] = lambda _: None,
        on_progress: Callable[[int], None] = lambda _: None,
    ) -> Summary:
        """Import every row; report rejected rows and progress (rows done) as it goes.

        Three threads keep slapd busy: while one batch's people are written, the next is read
        and prepared (``_prepare``) and the one before joins its groups (``_settle``); slapd
        would otherwise wait for the importer between batches. A batch is reported done when
        its groups are, so the report of one batch comes while the next is written.
        """
        summary = Summary()
        namesakes = _Namesakes(self.people)
        batches = _batches(iter(items), self.batch_size)

        def prepare_next() -> _Prepared | None:
            batch = next(batches, None)
            return None if batch is None else self._prepare(*batch)

        with (
            HeldJoins() as held,  # closed last: the joining thread uses it until it stops
            ThreadPoolExecutor(self.workers, thread_name_prefix="import") as pool,
            ThreadPoolExecutor(1, thread_name_prefix="import-ahead") as ahead,
            ThreadPoolExecutor(1, thread_name_prefix="import-join") as joiner,
        ):
            joining: tuple[Future[None], int] | None = None  # the batch before: groups, size
            try:
                coming = ahead.submit(prepare_next)
                while (batch := coming.result()) is not None:
                    coming = ahead.submit(prepare_next)
                    summary.rejected += len(batch.rejected)
                    for rejected in batch.rejected:
                        on_reject(rejected)
                    outcomes, joins = self._apply(batch, pool, namesakes, on_reject)
                    for outcome in outcomes:
                        setattr(summary, outcome, getattr(summary, outcome) + 1)
                    if joining is not None:
                        on_progress(_done(*joining))
                    joining = joiner.submit(self._settle, joins, held, batch.last), batch.size
                if joining is not None:
                    on_progress(_done(*joining))
            finally:
                for thread in (ahead, joiner):  # each thread's own connection
                    thread.submit(self.people.directory.close)
            self._close_connections(pool)
        return summary

    def _prepare(self, batch: list[Row | Rejected], last: bool) -> _Prepared:
        """Plan a batch: who exists already (one search) and, for new people, their entries.

        New people's entries are checked and numbered here (one block of uidNumbers for the
        batch: one modify, not one per person); their login IDs are chosen when written.
        """
        rows = [item for item in batch if not isinstance(item, Rejected)]
        rejected = [item for item in batch if isinstance(item, Rejected)]
        existing = self.people.find_external([str(row.person.external_id) for row in rows])
        plans = [self._plan(row, existing.get(str(row.person.external_id))) for row in rows]
        drafts: dict[int, Draft] = {}
        refused: dict[int, _Written] = {}
        for index, plan in enumerate(plans):
            if plan.existing is not None or self.dry_run:
                continue
            try:
                drafts[index] = self.people.draft(plan.row.person, plan.row.base)
            except BridgeError as error:
                refused[index] = (_rejected(plan, error), "", [])
        if drafts:
            numbers = self.people.ids.allocate("uid", len(drafts))
            drafts = {
                index: self.people.numbered(draft, number)
                for (index, draft), number in zip(drafts.items(), numbers, strict=True)
            }
        return _Prepared(len(batch), last, rejected, plans, drafts, refused)

    def _settle(self, joins: _Joins, held: HeldJoins, last: bool) -> None:
        """Make a batch's new groups and hold its joins; send those due.

        Due: every group's held members once the last batch is in, and before that the groups
        that hold a modify's worth (``held_joins.py``).
        """
        groups = self.people.groups.ensure_all(list(joins))
        for group, members in zip(groups, joins.values(), strict=True):
            held.hold(group, members)
        self._join(held.take_full())
        if last:
            for due in held.take_all():
                self._join(due)

    def _join(self, joins: Joins) -> None:
        """Add held members to their groups; a refusal stops the import (no row is to blame)."""
        for (group, _), failure in zip(joins, self.bulk.add_members(joins), strict=True):
            if isinstance(failure, DirectoryUnavailable):
                raise failure
            if failure is not None:  # not a row's fault, but the bridge's or the directory's
                raise DirectoryError(f"{group} refused new members: {failure}")

    def _close_connections(self, pool: ThreadPoolExecutor) -> None:
        """Close each worker's own connections, which would stay open until collected.

        One call per worker thread: each waits at the barrier until every worker holds one.
        """
        barrier = threading.Barrier(self.workers)

        def close(_: int) -> None:
            with suppress(threading.BrokenBarrierError):  # never hang an import that is done
                barrier.wait(timeout=10)
            self.people.directory.close()

        list(pool.map(close, range(self.workers)))

    def _apply(
        self,
        batch: _Prepared,
        pool: ThreadPoolExecutor,
        namesakes: _Namesakes,
        on_reject: Callable[[Rejected], None],
    ) -> tuple[list[Outcome], _Joins]:
        """Write a batch's people; return their outcomes and the groups they are to join."""
        plans = batch.plans
        if self.dry_run:
            return [self._dry_outcome(plan) for plan in plans], {}
        results = self._add_new(plans, batch.drafts, pool, namesakes) | batch.refused
        results |= dict(
            zip(
                [i for i, plan in enumerate(plans) if plan.existing is not None],
                pool.map(self._write, [plan for plan in plans if plan.existing is not None]),
                strict=True,
            )
        )
        joins: _Joins = defaultdict(list)
        outcomes: list[Outcome] = []
        for index, plan in enumerate(plans):
            outcome, entry, wanted_groups = results[index]
            if isinstance(outcome, Rejected):
                on_reject(outcome)
                outcomes.append("rejected")
                continue
            current = (
                set(plan.existing[1].groups) if plan.existing and outcome == "unchanged" else set()
            )
            missing = [(kind, name) for kind, name in wanted_groups if name not in current]
            for kind, name in missing:
                joins[(kind, name)].append(entry)
            outcomes.append("updated" if outcome == "unchanged" and missing else outcome)
        return outcomes, joins

    def _add_new(
        self,
        plans: list[_Plan],
        drafts: dict[int, Draft],
        pool: ThreadPoolExecutor,
        namesakes: _Namesakes,
    ) -> dict[int, _Written]:
        """Add the batch's new people pipelined; namesakes then take their suffixes."""
        results: dict[int, _Written] = {}
        # Of namesakes in one batch the first row takes the name: the adds are pipelined, and
        # slapd may apply a later one first (`mims import --initial` gives the same names).
        firsts: dict[int, tuple[str, dict[str, list[str]]]] = {}
        taken: list[int] = []
        sent: set[str] = set()
        for index, draft in drafts.items():
            if namesakes.known_taken(draft):  # its add would be refused: go on to the suffixes
                taken.append(index)
                continue
            first = self.people.first_choice(draft)
            uid = first[1]["uid"][0].lower()
            if uid in sent:
                taken.append(index)
            else:
                sent.add(uid)
                firsts[index] = first
        outcomes = self.bulk.add_all(list(firsts.values()))
        for index, (entry, attributes), failure in zip(
            firsts, firsts.values(), outcomes, strict=True
        ):
            if failure is None:
                namesakes.took(attributes)
                namesakes.took_first_choice(drafts[index])
                results[index] = ("created", entry, _groups(plans[index]))
            elif _maybe_taken(failure, drafts[index]):
                taken.append(index)
            else:
                results[index] = (_rejected(plans[index], failure), "", [])

        results |= self._add_namesakes(plans, drafts, sorted(taken), pool, namesakes)
        return results

    def _add_namesakes(
        self,
        plans: list[_Plan],
        drafts: dict[int, Draft],
        taken: list[int],
        pool: ThreadPoolExecutor,
        namesakes: _Namesakes,
    ) -> dict[int, _Written]:
        """Give namesakes the next free suffixes (``_Namesakes``), then pipelined adds.

        A uid is unique across roles, so a student and a teacher of one name share the count.
        Rows whose guess was taken meanwhile (another writer) take the atomic allocator.
        """
        results: dict[int, _Written] = {}
        by_name: dict[str, list[int]] = defaultdict(list)
        for index in taken:
            if drafts[index].login_id is not None:  # a chosen login ID has no second choice
                results[index] = (
                    _rejected(plans[index], NameTaken("that login ID is taken")),
                    "",
                    [],
                )
            else:
                by_name[drafts[index].base].append(index)
        guesses: list[tuple[int, tuple[str, dict[str, list[str]]]]] = []
        namesakes.look_up(drafts[indexes[0]] for indexes in by_name.values())
        for indexes in by_name.values():
            start = namesakes.next_suffix(drafts[indexes[0]])
            guesses += [
                (index, self.people.candidate(drafts[index], start + k))
                for k, index in enumerate(indexes)
            ]
        retry = []
        outcomes = self.bulk.add_all([entry for _, entry in guesses])
        for (index, (entry, attributes)), failure in zip(guesses, outcomes, strict=True):
            if failure is None:
                namesakes.took(attributes)
                results[index] = ("created", entry, _groups(plans[index]))
            elif _maybe_taken(failure, drafts[index]):
                namesakes.forget(drafts[index])
                retry.append(index)
            else:
                results[index] = (_rejected(plans[index], failure), "", [])

        def allocate(index: int) -> _Written:
            try:
                return "created", self.people.allocate(drafts[index]), _groups(plans[index])
            except BridgeError as error:
                return _rejected(plans[index], error), "", []

        results |= dict(zip(retry, pool.map(allocate, retry), strict=True))
        return results

    def _plan(self, row: Row, existing: tuple[str, Person] | None) -> _Plan:
        if existing is None:
            return _Plan(row, None, PersonChange(), False)
        person = existing[1]
        compared = list(ALWAYS_COMPARED) + [
            f for c, f in OPTIONAL_FIELDS.items() if c in row.columns
        ]
        change = change_between(person, PersonChange.setting(row.person, compared))
        return _Plan(row, existing, change, person.role != row.person.role)

    def _dry_outcome(self, plan: _Plan) -> Outcome:
        if plan.existing is None:
            return "created"
        return "updated" if plan.change.changed() or plan.move_role else "unchanged"

    def _write(self, plan: _Plan) -> _Written:
        """Bring an existing person in line with their row."""
        new = plan.row.person
        groups = _groups(plan)
        assert plan.existing is not None
        try:
            entry, person = plan.existing
            outcome: Outcome = "unchanged"
            if plan.move_role:
                entry = self._moved_entry(person, new)
                outcome = "updated"
            if plan.change.changed():
                self.people.update_entry(entry, person, plan.change)
                outcome = "updated"
            return outcome, entry, groups
        except BridgeError as error:
            return _rejected(plan, error), "", []

    def _moved_entry(self, person: Person, new: NewPerson) -> str:
        moved = self.people.change_role(person.id, new.role)
        return dn.person_dn(moved.login_id.local, moved.role, self.people.suffix)


def _done(settled: Future[None], size: int) -> int:
    """Wait for a batch's groups (raising what stopped them); return the batch's size."""
    settled.result()
    return size


def _maybe_taken(failure: BridgeError, draft: Draft) -> bool:
    """Return whether a refused add may mean its uid is taken, in its role or another.

    The unique overlay's refusal (the uid in another role's OU) does not say which value
    clashed; the atomic allocator, where such rows end, tells them apart.
    """
    if isinstance(failure, NameTaken):
        return True
    return isinstance(failure, AlreadyExists) and draft.login_id is None


def _groups(plan: _Plan) -> list[tuple[GroupKind, str]]:
    return managed_groups(plan.row.person)


def _rejected(plan: _Plan, error: BridgeError) -> Rejected:
    return Rejected(plan.row.number, str(error), _row_values(plan.row.person))


def _batches(
    items: Iterator[Row | Rejected], size: int
) -> Iterator[tuple[list[Row | Rejected], bool]]:
    """Yield each batch, and whether it is the last (one batch is read ahead to know)."""
    batch = list(islice(items, size))
    while batch:
        following = list(islice(items, size))
        yield batch, not following
        batch = following


def _row_values(person: NewPerson) -> dict[str, str]:
    return {"external_id": str(person.external_id), "full_name": person.full_name}
