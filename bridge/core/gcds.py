"""What Google Cloud Directory Sync would skip or get wrong in our tree: the rules, pure.

GCDS reads the directory over LDAP with the settings in ``docs/gcds/README.md``: a person is a
Google user keyed by ``mail``, a group is a Google group keyed by its ``mail`` with members
from ``member`` (DNs it resolves to those people's ``mail``), and a person's org unit is their
school (``mimsSchool``). From what Google documents about GCDS:

- a person without an address is left out (Configuration Manager's "Test LDAP query" even
  says users without an e-mail address are not in the results); so is a group;
- users and groups share one address space in Google Workspace, so two entries with the same
  address (letter case aside) cannot both arrive;
- a user or a group can only be made in a domain the Workspace account has verified;
- a student or school staff member without a school lands in the fallback org unit.

An empty group is no problem: it has no ``member`` at all (a mimsGroup, since schema version 7;
before, groupOfNames made every group carry a zero-length placeholder DN GCDS could not resolve).

The reader in ``bridge/directory/gcds.py`` streams entries; this module judges them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

# The kinds of problem, in the order a report lists them.
KINDS = (
    "no-mail",
    "foreign-domain",
    "duplicate-mail",
    "no-school",
    "group-no-mail",
)
# Roles whose people belong to a school, and so to a school's org unit.
SCHOOL_ROLES = frozenset({"student", "staff"})


@dataclass(frozen=True)
class PersonEntry:
    """What GCDS reads of a person: the DN, the addresses, the role and the school."""

    dn: str
    mail: tuple[str, ...] = ()
    role: str | None = None
    school: str | None = None


@dataclass(frozen=True)
class GroupEntry:
    """What GCDS reads of a group: the DN and the addresses."""

    dn: str
    mail: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One entry GCDS would skip or mis-sync, and why, in words an administrator can act on."""

    kind: str
    dn: str
    reason: str


@dataclass
class Report:
    """The running totals of a check: how many entries were read, and problems by kind."""

    people: int = 0
    groups: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def problems(self) -> int:
        """Return how many problems were found in all."""
        return sum(self.counts.values())


class Checker:
    """Judge people and groups one by one; remember addresses to catch duplicates.

    Memory grows with the number of distinct addresses only (one string and a DN each), never
    with the entries' other attributes.
    """

    def __init__(self, domains: Collection[str]) -> None:
        self.domains = frozenset(domain.lower() for domain in domains)
        self.report = Report()
        self._owners: dict[str, str] = {}

    def person(self, entry: PersonEntry) -> Iterator[Problem]:
        """Yield what GCDS would get wrong about one person."""
        self.report.people += 1
        if not entry.mail:
            yield self._found("no-mail", entry.dn, "has no mail: GCDS skips a person without one")
        yield from self._foreign(entry.dn, entry.mail, "user")
        yield from self._duplicates(entry.dn, entry.mail)
        if entry.role in SCHOOL_ROLES and not entry.school:
            yield self._found(
                "no-school",
                entry.dn,
                f"a {entry.role} without mimsSchool: GCDS puts them in the fallback org unit",
            )

    def group(self, entry: GroupEntry) -> Iterator[Problem]:
        """Yield what GCDS would get wrong about one group."""
        self.report.groups += 1
        if not entry.mail:
            yield self._found(
                "group-no-mail",
                entry.dn,
                "has no mail: GCDS skips a group without one (`mims group addresses` gives it one)",
            )
        yield from self._foreign(entry.dn, entry.mail, "group")
        yield from self._duplicates(entry.dn, entry.mail)

    def _foreign(self, dn: str, addresses: Iterable[str], what: str) -> Iterator[Problem]:
        for address in addresses:
            domain = address.rpartition("@")[2].lower()
            if domain not in self.domains:
                yield self._found(
                    "foreign-domain",
                    dn,
                    f"mail {address} is not in a configured domain "
                    f"({', '.join(sorted(self.domains))}): Google refuses the {what}",
                )

    def _duplicates(self, dn: str, addresses: Iterable[str]) -> Iterator[Problem]:
        for address in addresses:
            key = address.lower()
            first = self._owners.setdefault(key, dn)
            if first != dn:
                yield self._found(
                    "duplicate-mail",
                    dn,
                    f"mail {address} is already {first}'s (letter case aside): "
                    "Google keeps one address for one user or group",
                )

    def _found(self, kind: str, dn: str, reason: str) -> Problem:
        self.report.counts[kind] += 1
        return Problem(kind, dn, reason)


def check(
    people: Iterable[PersonEntry], groups: Iterable[GroupEntry], domains: Collection[str]
) -> tuple[list[Problem], Report]:
    """Check everyone, then every group; return the problems in order and the totals."""
    checker = Checker(domains)
    problems = [problem for entry in people for problem in checker.person(entry)]
    problems += [problem for entry in groups for problem in checker.group(entry)]
    return problems, checker.report
