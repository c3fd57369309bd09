"""PersonChange: a typed change to a person's fields, tested with plain values."""

from __future__ import annotations

from dataclasses import fields
from typing import get_type_hints

import pytest

from bridge.core.naming import LoginId
from bridge.core.people import (
    PERSON_FIELDS,
    UNCHANGED,
    InvalidField,
    NewPerson,
    Person,
    PersonChange,
    PersonFields,
    Unchanged,
    change_between,
    check_change,
)

MARY = Person(
    id="0b6c1f3e-0000-4000-8000-000000000001",
    login_id=LoginId("mary_tan", "students.edu.sg"),
    full_name="Mary Tan",
    given_name="Mary",
    family_name="Tan",
    role="student",
    school="Clementi Primary School",
    level="P3",
    class_name="3A",
    version="csn-1",
)


def test_every_settable_field_is_in_the_change_with_its_type_or_unchanged() -> None:
    settable = {f.name for f in fields(PersonFields)} - {"role"}
    assert set(PERSON_FIELDS) == settable == {f.name for f in fields(PersonChange)}
    stored, change = get_type_hints(PersonFields), get_type_hints(PersonChange)
    assert {name: change[name] for name in PERSON_FIELDS} == {
        name: stored[name] | Unchanged for name in PERSON_FIELDS
    }


def test_an_empty_change_sets_nothing_and_leaves_a_person_as_they_are() -> None:
    change = PersonChange()
    assert (change.changed(), change.items()) == ((), [])
    assert change.applied_to(MARY) == MARY
    assert repr(change.school) == "UNCHANGED"


def test_a_change_names_what_it_sets_including_clearing_and_false() -> None:
    change = PersonChange(level="P4", class_name=None, disabled=False, manager_id="m-1")
    assert change.changed() == ("level", "class_name", "disabled", "manager_id")
    assert change.items() == [
        ("level", "P4"),
        ("class_name", None),
        ("disabled", False),
        ("manager_id", "m-1"),
    ]


def test_applying_a_change_keeps_the_kind_of_person_and_everything_else() -> None:
    after = PersonChange(level="P4", class_name=None, disabled=True).applied_to(MARY)
    assert isinstance(after, Person)
    assert (after.level, after.class_name, after.disabled) == ("P4", None, True)
    assert (after.id, after.login_id, after.school, after.version) == (
        MARY.id,
        MARY.login_id,
        MARY.school,
        MARY.version,
    )
    assert MARY.level == "P3"  # the person itself is a value: untouched


def test_the_change_between_a_person_and_a_wanted_state_holds_only_what_differs() -> None:
    wanted = PersonChange(
        full_name="Mary Tan", school="Clementi Primary School", level="P4", given_name=None
    )
    assert change_between(MARY, wanted) == PersonChange(level="P4", given_name=None)
    assert change_between(MARY, PersonChange(full_name="Mary Tan")) == PersonChange()
    assert change_between(MARY, PersonChange(manager_id=None)) == PersonChange()


def test_applying_the_change_between_reaches_the_wanted_state() -> None:
    wanted = PersonChange.setting(
        NewPerson(full_name="Mary Lim", family_name="Lim", role="student", school="Bedok")
    )
    assert change_between(MARY, wanted).changed() == (
        "full_name",
        "given_name",
        "family_name",
        "school",
        "level",
        "class_name",
    )
    after = change_between(MARY, wanted).applied_to(MARY)
    assert change_between(after, wanted) == PersonChange()


def test_setting_takes_the_named_fields_of_a_person() -> None:
    assert PersonChange.setting(MARY, ["school", "level"]) == PersonChange(
        school="Clementi Primary School", level="P3"
    )
    assert PersonChange.setting(MARY).changed() == PERSON_FIELDS


def test_a_new_person_is_made_from_a_change_that_names_them() -> None:
    change = PersonChange(full_name="Mary Tan", school="Bedok", disabled=True)
    new = NewPerson.from_change(change, "staff", password="secret")
    assert (new.full_name, new.role, new.school, new.disabled, new.password) == (
        "Mary Tan",
        "staff",
        "Bedok",
        True,
        "secret",
    )
    with pytest.raises(InvalidField, match="full_name"):
        NewPerson.from_change(PersonChange(school="Bedok"), "student")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (PersonChange(full_name="  "), "full_name is empty"),
        (PersonChange(school="x" * 257), "school is longer than 256 characters"),
        (PersonChange(given_name="Ma\nry"), "given_name contains a control character"),
        (PersonChange(display_name="Mary\x7f"), "display_name contains a control character"),
    ],
)
def test_text_no_directory_should_hold_is_refused(change: PersonChange, reason: str) -> None:
    with pytest.raises(InvalidField, match=reason):
        check_change(change)


def test_fields_a_change_leaves_alone_are_not_checked() -> None:
    check_change(PersonChange())
    check_change(PersonChange(school="x" * 256, class_name=None, disabled=True))
    assert PersonChange().full_name is UNCHANGED
