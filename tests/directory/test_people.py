"""The LDAP writer: people created, read, changed, renamed and moved in the real directory."""

from __future__ import annotations

from typing import Any

import ldap3
import pytest

from bridge.core.naming import LoginId
from bridge.core.people import NewPerson, PersonChange
from bridge.core.posix import DEFAULT_RULES
from bridge.core.query import Compare, Sort
from bridge.directory.people import PeopleStore
from bridge.errors import AlreadyExists, InvalidValue, NotFound, PreconditionFailed
from tests.support.directory import SUFFIX

STUDENTS = f"ou=students,ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"


@pytest.fixture
def people(people_store: PeopleStore) -> PeopleStore:
    return people_store


def student(name: str, external_id: str, **fields: str) -> NewPerson:
    values = {"school": "Clementi Primary School", "level": "P4", "class_name": "4A"} | fields
    return NewPerson(full_name=name, role="student", external_id=external_id, **values)


def test_create_derives_the_login_id_from_the_name(people: PeopleStore, admin) -> None:
    person = people.create(student("Muhammad Ali Bin Muhammad Raihan", "T1"))
    assert str(person.login_id) == "muhammad_ali_muhammad_raihan@students.edu.sg"
    admin.search(STUDENTS, "(uid=muhammad_ali_muhammad_raihan)", attributes=["mail", "entryUUID"])
    assert admin.entries[0].mail.value == "muhammad_ali_muhammad_raihan@students.edu.sg"
    assert admin.entries[0].entryUUID.value == person.id


def test_namesakes_get_suffixes_in_order_of_creation(people: PeopleStore) -> None:
    ids = [str(people.create(student("Jon Tan", f"T{i}")).login_id) for i in range(4)]
    assert ids == [
        "jon_tan@students.edu.sg",
        "jon_tan_1@students.edu.sg",
        "jon_tan_2@students.edu.sg",
        "jon_tan_3@students.edu.sg",
    ]


def test_a_deleted_namesake_id_is_not_handed_out_again_past_the_highest(
    people: PeopleStore,
) -> None:
    first, second, third = (people.create(student("Mary Tan", f"T{i}")) for i in range(3))
    people.delete(second.id)
    fourth = people.create(student("Mary Tan", "T3"))
    assert str(fourth.login_id) == "mary_tan_3@students.edu.sg"


def test_roles_have_their_own_domain_and_share_the_uids(people: PeopleStore) -> None:
    """A uid names one person in every role: namesakes in other roles take the next suffix."""
    staff = people.create(NewPerson(full_name="Mary Tan", role="staff", external_id="F1"))
    hq = people.create(NewPerson(full_name="Mary Tan", role="hq", external_id="H1"))
    pupil = people.create(student("Mary Tan", "S1"))
    assert (str(staff.login_id), str(hq.login_id), str(pupil.login_id)) == (
        "mary_tan@schools.gov.sg",
        "mary_tan_1@hq.moe.gov.sg",
        "mary_tan_2@students.edu.sg",
    )


def test_a_uid_taken_in_another_role_is_refused_by_the_directory(people: PeopleStore) -> None:
    """The unique overlay keeps uid unique across role OUs, also for a chosen login ID."""
    people.create(student("Tan Mei Ling", "S1"))
    chosen = LoginId.parse("tan_mei_ling@schools.gov.sg")
    with pytest.raises(AlreadyExists):
        people.create(NewPerson(full_name="Tan Mei Ling", role="staff", login_id=chosen))


def test_a_clash_of_external_id_is_not_taken_for_a_clash_of_uid(people: PeopleStore) -> None:
    people.create(student("Mary Tan", "S1"))
    with pytest.raises(AlreadyExists):
        people.create(NewPerson(full_name="John Lim", role="staff", external_id="S1"))


def test_a_chosen_login_id_is_kept_and_checked(people: PeopleStore) -> None:
    chosen = LoginId.parse("mary.tan.2014@students.edu.sg")
    person = people.create(
        NewPerson(full_name="Mary Tan", role="student", login_id=chosen, external_id="A")
    )
    assert person.login_id == chosen
    with pytest.raises(AlreadyExists):
        people.create(
            NewPerson(full_name="Mary Lim", role="student", login_id=chosen, external_id="B")
        )
    with pytest.raises(InvalidValue, match="not a MIMS domain"):
        people.create(
            NewPerson(full_name="X Y", role="student", login_id=LoginId.parse("x@gmail.com"))
        )
    with pytest.raises(InvalidValue, match="must end with @students.edu.sg"):
        people.create(
            NewPerson(full_name="X Y", role="student", login_id=LoginId.parse("x@schools.gov.sg"))
        )


def test_an_external_id_names_one_person(people: PeopleStore) -> None:
    people.create(student("Mary Tan", "SAME"))
    with pytest.raises(AlreadyExists):
        people.create(student("Mary Lim", "SAME"))
    assert [p.full_name for _, p in people.find_external(["SAME"]).values()] == ["Mary Tan"]


def test_school_level_and_class_groups_and_member_of(people: PeopleStore, admin) -> None:
    person = people.create(student("Mary Tan", "T1"))
    assert person.groups == (
        "Clementi Primary School",
        "Clementi Primary School / P4",
        "Clementi Primary School / P4 / 4A",
    )
    group = people.groups.get_by_name("Clementi Primary School / P4 / 4A")
    assert (group.kind, group.member_ids) == ("class", (person.id,))
    admin.search(GROUPS, "(cn=Clementi Primary School)", attributes=["member", "objectClass"])
    assert admin.entries[0].objectClass.values == ["top", "mimsGroup"]


def test_moving_school_keeps_the_entry_and_moves_groups(people: PeopleStore, admin) -> None:
    person = people.create(student("Mary Tan", "T1"))
    moved = people.update(
        person.id, PersonChange(school="Bedok Secondary School", level="S1", class_name="1B")
    )
    assert (moved.id, moved.login_id) == (person.id, person.login_id)
    assert moved.groups == (
        "Bedok Secondary School",
        "Bedok Secondary School / S1",
        "Bedok Secondary School / S1 / 1B",
    )
    old = people.groups.get_by_name("Clementi Primary School")
    assert old.member_ids == ()  # empty but kept, without any member value
    admin.search(GROUPS, "(cn=Clementi Primary School)", attributes=["member"])
    assert len(admin.entries) == 1 and admin.entries[0].member.values == []


def test_a_change_that_keeps_the_class_leaves_group_memberships_alone(
    people: PeopleStore, admin
) -> None:
    """A school office that took a pupil out of a class group is not overruled by a rename."""
    person = people.create(student("Mary Tan", "T1"))
    entry = people.dn_of(person.id)
    admin.modify(
        f"cn=Clementi Primary School / P4 / 4A,{GROUPS}",
        {"member": [(ldap3.MODIFY_DELETE, [entry])]},
    )
    renamed = people.update(person.id, PersonChange(display_name="Mary T."))
    assert renamed.groups == ("Clementi Primary School", "Clementi Primary School / P4")


def test_a_name_change_keeps_the_login_id_unless_asked(people: PeopleStore) -> None:
    person = people.create(student("Mary Tan", "T1"))
    renamed = people.update(person.id, PersonChange(full_name="Mary Lim", family_name="Lim"))
    assert (renamed.full_name, renamed.login_id) == ("Mary Lim", person.login_id)
    asked = people.rename_login(person.id)
    assert (asked.id, str(asked.login_id)) == (person.id, "mary_lim@students.edu.sg")
    assert asked.groups == person.groups  # refint followed the rename


def test_a_change_to_a_person_read_before_a_rename_finds_them_again(people: PeopleStore) -> None:
    read = people.create(student("Mary Tan", "T1"))  # what a PATCH read, with its entry's DN
    people.rename_login(read.id, LoginId.parse("mary_lim@students.edu.sg"))  # meanwhile
    changed = people.update(read.id, PersonChange(title="Prefect"), before=read)
    assert (changed.title, str(changed.login_id)) == ("Prefect", "mary_lim@students.edu.sg")
    people.delete(read.id)
    with pytest.raises(NotFound):  # and gone since: not found
        people.update(read.id, PersonChange(title="Monitor"), before=read)


def test_a_role_change_moves_the_entry_and_keeps_its_id(people: PeopleStore) -> None:
    person = people.create(student("Mary Tan", "T1"))
    staff = people.change_role(person.id, "staff")
    assert (staff.id, staff.role, str(staff.login_id)) == (
        person.id,
        "staff",
        "mary_tan@schools.gov.sg",
    )


def test_delete_removes_the_person_and_their_memberships(people: PeopleStore) -> None:
    person = people.create(student("Mary Tan", "T1"))
    people.delete(person.id)
    with pytest.raises(NotFound):
        people.get(person.id)
    assert people.groups.get_by_name("Clementi Primary School").member_ids == ()


def test_iter_people_filters_by_school_and_level(people: PeopleStore) -> None:
    people.create(student("Mary Tan", "T1"))
    people.create(student("Jon Lim", "T2", level="P5", class_name="5A"))
    people.create(student("Ali Bin Osman", "T3", school="Bedok Primary School"))
    names = lambda **kw: sorted(p.full_name for p in people.iter_people(**kw))  # noqa: E731
    assert names() == ["Ali Bin Osman", "Jon Lim", "Mary Tan"]
    assert names(school="Clementi Primary School") == ["Jon Lim", "Mary Tan"]
    assert names(school="Clementi Primary School", level="P5") == ["Jon Lim"]


def test_a_search_without_links_finds_the_same_people_without_their_group_ids(
    people: PeopleStore,
) -> None:
    people.create(student("Mary Tan", "T1"))
    people.create(student("Mary Lim", "T2"))
    wanted = Compare("full_name", "co", "mary")
    linked = people.search(wanted, (Sort("full_name"),))
    bare = people.search(wanted, (Sort("full_name"),), links=False)
    assert bare[0] == linked[0] == 2
    assert [p.full_name for p in bare[1]] == [p.full_name for p in linked[1]]
    assert [p.class_name for p in bare[1]] == ["4A", "4A"]
    assert all(p.group_ids for p in linked[1]) and all(p.group_ids is None for p in bare[1])


HOSTILE = ["*)(uid=*", "a,b=c", "\\", "x)(|(objectClass=*", "#lead", " trail ", "Zoë (Ñ)"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_are_stored_as_text_never_as_syntax(people: PeopleStore, value: str) -> None:
    name = f"Mary {value}"
    person = people.create(student(name, value, school=value, level=value, class_name=value))
    assert person.full_name == " ".join(name.split()) or person.full_name == name
    assert person.external_id == value
    assert [p.id for p in people.iter_people(school=value)] == [person.id]
    assert list(people.find_external([value])) == [value]
    assert people.groups.get_by_name(value).member_ids == (person.id,)
    assert [p.id for p in people.iter_people(school="*")] == []  # a star is a value, not a wildcard


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"full_name": "Mary\0Tan"}, "full_name contains a control character"),
        ({"full_name": "x" * 10_000}, "full_name is longer than 256 characters"),
        ({"school": "s" * 10_000}, "school is longer than 256 characters"),
        ({"full_name": "()"}, "no letters or digits"),
    ],
)
def test_unusable_values_are_refused_and_nothing_is_written(
    people: PeopleStore, fields: dict[str, str], message: str, admin
) -> None:
    values = {"full_name": "Mary Tan", "role": "student", "external_id": "X"} | fields
    with pytest.raises(InvalidValue, match=message):
        people.create(NewPerson(**values))  # type: ignore[arg-type]
    admin.search(f"ou=people,{SUFFIX}", "(objectClass=mimsPerson)", ldap3.SUBTREE)
    assert admin.entries == []


def test_an_unknown_id_is_not_found(people: PeopleStore) -> None:
    with pytest.raises(NotFound):
        people.get("00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        people.get("*")


def test_a_versioned_change_of_a_unique_attribute_is_made_and_a_stale_one_refused(
    people: PeopleStore,
) -> None:
    # slapd's unique overlay fails any assertion control sent with a change to an attribute
    # it guards, so these changes are checked against the version read just before.
    person = people.create(student("Mary Tan", "S1"))
    changed = people.update(
        person.id,
        PersonChange(external_id="S2", user_name="Mary.Tan@Example.org"),
        person.version,
    )
    assert (changed.external_id, changed.user_name) == ("S2", "Mary.Tan@Example.org")
    with pytest.raises(PreconditionFailed):
        people.update(person.id, PersonChange(external_id="S3"), person.version)
    assert people.get(person.id).external_id == "S2"


def test_middle_name_and_honorifics_are_stored(people: PeopleStore) -> None:
    person = people.create(
        NewPerson(
            full_name="Dr Mary Li Tan Jr",
            role="student",
            middle_name="Li",
            honorific_prefix="Dr",
            honorific_suffix="Jr",
        )
    )
    read = people.get(person.id)
    assert (read.middle_name, read.honorific_prefix, read.honorific_suffix) == ("Li", "Dr", "Jr")


POSIX = ["uidNumber", "gidNumber", "homeDirectory", "loginShell", "shadowExpire", "objectClass"]


def posix_of(admin: ldap3.Connection, person_id: str) -> dict[str, Any]:
    admin.search(f"ou=people,{SUFFIX}", f"(entryUUID={person_id})", attributes=POSIX)
    return admin.entries[0].entry_attributes_as_dict


def test_a_new_person_is_a_posix_account_with_a_private_group(
    people: PeopleStore, admin: ldap3.Connection
) -> None:
    person = people.create(student("Mary Tan", "S1"))
    staff = people.create(NewPerson(full_name="Lim Wei", role="staff", external_id="F1"))
    found, other = posix_of(admin, person.id), posix_of(admin, staff.id)
    assert {"posixAccount", "shadowAccount"} <= set(found["objectClass"])
    assert found["uidNumber"] == found["gidNumber"]
    assert int(found["uidNumber"][0]) in DEFAULT_RULES.uid_numbers
    assert int(other["uidNumber"][0]) > int(found["uidNumber"][0])
    assert found["homeDirectory"] == ["/home/mary_tan"]
    assert found["loginShell"] == ["/bin/bash"]
    assert found["shadowExpire"] == []


def test_rename_and_role_change_keep_the_number_and_move_the_home(
    people: PeopleStore, admin: ldap3.Connection
) -> None:
    person = people.create(student("Mary Tan", "S1"))
    number = posix_of(admin, person.id)["uidNumber"]
    people.rename_login(person.id, LoginId.parse("mary.tan@students.edu.sg"))
    people.change_role(person.id, "staff")
    after = posix_of(admin, person.id)
    assert after["uidNumber"] == number == after["gidNumber"]
    assert after["homeDirectory"] == ["/home/mary.tan"]
    assert str(people.get(person.id).login_id) == "mary.tan@schools.gov.sg"


def test_a_rename_onto_a_namesakes_uid_in_another_role_is_refused(people: PeopleStore) -> None:
    people.create(student("Mary Tan", "S1"))
    teacher = people.create(NewPerson(full_name="Mary Tan", role="staff", external_id="F1"))
    assert str(teacher.login_id) == "mary_tan_1@schools.gov.sg"
    with pytest.raises(AlreadyExists):
        people.rename_login(teacher.id, LoginId.parse("mary_tan@schools.gov.sg"))


def test_disabled_people_have_expired_shadow_accounts(
    people: PeopleStore, admin: ldap3.Connection
) -> None:
    person = people.create(student("Mary Tan", "S1"))
    people.update(person.id, PersonChange(disabled=True))
    assert posix_of(admin, person.id)["shadowExpire"] == ["1"]
    people.update(person.id, PersonChange(disabled=False))
    assert posix_of(admin, person.id)["shadowExpire"] == []
    born_disabled = people.create(
        NewPerson(full_name="Lim Wei", role="staff", external_id="F1", disabled=True)
    )
    assert posix_of(admin, born_disabled.id)["shadowExpire"] == ["1"]
