"""The attributes LDAP consumers read on a person, and staff in several schools.

displayName, o, ou, employeeType follow the fields they come from in the same modify as those
fields (slapd's accesslog counts the writes to the entry); SCIM's department and organization
keep attributes of their own.
"""

from __future__ import annotations

import ldap3
import pytest

from bridge.core.people import NewPerson, Person, PersonChange
from bridge.core.query import Compare
from bridge.directory import dn
from bridge.directory.people import PeopleStore
from bridge.errors import InvalidValue
from tests.support.directory import SUFFIX

CLEMENTI = "Clementi Primary School"
BEDOK = "Bedok Secondary School"
TAMPINES = "Tampines Primary School"
CONSUMER_VIEW = [
    "displayName",
    "givenName",
    "sn",
    "o",
    "ou",
    "employeeType",
    "title",
    "mimsDepartment",
    "mimsOrganization",
    "mimsOtherSchool",
]


@pytest.fixture
def people(people_store: PeopleStore) -> PeopleStore:
    return people_store


def student(name: str = "Mary Tan", **fields: str) -> NewPerson:
    values = {"school": CLEMENTI, "level": "P4", "class_name": "4A"} | fields
    return NewPerson(full_name=name, role="student", external_id=f"T-{name}", **values)


def teacher(*schools: str, **fields: str) -> NewPerson:
    return NewPerson(
        full_name="Siti Rahmah",
        given_name="Siti",
        family_name="Rahmah",
        role="staff",
        external_id="S-1",
        school=schools[0] if schools else None,
        other_schools=frozenset(schools[1:]),
        department="Mathematics",
        title="Head of Mathematics",
        **fields,
    )


def entry_of(person: Person) -> str:
    return dn.person_dn(person.login_id.local, person.role, SUFFIX)


def seen(admin: ldap3.Connection, person: Person) -> dict[str, list[str]]:
    """Return what an LDAP consumer reads of the person: the attributes above, as stored."""
    admin.search(entry_of(person), "(objectClass=*)", ldap3.BASE, attributes=CONSUMER_VIEW)
    raw = admin.response[0]["raw_attributes"]
    return {name: [value.decode() for value in values] for name, values in raw.items() if values}


def modifies_of(admin: ldap3.Connection, person: Person | str) -> int:
    """Return how many modifies slapd's accesslog holds for the person's entry (or this DN).

    The log outlives the tests' people: count before and after.
    """
    entry = person if isinstance(person, str) else entry_of(person)
    admin.search(
        "cn=accesslog",
        f"(&(objectClass=auditModify){dn.equals('reqDN', entry)})",
        ldap3.LEVEL,
        attributes=["1.1"],
    )
    return len(admin.response)


def test_a_student_carries_what_consumers_read(people: PeopleStore, admin) -> None:
    mary = people.create(student(given_name="Mary", family_name="Tan"))
    assert seen(admin, mary) == {
        "displayName": ["Mary Tan"],  # the full name, as none was given
        "givenName": ["Mary"],
        "sn": ["Tan"],
        "o": [CLEMENTI],
        "ou": ["4A"],  # a student's class
        "employeeType": ["student"],
    }
    assert mary.display_name is None  # the derived displayName is not one the client gave


def test_staff_carry_department_title_and_the_clients_organization(
    people: PeopleStore, admin
) -> None:
    siti = people.create(teacher(CLEMENTI, organization="MOE", display_name="Cikgu Siti"))
    assert seen(admin, siti) == {
        "displayName": ["Cikgu Siti"],
        "givenName": ["Siti"],
        "sn": ["Rahmah"],
        "o": [CLEMENTI],
        "ou": ["Mathematics"],  # staff's department
        "employeeType": ["staff"],
        "title": ["Head of Mathematics"],
        "mimsDepartment": ["Mathematics"],
        "mimsOrganization": ["MOE"],
    }
    assert (siti.department, siti.organization, siti.title, siti.display_name) == (
        "Mathematics",
        "MOE",
        "Head of Mathematics",
        "Cikgu Siti",
    )


def test_a_student_keeps_a_department_the_client_sent_though_ou_is_the_class(
    people: PeopleStore, admin
) -> None:
    mary = people.create(student(department="Primary 4 cohort", organization="MOE"))
    assert (mary.department, mary.organization) == ("Primary 4 cohort", "MOE")
    assert seen(admin, mary)["ou"] == ["4A"]


@pytest.mark.parametrize(
    ("change", "moved"),
    [
        (PersonChange(school=BEDOK, level="S1", class_name="1B"), {"o": [BEDOK], "ou": ["1B"]}),
        (PersonChange(class_name="4B"), {"ou": ["4B"]}),
        (PersonChange(full_name="Mary Lim"), {"displayName": ["Mary Lim"], "sn": ["Mary Lim"]}),
        (PersonChange(display_name="Mei"), {"displayName": ["Mei"]}),
        (PersonChange(department="Art"), {"mimsDepartment": ["Art"]}),  # ou stays the class
    ],
)
def test_derived_attributes_follow_their_fields_in_the_same_modify(
    people: PeopleStore, admin, change: PersonChange, moved: dict[str, list[str]]
) -> None:
    mary = people.create(student())
    before, writes = seen(admin, mary), modifies_of(admin, mary)
    people.update(mary.id, change)
    after = seen(admin, mary)
    assert {name: values for name, values in after.items() if before.get(name) != values} == moved
    assert modifies_of(admin, mary) == writes + 1


def test_a_cleared_display_name_falls_back_to_the_full_name(people: PeopleStore, admin) -> None:
    mary = people.create(student(display_name="Mei"))
    cleared = people.update(mary.id, PersonChange(display_name=None))
    assert seen(admin, mary)["displayName"] == ["Mary Tan"]
    assert cleared.display_name is None


def test_a_change_of_role_changes_employee_type_and_ou_in_one_modify(
    people: PeopleStore, admin
) -> None:
    mary = people.create(student(department="Science"))
    writes = modifies_of(admin, dn.person_dn("mary_tan", "staff", SUFFIX))
    staff = people.change_role(mary.id, "staff")
    after = seen(admin, staff)
    assert (after["employeeType"], after["ou"]) == (["staff"], ["Science"])
    # After the move: the mail, then the role with the policy, employeeType and ou.
    assert modifies_of(admin, staff) == writes + 2


def test_a_teacher_in_several_schools_is_in_each_school(people: PeopleStore, admin) -> None:
    siti = people.create(teacher(CLEMENTI, BEDOK, TAMPINES))
    assert siti.school == CLEMENTI and siti.other_schools == {BEDOK, TAMPINES}
    assert seen(admin, siti)["o"] == [CLEMENTI, BEDOK, TAMPINES]  # the main one first
    assert siti.groups == (BEDOK, CLEMENTI, TAMPINES)
    for school in (CLEMENTI, BEDOK, TAMPINES):
        assert [p.id for p in people.iter_people(school=school)] == [siti.id]
        assert people.search(Compare("school", "eq", school))[0] == 1
    assert people.search(Compare("other_schools", "eq", BEDOK))[0] == 1
    assert people.search(Compare("school", "eq", "Yishun Primary School"))[0] == 0


def test_a_teacher_leaving_one_school_leaves_its_group_only(people: PeopleStore, admin) -> None:
    siti = people.create(teacher(CLEMENTI, BEDOK, TAMPINES))
    writes = modifies_of(admin, siti)
    moved = people.update(siti.id, PersonChange(other_schools=frozenset({TAMPINES})))
    assert moved.groups == (CLEMENTI, TAMPINES)
    assert people.groups.get_by_name(BEDOK).member_ids == ()
    assert seen(admin, siti)["o"] == [CLEMENTI, TAMPINES]
    assert modifies_of(admin, siti) == writes + 1
    assert [p.id for p in people.iter_people(school=BEDOK)] == []


def test_naming_the_main_school_again_among_the_others_counts_it_once(
    people: PeopleStore, admin
) -> None:
    mary = people.create(student(other_schools=frozenset({CLEMENTI.upper()})))
    assert seen(admin, mary)["o"] == [CLEMENTI]
    assert mary.groups.count(CLEMENTI) == 1
    siti = people.create(teacher(CLEMENTI, BEDOK, BEDOK.lower()))
    assert seen(admin, siti)["o"] == [CLEMENTI, BEDOK]
    assert seen(admin, siti)["mimsOtherSchool"] == [BEDOK]


def test_a_student_in_two_schools_is_refused_and_nothing_is_written(
    people: PeopleStore, admin
) -> None:
    refused = "a student belongs to exactly one school, not 2"
    with pytest.raises(InvalidValue, match=refused):
        people.create(student(other_schools=frozenset({BEDOK})))
    assert list(people.iter_people()) == []
    mary = people.create(student())
    before = seen(admin, mary)
    with pytest.raises(InvalidValue, match=refused):
        people.update(mary.id, PersonChange(other_schools=frozenset({BEDOK})))
    assert seen(admin, mary) == before


def test_a_teacher_in_two_schools_cannot_become_a_student(people: PeopleStore) -> None:
    siti = people.create(teacher(CLEMENTI, BEDOK))
    with pytest.raises(InvalidValue, match="a student belongs to exactly one school"):
        people.change_role(siti.id, "student")
    assert people.get(siti.id).role == "staff"
