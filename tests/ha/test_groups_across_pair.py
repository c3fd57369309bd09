"""memberof and refint on both providers: groups and managers agree after replication (issue 21).

Both overlays run on each provider, and each rewrites entries when a person is renamed or
deleted (refint: the groups' member and the reports' manager; memberof: memberOf). The
changes are made on the first through the bridge's core; the second must end with the same
groups, memberOf and manager values, and the two trees must be equal entry by entry.
"""

from __future__ import annotations

import ldap3

from bridge.core.naming import LoginId
from bridge.core.people import NewPerson, PersonChange
from tests.support.directory import admin_connection
from tests.support.replicas import Pair, Provider, wait_in_step
from tests.support.trees import differences, report


def read(provider: Provider, entry_uuid: str, attribute: str) -> tuple[str, list[str]]:
    """Return an entry's DN and the values of one attribute, as the provider holds them."""
    with admin_connection(provider.slapd) as connection:
        connection.search(
            provider.slapd.suffix,
            f"(entryUUID={ldap3.utils.conv.escape_filter_chars(entry_uuid)})",
            attributes=[attribute],
        )
        found = connection.response[0]
        values = [v.decode() for v in found["raw_attributes"].get(attribute, [])]
        return str(found["dn"]).lower(), sorted(v.lower() for v in values)


def assert_trees_equal(pair: Pair) -> None:
    wait_in_step(pair.first, pair.second)
    found = differences(pair.first.slapd, pair.second.slapd)
    assert found == [], report(found)


def test_a_rename_and_a_delete_on_one_provider_leave_both_groups_agreeing(pair: Pair) -> None:
    with pair.first.bridge() as backend:
        people, groups = backend.services.people, backend.services.groups
        teacher = people.create(NewPerson(full_name="Group Teacher", role="staff"))
        pupil = people.create(
            NewPerson(full_name="Group Pupil", role="student", manager_id=teacher.id)
        )
        other = people.create(NewPerson(full_name="Group Other", role="student"))
        club = groups.create("Robotics Club", None, [pupil.id, other.id, teacher.id])
        assert_trees_equal(pair)

        people.rename_login(pupil.id, LoginId.parse("group_pupil_renamed@students.edu.sg"))
        people.rename_login(teacher.id, LoginId.parse("group_teacher_renamed@schools.gov.sg"))
        assert_trees_equal(pair)
        for provider in pair.providers:
            pupil_dn, member_of = read(provider, pupil.id, "memberOf")
            teacher_dn, _ = read(provider, teacher.id, "memberOf")
            club_dn, members = read(provider, club.id, "member")
            assert pupil_dn.startswith("uid=group_pupil_renamed,")
            assert pupil_dn in members and teacher_dn in members
            assert club_dn in member_of
            assert read(provider, pupil.id, "manager")[1] == [teacher_dn]

        people.delete(teacher.id)
        people.update(other.id, PersonChange(class_name="4B"))
        assert_trees_equal(pair)
        for provider in pair.providers:
            pupil_dn, _ = read(provider, pupil.id, "memberOf")
            other_dn, _ = read(provider, other.id, "memberOf")
            assert read(provider, club.id, "member")[1] == sorted([pupil_dn, other_dn])
            assert read(provider, pupil.id, "manager")[1] == []

        groups.delete(club.id)
        assert_trees_equal(pair)
        for provider in pair.providers:
            assert read(provider, pupil.id, "memberOf")[1] == []
