"""The rules of "who may do what" (issue 20), on plain values."""

from __future__ import annotations

import pytest

from bridge.core.administration import (
    ACTIONS,
    FORM_TEACHER_ACTIONS,
    Administrator,
    AllSchools,
    School,
    SchoolClass,
    Scope,
    parse_class,
    scope_label,
)
from bridge.core.naming import LoginId
from bridge.core.people import Person, Role
from bridge.errors import InvalidValue


def person(
    role: Role, school: str | None = None, class_name: str | None = None, *others: str
) -> Person:
    domain = {"student": "students.edu.sg", "staff": "schools.gov.sg", "hq": "moe.gov.sg"}[role]
    return Person(
        id="x",
        login_id=LoginId.parse(f"someone@{domain}"),
        full_name="Someone",
        role=role,
        school=school,
        class_name=class_name,
        other_schools=frozenset(others),
    )


def admin(*scopes: Scope) -> Administrator:
    return Administrator(person("staff", "Clementi"), frozenset(scopes))


STUDENT_4A = person("student", "Clementi", "4A")
STUDENT_4B = person("student", "Clementi", "4B")
OTHER_SCHOOL_STUDENT = person("student", "Bedok", "4A")
TEACHER = person("staff", "Clementi")
TEACHER_OF_TWO = person("staff", "Bedok", None, "Clementi")
HQ = person("hq")

MIMS, SCHOOL, FORM = AllSchools(), School("clementi "), SchoolClass("CLEMENTI", "4a")


@pytest.mark.parametrize(
    ("scope", "target", "sees"),
    [
        (MIMS, HQ, True),
        (MIMS, OTHER_SCHOOL_STUDENT, True),
        (SCHOOL, STUDENT_4A, True),
        (SCHOOL, TEACHER, True),
        (SCHOOL, TEACHER_OF_TWO, True),  # in scope of each of their schools
        (SCHOOL, OTHER_SCHOOL_STUDENT, False),
        (SCHOOL, HQ, False),
        (FORM, STUDENT_4A, True),
        (FORM, STUDENT_4B, False),
        (FORM, OTHER_SCHOOL_STUDENT, False),
        (FORM, TEACHER, False),
    ],
)
def test_who_each_grant_sees(scope: Scope, target: Person, sees: bool) -> None:
    assert admin(scope).sees(target) is sees
    assert all(admin(scope).may(action, target) is sees for action in FORM_TEACHER_ACTIONS)


@pytest.mark.parametrize("action", ACTIONS)
def test_a_form_teacher_may_not_disable_or_enable(action: str) -> None:
    allowed = action in ("view", "unlock", "reset", "clear_answers", "print_card")
    assert admin(FORM).may(action, STUDENT_4A) is allowed  # type: ignore[arg-type]
    assert admin(SCHOOL).may(action, STUDENT_4A)  # type: ignore[arg-type]


def test_the_actions_follow_the_grant_that_reaches_the_person() -> None:
    both = admin(School("Bedok"), FORM)
    assert both.may("disable", OTHER_SCHOOL_STUDENT)
    assert not both.may("disable", STUDENT_4A)
    assert both.may("reset", STUDENT_4A)


def test_nobody_acts_on_an_administrator_who_reaches_further() -> None:
    assert not admin(SCHOOL).may("reset", TEACHER, held=[MIMS])
    assert not admin(SCHOOL).may("reset", TEACHER_OF_TWO, held=[School("Bedok")])
    assert admin(SCHOOL).may("view", TEACHER, held=[MIMS])
    assert admin(SCHOOL).may("reset", TEACHER, held=[FORM])
    assert admin(MIMS).may("reset", TEACHER, held=[MIMS])


def test_names_compare_as_the_directory_compares_them() -> None:
    assert School("Clementi  Primary") == School("clementi primary")
    assert len({SchoolClass("A", "4a"), SchoolClass("a", "4A")}) == 1


def test_a_class_is_split_at_the_first_slash() -> None:
    assert parse_class("Clementi/3/A") == SchoolClass("Clementi", "3/A")
    assert scope_label(parse_class(" Clementi / 4A ")) == "class:Clementi/4A"
    with pytest.raises(InvalidValue):
        parse_class("4A")
    with pytest.raises(InvalidValue):
        parse_class("Clementi/")


def test_no_grant_sees_nobody() -> None:
    assert not admin().sees(STUDENT_4A)
    assert admin().kind is None
    assert admin(FORM, SCHOOL).kind == "school"
