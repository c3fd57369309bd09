"""Parents' requests in plain values: the form's rules, matching, scope, expiry and order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bridge.core.administration import AllSchools, School, SchoolClass
from bridge.core.naming import LoginId
from bridge.core.people import Person
from bridge.core.request_desk import sees
from bridge.core.reset_requests import (
    InvalidRequest,
    ResetRequest,
    Resolution,
    due_to_expire,
    matches,
    of_classes,
    of_schools,
    oldest_first,
    read_contact,
    read_form,
    read_reason,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CLEMENTI = "Clementi Primary School"


def request(
    name: str = "Tan Mei Ling", school: str = CLEMENTI, klass: str = "4A", **kw: object
) -> ResetRequest:
    values: dict[str, object] = {
        "id": "r1",
        "child_name": name,
        "school": school,
        "class_name": klass,
        "contact": "91234567",
        "created": T0,
    }
    return ResetRequest(**(values | kw))  # type: ignore[arg-type]


def child(name: str, klass: str = "4A", school: str = CLEMENTI, role: str = "student") -> Person:
    local = name.lower().replace(" ", "_").replace("é", "e")
    return Person(
        id=f"id-{local}-{klass}",
        login_id=LoginId.parse(f"{local}@students.edu.sg"),
        full_name=name,
        role=role,  # type: ignore[arg-type]
        school=school,
        class_name=klass,
    )


@pytest.mark.parametrize(
    "contact",
    ["91234567", "+65 9123 4567", "(065) 6123-4567", "mum@example.org", "a.b+c@school.edu.sg"],
)
def test_a_phone_or_an_e_mail_is_a_contact(contact: str) -> None:
    assert read_contact(f"  {contact} ") == contact


@pytest.mark.parametrize(
    "contact", ["", "call me", "12345", "1" * 16, "mum@", "mum@example", "@example.org", None, 7]
)
def test_anything_else_is_refused_naming_the_contact(contact: object) -> None:
    with pytest.raises(InvalidRequest) as refused:
        read_contact(contact)
    assert refused.value.field == "contact"


def test_a_form_is_tidied_and_each_field_is_checked() -> None:
    form = read_form("  Tan   Mei Ling ", CLEMENTI, " 4A", "91234567")
    assert (form.child_name, form.class_name) == ("Tan Mei Ling", "4A")
    for fields, name in (
        (("", CLEMENTI, "4A", "91234567"), "childName"),
        (("Ali", "x" * 129, "4A", "91234567"), "school"),
        (("Ali", CLEMENTI, "4\x00A", "91234567"), "class"),
    ):
        with pytest.raises(InvalidRequest) as refused:
            read_form(*fields)
        assert refused.value.field == name
    with pytest.raises(InvalidRequest):
        read_reason("   ")


def test_matching_ignores_accents_case_punctuation_and_the_order_of_names() -> None:
    people = [
        child("Tan Mei-Ling", "5B"),
        child("Tan Mei Ling", "4A"),
        child("Chloé Lim", "4A"),
        child("Tan Mei Ling", "4A", school="Bukit Timah Primary School"),
        child("Tan Mei Ling", "4A", role="staff"),
        child("Tan Mei", "4A"),
    ]
    found = matches(request("MEI LING tan", "clementi primary school", "4 a"), people)
    assert [(m.person.full_name, m.person.class_name, m.same_class) for m in found] == [
        ("Tan Mei Ling", "4A", True),
        ("Tan Mei-Ling", "5B", False),
    ]
    assert [m.person.full_name for m in matches(request("chloe lim"), people)] == ["Chloé Lim"]


def test_a_school_sees_its_requests_and_a_form_teacher_only_forwarded_ones_of_the_class() -> None:
    waiting = request(school="CLEMENTI primary school.")
    forwarded = request(status="forwarded", klass="4 a")
    assert sees(frozenset({School(CLEMENTI)}), waiting)
    assert not sees(frozenset({School("Bukit Timah Primary School")}), waiting)
    assert sees(frozenset({AllSchools()}), request(school="Unknown School"))
    teacher = frozenset({SchoolClass(CLEMENTI, "4A")})
    assert not sees(teacher, waiting) and sees(teacher, forwarded)
    assert not sees(frozenset({SchoolClass(CLEMENTI, "5B")}), forwarded)


def test_requests_expire_after_the_days_given_unless_settled() -> None:
    assert not due_to_expire(request(), T0 + timedelta(days=14, seconds=-1), 14)
    assert due_to_expire(request(), T0 + timedelta(days=14), 14)
    done = request().settled(Resolution("reject", "siti@schools.gov.sg", T0, reason="no"))
    assert done.status == "rejected" and not due_to_expire(done, T0 + timedelta(days=99), 14)
    assert request(status="forwarded").waiting


def test_the_queue_is_oldest_first_and_filters_by_school_or_class() -> None:
    late = request(id="b", created=T0 + timedelta(hours=1))
    early = request(id="a", school="Bukit Timah Primary School")
    assert [r.id for r in oldest_first([late, early])] == ["a", "b"]
    assert of_schools([late, early], ["clementi primary school"]) == [late]
    assert of_classes([late, early], [(CLEMENTI, "4 A")]) == [late]
