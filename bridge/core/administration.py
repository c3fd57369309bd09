"""Who may administer whom: the scopes of administrators' grants and the rules on them.

Three kinds of grant (issue 20, "Who may do what"):

- :class:`AllSchools`: a MIMS administrator, everything, every school, staff and HQ included;
- :class:`School`: a school administrator, the students and staff of that school (a teacher
  in several schools is in scope of each), never HQ people;
- :class:`SchoolClass`: a form teacher, the students of that class, and only the actions of
  :data:`FORM_TEACHER_ACTIONS`.

An administrator may hold several grants; a person is reachable when any of them covers the
person, and an action is allowed when a grant covering the person allows it. Grants are never
managed through a scope (only by the ``mims admin`` command on the server), and an
administrator never acts on another administrator whose grants reach further than their own
(:meth:`Administrator.may`), so nobody takes over broader privileges by a password reset.

Plain values: no LDAP, no HTTP. The directory stores grants (``Grants`` port) and answers
:func:`scope_query` in its own filter, so searches are scoped and paged by the directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from bridge.core.people import Person
from bridge.core.query import NOTHING, And, Compare, Query, any_of
from bridge.errors import InvalidValue

__all__ = [
    "ACTIONS",
    "FORM_TEACHER_ACTIONS",
    "Action",
    "Administrator",
    "AllSchools",
    "Kind",
    "School",
    "SchoolClass",
    "Scope",
    "kind_of",
    "parse_class",
    "same_name",
    "scope_label",
    "scope_query",
]

Action = Literal["view", "unlock", "reset", "clear_answers", "print_card", "disable", "enable"]
ACTIONS: tuple[Action, ...] = get_args(Action)
# What a form teacher may do for the students of their classes (no disable or enable).
FORM_TEACHER_ACTIONS: frozenset[Action] = frozenset(
    {"view", "unlock", "reset", "clear_answers", "print_card"}
)
Kind = Literal["mims", "school", "class"]


def _key(name: str) -> str:
    """Return a name as the directory compares it (caseIgnoreMatch: case, runs of spaces)."""
    return " ".join(name.split()).casefold()


def same_name(a: str | None, b: str | None) -> bool:
    """Return whether two school or class names are the same to the directory."""
    return a is not None and b is not None and _key(a) == _key(b)


@dataclass(frozen=True, slots=True)
class AllSchools:
    """A MIMS administrator's grant: every person of every school, staff and HQ."""

    def __str__(self) -> str:
        return "all"


@dataclass(frozen=True, slots=True)
class School:
    """A school administrator's grant: the students and staff of one school."""

    name: str

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidValue("a school's name is empty")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, School) and same_name(self.name, other.name)

    def __hash__(self) -> int:
        return hash(("school", _key(self.name)))

    def __str__(self) -> str:
        return f"school {self.name}"


@dataclass(frozen=True, slots=True)
class SchoolClass:
    """A form teacher's grant: the students of one class of one school."""

    school: str
    class_name: str

    def __post_init__(self) -> None:
        if not self.school.strip() or not self.class_name.strip():
            raise InvalidValue('a class is given as "SCHOOL/CLASS", both parts non-empty')

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SchoolClass)
            and same_name(self.school, other.school)
            and same_name(self.class_name, other.class_name)
        )

    def __hash__(self) -> int:
        return hash(("class", _key(self.school), _key(self.class_name)))

    def __str__(self) -> str:
        return f"class {self.school}/{self.class_name}"


Scope = AllSchools | School | SchoolClass


def parse_class(text: str) -> SchoolClass:
    """Return the class ``"SCHOOL/CLASS"`` names (split at the first slash: "3/A" stays whole)."""
    school, slash, class_name = text.partition("/")
    if not slash:
        raise InvalidValue(f'{text!r} is not "SCHOOL/CLASS" (for example "Clementi Primary/4A")')
    return SchoolClass(school.strip(), class_name.strip())


def kind_of(scope: Scope) -> Kind:
    """Return the kind of administrator a grant makes."""
    if isinstance(scope, AllSchools):
        return "mims"
    return "school" if isinstance(scope, School) else "class"


def scope_label(scope: Scope) -> str:
    """Return a grant as one short label: ``all``, ``school:NAME``, ``class:SCHOOL/CLASS``."""
    if isinstance(scope, AllSchools):
        return "all"
    if isinstance(scope, School):
        return f"school:{scope.name}"
    return f"class:{scope.school}/{scope.class_name}"


def covers(scope: Scope, person: Person) -> bool:
    """Return whether one grant reaches a person."""
    if isinstance(scope, AllSchools):
        return True
    if isinstance(scope, School):
        return person.role in ("student", "staff") and any(
            same_name(scope.name, school) for school in person.schools
        )
    return (
        person.role == "student"
        and same_name(scope.school, person.school)
        and same_name(scope.class_name, person.class_name)
    )


def allows(scope: Scope, action: Action) -> bool:
    """Return whether a grant allows an action on the people it reaches."""
    return not isinstance(scope, SchoolClass) or action in FORM_TEACHER_ACTIONS


def _reaches_grant(mine: Scope, theirs: Scope) -> bool:
    """Return whether my grant reaches at least as far as their grant."""
    if isinstance(mine, AllSchools):
        return True
    if isinstance(theirs, AllSchools):
        return False
    if isinstance(mine, School):
        school = theirs.name if isinstance(theirs, School) else theirs.school
        return same_name(mine.name, school)
    return mine == theirs


def scope_query(scopes: Iterable[Scope]) -> Query:
    """Return the people a set of grants reaches, as one core query (NOTHING for none)."""
    parts: list[Query] = []
    for scope in scopes:
        if isinstance(scope, AllSchools):
            return And(())
        if isinstance(scope, School):
            roles = any_of(Compare("role", "eq", "student"), Compare("role", "eq", "staff"))
            parts.append(And((Compare("school", "eq", scope.name), roles)))
        else:
            parts.append(
                And(
                    (
                        Compare("role", "eq", "student"),
                        Compare("school", "eq", scope.school),
                        Compare("class_name", "eq", scope.class_name),
                    )
                )
            )
    return any_of(*parts) if parts else NOTHING


@dataclass(frozen=True)
class Administrator:
    """A signed-in person and the grants they hold."""

    person: Person
    scopes: frozenset[Scope]

    @property
    def login_id(self) -> str:
        """Return the administrator's login ID, as audit events name the actor."""
        return str(self.person.login_id)

    @property
    def kind(self) -> Kind | None:
        """Return the broadest kind of grant held (None: no grant, not an administrator)."""
        kinds = {kind_of(scope) for scope in self.scopes}
        order: tuple[Kind, ...] = ("mims", "school", "class")
        return next((kind for kind in order if kind in kinds), None)

    def sees(self, person: Person) -> bool:
        """Return whether the person is in scope (else they are "not found" to this actor)."""
        return any(covers(scope, person) for scope in self.scopes)

    def may(self, action: Action, person: Person, held: Iterable[Scope] = ()) -> bool:
        """Return whether this administrator may do ``action`` to ``person``.

        ``held`` are the person's own grants: acting on an administrator (other than viewing)
        needs grants that reach at least as far as each of theirs.
        """
        if not any(covers(s, person) and allows(s, action) for s in self.scopes):
            return False
        if action == "view":
            return True
        return all(any(_reaches_grant(mine, theirs) for mine in self.scopes) for theirs in held)

    def query(self) -> Query:
        """Return the people in scope as a core query, for the directory's own filter."""
        return scope_query(self.scopes)
