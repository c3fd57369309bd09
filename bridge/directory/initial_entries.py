"""Roster rows -> the LDIF entries `mims import` would have added to an empty directory.

The offline first-day load (``initial_load.py``) writes with ``slapadd``, which runs neither the
bridge's allocators nor slapd's overlays, so this module plays both, with the same rules and in
the same order as the online importer (``roster_import.py``):

- people: ``PeopleStore.draft`` (checks, attributes, password policy); the batch's uidNumbers
  as one block, in row order; each batch's first-choice login IDs first, then its namesakes
  from one past the highest suffix in use (``_next_suffix``), uids unique over every role;
- groups: school, level and class groups (``managed_groups``) made in the order their first
  member is, each with the next gidNumber and the first free address and NSS name
  (``group_addresses.py``);
- memberOf on every member, as the memberof overlay writes it.

The counters end where the online import leaves them. A row the online import would reject
is reported the same way (see ``run``); the caller loads nothing then.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import IO

from bridge.core import group_address, naming, posix_group_name
from bridge.core.group_address import AddressRules
from bridge.core.namesakes import HighestSuffixes
from bridge.core.people import GroupKind
from bridge.core.posix import IdKind, PosixRules
from bridge.core.roster import Rejected, Row, Summary
from bridge.directory import dn, ldif, mapping
from bridge.directory.id_numbers import exhausted
from bridge.directory.people import Draft, PeopleStore, managed_groups
from bridge.errors import BridgeError, NameTaken

BATCH = 1000  # the online importer's batch: its uidNumber blocks and namesake rounds
_SUFFIXED = re.compile(r"^(?P<head>.+)_(?P<n>\d+)$")


@dataclass
class Counters:
    """The next free uidNumber and gidNumber: read from the counter entry, then advanced."""

    uid: int
    gid: int

    def take(self, kind: IdKind, count: int, rules: PosixRules) -> range:
        """Take ``count`` numbers as ``id_numbers.allocate`` does (the jump to the range start)."""
        limits = rules.numbers(kind)
        start = max(getattr(self, kind), limits.first)
        taken = range(start, start + count)
        if taken.stop - 1 > limits.last:
            raise exhausted(kind, limits)
        setattr(self, kind, taken.stop)
        return taken


@dataclass
class Taken:
    """The names in use: uids (any role), addresses (but people's own) and groups' NSS names."""

    uids: set[str] = field(default_factory=set)
    mails: set[str] = field(default_factory=set)
    posix_names: set[str] = field(default_factory=set)
    # The highest n of each uid ``head_n``: namesakes' next suffix at once
    suffixes: HighestSuffixes = field(default_factory=HighestSuffixes)

    def add_uid(self, uid: str) -> None:
        """Record a uid as taken."""
        uid = uid.lower()
        self.uids.add(uid)
        self.suffixes.add(uid)

    def next_suffix(self, base: str, rules: naming.NamingRules) -> int:
        """Return one past the highest suffix in use for a base (``PeopleStore._next_suffix``)."""
        highest = self.suffixes.highest(base, rules)
        if highest is None:  # a base cut one more for its suffix: look at each uid
            stem = naming.with_suffix(base, 1, rules).rsplit("_", 1)[0]
            highest = self._scan(base, stem, rules)
        return highest + 1

    def _scan(self, base: str, stem: str, rules: naming.NamingRules) -> int:
        highest = 0
        for uid in self.uids:
            match = _SUFFIXED.match(uid)
            if uid.startswith(f"{stem}_") and match:
                if naming.with_suffix(base, int(match["n"]), rules) == uid:
                    highest = max(highest, int(match["n"]))
        return highest


@dataclass
class _Group:
    dn: str
    attributes: dict[str, list[str]]
    members: array[int] = field(default_factory=lambda: array("I"))


@dataclass(frozen=True)
class _Person:
    row: Row
    draft: Draft


class InitialEntries:
    """Turn roster rows into LDIF with the online import's rules, for an empty directory."""

    def __init__(
        self,
        people: PeopleStore,
        counters: Counters,
        taken: Taken,
        address_rules: AddressRules,
        batch_size: int = BATCH,
    ) -> None:
        self.people = people
        self.counters = counters
        self.taken = taken
        self.address_rules = address_rules
        self.batch_size = batch_size
        self.suffix = people.suffix
        self._dns: list[str] = []  # every person's DN; groups hold indexes into it
        self._lines = 0  # LDIF lines written so far
        self._last_person_line = 0
        self._starts = array("L")  # the line each person's entry starts on (1 is the first)
        self._rows = array("L")  # and the roster row it came from
        self._groups: dict[str, _Group] = {}

    def write(
        self,
        items: Iterable[Row | Rejected],
        out: IO[str],
        on_reject: Callable[[Rejected], None] = lambda _: None,
        on_progress: Callable[[int], None] = lambda _: None,
    ) -> Summary:
        """Write every row's person, then every group, as LDIF to ``out``; return the count.

        Rows go on after a rejected one, so that every bad row is reported in one run.
        """
        summary = Summary()
        iterator = iter(items)
        while batch := list(islice(iterator, self.batch_size)):
            rows = []
            for item in batch:
                if isinstance(item, Rejected):
                    summary.rejected += 1
                    on_reject(item)
                else:
                    rows.append(item)
            created, rejected = self._batch(rows, out)
            for item in rejected:
                on_reject(item)
            summary.created += created
            summary.rejected += len(rejected)
            on_progress(len(batch))
        for group in self._groups.values():
            attributes = dict(group.attributes)
            if group.members:
                attributes["member"] = [self._dns[i] for i in group.members]
            self._write(out, group.dn, attributes)
        return summary

    def row_at(self, line: int) -> int | None:
        """Return the roster row whose entry starts on this line of the LDIF (None: a group)."""
        found = bisect.bisect_right(self._starts, line) - 1
        if found < 0 or (found + 1 == len(self._starts) and line > self._last_person_line):
            return None
        return self._rows[found]

    @property
    def entries(self) -> int:
        """Return how many entries ``write`` wrote: people and groups."""
        return len(self._dns) + len(self._groups)

    def _batch(self, rows: list[Row], out: IO[str]) -> tuple[int, list[Rejected]]:
        """Name, number and write one batch as the online importer's ``_add_new`` does."""
        rejected: list[Rejected] = []
        drafted: list[_Person] = []
        for row in rows:
            try:
                drafted.append(_Person(row, self.people.draft(row.person, row.base)))
            except BridgeError as error:
                rejected.append(_rejected(row, error))
        if not drafted:
            return 0, rejected
        numbers = self.counters.take("uid", len(drafted), self.people.posix)
        drafted = [
            _Person(p.row, self.people.numbered(p.draft, number))
            for p, number in zip(drafted, numbers, strict=True)
        ]
        made: dict[int, tuple[str, dict[str, list[str]]]] = {}
        namesakes: dict[str, list[int]] = defaultdict(list)
        for index, person in enumerate(drafted):  # first choices, in row order
            entry = self.people.first_choice(person.draft)
            if self._free(entry):
                made[index] = self._take(entry)
            elif person.draft.login_id is not None:
                rejected.append(_rejected(person.row, NameTaken("that login ID is taken")))
            else:
                namesakes[person.draft.base].append(index)
        rules = self.people.rules
        starts = {base: self.taken.next_suffix(base, rules) for base in namesakes}
        retry = []
        for base, indexes in namesakes.items():  # then namesakes, from one past the highest
            for k, index in enumerate(indexes):
                entry = self.people.candidate(drafted[index].draft, starts[base] + k)
                if self._free(entry):
                    made[index] = self._take(entry)
                else:
                    retry.append(index)
        for index in retry:  # taken meanwhile: the allocator's walk from the highest
            made[index] = self._take(self._allocate(drafted[index].draft))
        for index in sorted(made):  # groups are made in the order of their first member
            self._write_person(drafted[index], *made[index], out)
        return len(made), rejected

    def _free(self, entry: tuple[str, dict[str, list[str]]]) -> bool:
        """Return whether the unique overlay would take it: uid over people, mail over all."""
        attributes = entry[1]
        return (
            attributes["uid"][0].lower() not in self.taken.uids
            and attributes["mail"][0].lower() not in self.taken.mails
        )

    def _take(self, entry: tuple[str, dict[str, list[str]]]) -> tuple[str, dict[str, list[str]]]:
        self.taken.add_uid(entry[1]["uid"][0])
        return entry

    def _allocate(self, draft: Draft) -> tuple[str, dict[str, list[str]]]:
        """Return the first free login ID the way ``PeopleStore._allocate`` walks to it."""
        n = 0
        for _ in range(100_000):
            entry = self.people.candidate(draft, n)
            if self._free(entry):
                return entry
            n = (
                max(n + 1, self.taken.next_suffix(draft.base, self.people.rules))
                if n == 0
                else n + 1
            )
        raise NameTaken(f"could not find a free login ID for '{draft.base}'")

    def _write_person(
        self, person: _Person, entry: str, attributes: dict[str, list[str]], out: IO[str]
    ) -> None:
        index = len(self._dns)
        self._dns.append(entry)
        groups: dict[str, _Group] = {}  # once each, in order
        for kind, name in managed_groups(person.row.person):
            group = self._group(kind, name)
            groups.setdefault(group.dn, group)
        for group in groups.values():
            group.members.append(index)
        member_of = {"memberOf": list(groups)} if groups else {}
        self._starts.append(self._lines + 1)
        self._rows.append(person.row.number)
        self._write(out, entry, attributes | member_of)
        self._last_person_line = self._lines

    def _write(self, out: IO[str], entry: str, attributes: dict[str, list[str]]) -> None:
        lines = [ldif.line("dn", entry)]
        lines += [ldif.line(name, v) for name, values in attributes.items() for v in values]
        out.write("\n".join(lines) + "\n\n")
        self._lines += len(lines) + 1

    def _group(self, kind: GroupKind, name: str) -> _Group:
        """Return the managed group of that name, made (numbered and named) at first sight."""
        group_dn = dn.group_dn(name, self.suffix)
        found = self._groups.get(group_dn.lower())
        if found is not None:
            return found
        gid = self.counters.take("gid", 1, self.people.posix)[0]
        attributes = {
            "objectClass": mapping.GROUP_CLASSES,
            "cn": [name],
            mapping.GROUP_KIND_ATTRIBUTE: [mapping.group_kind_value(kind)],
            "gidNumber": [str(gid)],
            **self._group_names(name),
        }
        made = self._groups[group_dn.lower()] = _Group(group_dn, attributes)
        return made

    def _group_names(self, name: str) -> dict[str, list[str]]:
        """Return the first free address and NSS name, as ``GroupAddresses.add_group`` does."""
        rules = self.address_rules
        address_base = group_address.base_local_part(name, rules)
        posix_base = posix_group_name.base_name(name)

        def names(n: int) -> tuple[str, str]:
            address = rules.address(group_address.with_suffix(address_base, n, rules))
            return address, posix_group_name.with_suffix(posix_base, n)

        n = 1
        while True:
            address, posix = names(n)
            if address.lower() not in self.taken.mails and posix not in self.taken.posix_names:
                break
            if n == 1:
                n = max(2, self._highest(address_base, posix_base) + 1)
            else:
                n += 1
        self.taken.mails.add(address.lower())
        self.taken.posix_names.add(posix)
        return {"mail": [address], mapping.POSIX_NAME: [posix]}

    def _highest(self, address_base: str, posix_base: str) -> int:
        rules = self.address_rules
        numbers = [group_address.suffix_number(m, address_base, rules) for m in self.taken.mails]
        numbers += [posix_group_name.suffix_number(p, posix_base) for p in self.taken.posix_names]
        return max((n for n in numbers if n is not None), default=1)


def _rejected(row: Row, error: BridgeError) -> Rejected:
    values = {"external_id": str(row.person.external_id), "full_name": row.person.full_name}
    return Rejected(row.number, str(error), values)
