"""Administration through a scope: what the console, its JSON API and ``mims ... --as`` call.

``AdminConsole.for_actor(login)`` returns a :class:`ScopedConsole` for one administrator.
Every method checks the person against the administrator's grants
(``core/administration.py``) before it reads or changes anything more:

- a person out of scope is :class:`~bridge.errors.NotFound`, word for word what a missing id
  gets, so nobody learns by probing who exists elsewhere;
- a person in scope but an action the grant does not allow (a form teacher's disable) is
  :class:`~bridge.errors.Forbidden`.

Searches are scoped in the directory's own filter (the scope is a core query joined to the
search), so counts and pages are right and nothing is filtered afterwards. Changes go through
the audited core ports with the administrator as the actor; refusals are audited too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

from bridge.core.administration import (
    Action,
    Administrator,
    AllSchools,
    School,
    SchoolClass,
    Scope,
    same_name,
)
from bridge.core.audit import Event, origin, reset_origin, set_origin
from bridge.core.audited import Trail
from bridge.core.cards import Card
from bridge.core.challenges import hash_answer, preset_answers
from bridge.core.naming import InvalidLoginId, InvalidName, LoginId, base_local_part
from bridge.core.people import Person, PersonChange
from bridge.core.ports import Audit, AuditReader, Grants, PeopleReader
from bridge.core.query import ALL, Compare, Query, Sort, all_of, any_of
from bridge.core.services import Services
from bridge.errors import Forbidden, InvalidValue, NotFound, Refused

__all__ = [
    "ANYWHERE_FROM",
    "CARD_LEVELS",
    "SHORTEST_SEARCH",
    "START_YEAR_LEVELS",
    "AdminConsole",
    "ScopedConsole",
    "SearchTooShort",
    "check_level",
    "known_scope",
    "name_query",
]

NOT_FOUND = "no such person"
NOT_AN_ADMINISTRATOR = "{login} holds no administrator grant (mims admin grant)"
MAX_COUNT = 200  # people in one page of a search
HISTORY = 20  # events on a person's page
# Who gets what on paper (issue 20): young children a login card with pre-set answers, the
# older ones a temporary password on a slip at the start of the year.
CARD_LEVELS = ("P1", "P2", "P3")
START_YEAR_LEVELS = ("P4", "P5", "P6")
CARDS_ONLY = "login cards are for P1 to P3"
START_YEAR_ONLY = "the start-of-year reset is for P4 to P6"
# Part of a name is looked for anywhere in a name or login ID from this many characters on:
# the directory's substring index holds keys of this length (bridge/directory/slapd_config.py
# SUBSTRING_KEY_LENGTH), and a shorter piece found anywhere could only be answered by reading
# every entry. A shorter piece is looked for where a word of the name, or the login ID,
# begins, which the index answers too (the start of a value, and a space before a word).
ANYWHERE_FROM = 3
# One letter would start the names of a tenth of the country: it is refused with words.
SHORTEST_SEARCH = 2


class SearchTooShort(Refused):
    """A search by one letter: too many people for a page, and no index answers it."""

    code = "search_too_short"
    words = "Type at least 2 letters of the name or login ID."


def name_query(text: str) -> Query:
    """Return people whose name or login ID holds ``text``, without regard to case or accents.

    From ``ANYWHERE_FROM`` characters on, ``text`` may be anywhere ("mei" finds Tan Mei Ling
    and Ahmei Ong). Shorter, it is the start of a word of the name or of the login ID ("li"
    finds Li Na and Tan Mei Ling, not Alice); one character is refused (SearchTooShort).
    The directory compares names without regard to case; accents are met through the login
    ID, which is the name transliterated ("Chloé Tan" is chloe_tan), so "chloe" finds both.
    """
    words = " ".join(text.split())
    if not words:
        return ALL
    if len(words) < SHORTEST_SEARCH:
        raise SearchTooShort()
    try:
        folded = base_local_part(words)
    except (InvalidName, ValueError):
        folded = ""
    logins = [words] + ([folded] if folded and folded != words else [])
    if len(words) < ANYWHERE_FROM:
        return any_of(*_word_starts(words), *(Compare("login_id", "sw", x) for x in logins))
    names = (Compare(field, "co", words) for field in ("full_name", "display_name"))
    return any_of(*names, *(Compare("login_id", "co", x) for x in logins))


def _word_starts(words: str) -> list[Query]:
    """Return "a word of the name starts with ``words``": at its start or after a space."""
    starts: list[Query] = [
        Compare(field, "sw", words)
        for field in ("full_name", "display_name", "given_name", "family_name")
    ]
    # A space and the piece make a piece as long as the index's keys ("* li" in "tan mei ling").
    starts += [Compare(field, "co", " " + words) for field in ("full_name", "display_name")]
    return starts


def known_scope(people: PeopleReader, scope: Scope) -> Scope:
    """Return a grant with the school and class spelled as the directory has them.

    A school nobody belongs to, or a class without students, is refused (InvalidValue): a
    grant on a misspelt name would quietly reach nobody. Grant after the roster import.
    """
    if isinstance(scope, AllSchools):
        return scope
    if isinstance(scope, School):
        _, found = people.search(Compare("school", "eq", scope.name), count=1)
        names = [s for person in found for s in person.schools if same_name(s, scope.name)]
        if not names:
            raise InvalidValue(f"no person belongs to a school named {scope.name!r}")
        return School(names[0])
    wanted = all_of(
        Compare("role", "eq", "student"),
        Compare("school", "eq", scope.school),
        Compare("class_name", "eq", scope.class_name),
    )
    _, found = people.search(wanted, count=1)
    if not found or found[0].school is None or found[0].class_name is None:
        raise InvalidValue(f"no student is in a class {scope.class_name!r} of {scope.school!r}")
    return SchoolClass(found[0].school, found[0].class_name)


@dataclass(frozen=True)
class AdminConsole:
    """The scoped administration service over the core ports and the grants."""

    services: Services
    grants: Grants
    audit: Audit
    history_source: AuditReader | None = None
    # (question id, question text) a printed card pre-sets answers for; () prints none.
    card_questions: tuple[tuple[str, str], ...] = ()

    def administrator(self, login_id: LoginId | str) -> Administrator:
        """Return the person with this login and their grants; Forbidden if they hold none."""
        try:
            login = login_id if isinstance(login_id, LoginId) else LoginId.parse(login_id)
        except (InvalidLoginId, ValueError):
            raise Forbidden(NOT_AN_ADMINISTRATOR.format(login=login_id)) from None
        person = self.services.people.find_login(login)
        scopes = self.grants.of(login) if person is not None else frozenset()
        if person is None or not scopes:
            raise Forbidden(NOT_AN_ADMINISTRATOR.format(login=login))
        return Administrator(person, scopes)

    def for_actor(self, login_id: LoginId | str) -> ScopedConsole:
        """Return the console as this administrator may use it."""
        return ScopedConsole(self, self.administrator(login_id))


class ScopedConsole:
    """One administrator's view: only people in scope, only the actions their grants allow."""

    def __init__(self, console: AdminConsole, admin: Administrator) -> None:
        self.console = console
        self.admin = admin
        self.services = console.services
        self.trail = Trail(console.audit)

    @contextmanager
    def _acting(self) -> Iterator[None]:
        """Name the administrator as the actor of what happens inside the block."""
        token = set_origin(origin().acting_as(self.admin.login_id))
        try:
            yield
        finally:
            reset_origin(token)

    def _refuse(self, action: Action, person_id: str, error: NotFound | Forbidden) -> NoReturn:
        """Record a refused attempt (with its outcome), then raise the refusal."""
        with self._acting(), self.trail.change(f"admin.{action}", person_id):
            raise error
        raise error  # pragma: no cover - the block above always raises

    def _reach(self, person_id: str, action: Action) -> Person:
        """Return the person if in scope and the action allowed; NotFound or Forbidden."""
        try:
            person = self.services.people.get(person_id)
        except (NotFound, InvalidValue):
            person = None
        if person is None or not self.admin.sees(person):
            self._refuse(action, person_id, NotFound(NOT_FOUND))
        held = self.console.grants.of(person.login_id) if action != "view" else frozenset()
        if not self.admin.may(action, person, held):
            self._refuse(action, person.id, Forbidden(f"you may not {_words(action)} this person"))
        return person

    def find(self, login_id: LoginId | str) -> Person:
        """Return the person with this login ID; NotFound when missing or out of scope."""
        try:
            login = login_id if isinstance(login_id, LoginId) else LoginId.parse(login_id)
        except (InvalidLoginId, ValueError):
            raise NotFound(NOT_FOUND) from None
        person = self.services.people.find_login(login)
        if person is None or not self.admin.sees(person):
            self._refuse("view", "", NotFound(NOT_FOUND))
        return person

    def search(
        self,
        query: str | None = None,
        class_name: str | None = None,
        level: str | None = None,
        start: int = 1,
        count: int = 50,
    ) -> tuple[int, list[Person]]:
        """Return how many people in scope match and ``count`` of them from ``start`` (1-based).

        ``query`` is part of a name or a login ID; ``class_name`` and ``level`` are exact.
        The directory answers the whole question, scope included, and sorts by name.
        """
        if start < 1 or count < 0:
            raise InvalidValue("start is 1 or more and count 0 or more")
        wanted = all_of(
            self.admin.query(),
            name_query(query or ""),
            Compare("class_name", "eq", class_name.strip()) if class_name else ALL,
            Compare("level", "eq", level.strip()) if level else ALL,
        )
        order = (Sort("full_name"),)
        # The list shows no groups or manager: they are not looked up (links=False).
        return self.services.people.search(wanted, order, start, min(count, MAX_COUNT), False)

    def get(self, person_id: str) -> Person:
        """Return a person in scope; NotFound otherwise."""
        return self._reach(person_id, "view")

    def may(self, action: Action, person: Person) -> bool:
        """Return whether this administrator may do ``action`` to a person (for the pages)."""
        if not self.admin.sees(person):
            return False
        held = self.console.grants.of(person.login_id) if action != "view" else frozenset()
        return self.admin.may(action, person, held)

    def unlock(self, person_id: str) -> Person:
        """Lift a lock from failed sign-ins; return the person as they were."""
        person = self._reach(person_id, "unlock")
        with self._acting():
            self.services.passwords.unlock(person, self.admin.login_id)
        self.services.outcomes.unlock()
        return person

    def reset(self, person_id: str) -> str:
        """Set and return a temporary password, which must be changed at next sign-in."""
        person = self._reach(person_id, "reset")
        with self._acting():
            return self.services.passwords.reset(person, self.admin.login_id)

    def print_card(self, person_id: str) -> Card:
        """Give a P1-3 child a temporary password and new pre-set answers; return their card.

        What the card says is shown only this once: the directory keeps the answers hashed.
        """
        person = self._reach(person_id, "print_card")
        check_level(person, CARD_LEVELS, CARDS_ONLY)
        with self._acting(), self.trail.change("card.print", person.id):
            temporary = self.services.passwords.reset(person, self.admin.login_id)
            answers = self._preset_answers(person)
        return _card(person, temporary, answers)

    def _preset_answers(self, person: Person) -> tuple[tuple[str, str], ...]:
        """Store new easy answers for a child (hashed); return (question, answer) for the card."""
        questions = self.console.card_questions
        state = self.services.answers.find(person.login_id) if questions else None
        if state is None:
            return ()
        chosen = preset_answers([qid for qid, _ in questions])
        self.services.answers.set_answers(
            state.key, [hash_answer(qid, answer) for qid, answer in chosen.items()]
        )
        return tuple((text, chosen[qid]) for qid, text in questions)

    def start_year(self, person_id: str) -> Card:
        """Do the P4-6 start-of-year reset of one child; return their slip.

        A temporary password they must change at next sign-in, and new challenge answers to
        choose then; both audited with the administrator as actor.
        """
        person = self._reach(person_id, "reset")
        check_level(person, START_YEAR_LEVELS, START_YEAR_ONLY)
        with self._acting():
            temporary = self.services.passwords.reset(person, self.admin.login_id)
            state = self.services.answers.find(person.login_id)
            if state is not None:
                self.services.answers.start_year(state.key)
        return _card(person, temporary, ())

    def clear_answers(self, person_id: str) -> Person:
        """Forget the person's challenge answers: they choose new ones at next sign-in."""
        person = self._reach(person_id, "clear_answers")
        with self._acting():
            state = self.services.answers.find(person.login_id)
            if state is None:
                raise NotFound(NOT_FOUND)
            self.services.answers.clear_answers(state.key)
        return person

    def disable(self, person_id: str) -> Person:
        """Disable an account (it cannot sign in anywhere); return it as it is now."""
        return self._set_disabled(person_id, True)

    def enable(self, person_id: str) -> Person:
        """Enable an account an administrator disabled; return it as it is now."""
        return self._set_disabled(person_id, False)

    def _set_disabled(self, person_id: str, disabled: bool) -> Person:
        person = self._reach(person_id, "disable" if disabled else "enable")
        with self._acting():
            return self.services.people.update(person.id, PersonChange(disabled=disabled))

    def history(self, person_id: str, limit: int = HISTORY) -> list[Event]:
        """Return the latest audit events about a person in scope, newest first."""
        person = self._reach(person_id, "view")
        source = self.console.history_source
        if source is None:
            return []
        keys = {person.id.lower(), str(person.login_id).lower()}
        about = [e for e in source.events() if e.target.lower() in keys or e.login.lower() in keys]
        return list(reversed(about[-limit:]))


def check_level(person: Person, levels: tuple[str, ...], words: str) -> None:
    """Refuse (InvalidValue) a person whose level is not one of ``levels``."""
    if not any(same_name(person.level, level) for level in levels):
        raise InvalidValue(f"{words}; {person.full_name} is in {person.level or 'no level'}")


def _card(person: Person, password: str, answers: tuple[tuple[str, str], ...]) -> Card:
    """Return what one child's card or slip says."""
    return Card(
        name=person.display_name or person.full_name,
        class_name=" ".join(filter(None, [person.level, person.class_name])),
        login_id=str(person.login_id),
        password=password,
        answers=answers,
    )


def _words(action: Action) -> str:
    return action.replace("_", " ").replace("print card", "print the card of")
