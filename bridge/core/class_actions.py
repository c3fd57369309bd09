"""Bulk actions on a class or a level: everyone's login card, the start-of-year reset.

Each child goes through the scoped console's own method (``ScopedConsole.print_card`` or
``start_year``), so scope, role and the audit trail (one event per child, the administrator as
actor) are exactly those of acting on one person. Before anyone is touched, the whole group is
checked (in scope, the right levels); then a failure for one child is recorded and the others
go on, and the outcome lists who got a card and who did not, with why: nothing is half-done
silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bridge.core.admin_console import (
    CARD_LEVELS,
    CARDS_ONLY,
    START_YEAR_LEVELS,
    START_YEAR_ONLY,
    ScopedConsole,
    check_level,
)
from bridge.core.cards import Card
from bridge.core.people import Person
from bridge.core.query import ALL, Compare, Sort, all_of
from bridge.errors import BridgeError, InvalidValue, NotFound

__all__ = ["BULK_LIMIT", "Bulk", "Failure", "Group", "Outcome", "members", "run"]

Bulk = Literal["cards", "reset"]
BULK_LIMIT = 500  # children in one bulk action: a big level of a big school
PAGE = 200
LOG = logging.getLogger(__name__)
NOBODY = "there is nobody in that class or level that you can see"
WHY = {
    403: "your role does not allow this",
    404: "no longer found",
    409: "the account changed meanwhile",
    412: "the account changed meanwhile",
    423: "the account is locked",
    503: "the directory did not answer",
}


@dataclass(frozen=True)
class Group:
    """A class or a level of one school."""

    school: str
    class_name: str | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        if not self.school.strip() or (self.class_name is None) == (self.level is None):
            raise InvalidValue("name a school and either a class or a level")
        if not (self.class_name or self.level or "").strip():
            raise InvalidValue("name a school and either a class or a level")

    @property
    def label(self) -> str:
        """Return the group in words: "class 5A" or "level P5"."""
        return f"class {self.class_name}" if self.class_name else f"level {self.level}"


@dataclass(frozen=True)
class Failure:
    """A child the action could not be done for, and why, in a school office's words."""

    person: Person
    reason: str


@dataclass
class Outcome:
    """What a bulk action did: the cards made (in the group's order) and the failures."""

    touched: int
    cards: list[tuple[Person, Card]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def members(scoped: ScopedConsole, group: Group) -> list[Person]:
    """Return the students of a group that this administrator sees, by name.

    Nobody (a class out of scope, or a misspelt one) is NotFound, as a missing person is.
    """
    wanted = all_of(
        scoped.admin.query(),
        Compare("role", "eq", "student"),
        Compare("school", "eq", group.school.strip()),
        Compare("class_name", "eq", group.class_name.strip()) if group.class_name else ALL,
        Compare("level", "eq", group.level.strip()) if group.level else ALL,
    )
    found: list[Person] = []
    while True:
        total, page = scoped.services.people.search(
            wanted, (Sort("full_name"),), len(found) + 1, PAGE
        )
        found += page
        if total > BULK_LIMIT:
            raise InvalidValue(f"{total} people is too many at once: do it class by class")
        if not page or len(found) >= total:
            break
    if not found:
        raise NotFound(NOBODY)
    return found


def check(people: list[Person], action: Bulk) -> None:
    """Refuse the whole action (before anyone is touched) if a child is of another level."""
    levels, words = (
        (CARD_LEVELS, CARDS_ONLY) if action == "cards" else (START_YEAR_LEVELS, START_YEAR_ONLY)
    )
    for person in people:
        check_level(person, levels, words)


def run(scoped: ScopedConsole, group: Group, action: Bulk) -> Outcome:
    """Do a bulk action for everyone in a group; return what was done and what failed."""
    people = members(scoped, group)
    check(people, action)
    one: Callable[[str], Card] = scoped.print_card if action == "cards" else scoped.start_year
    outcome = Outcome(touched=len(people))
    for person in people:
        try:
            outcome.cards.append((person, one(person.id)))
        except BridgeError as error:
            outcome.failures.append(Failure(person, WHY.get(error.status, "it did not work")))
        except Exception:  # noqa: BLE001 - one child's failure must not hide the others' cards
            LOG.exception("the %s of %s failed", action, person.id)
            outcome.failures.append(Failure(person, "something went wrong on our side"))
    return outcome
