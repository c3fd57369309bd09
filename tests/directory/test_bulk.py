"""The bulk writer's member additions, against the session's slapd."""

from __future__ import annotations

import ldap3

from bridge.directory.bulk import BulkWriter
from bridge.directory.client import LdapClient
from tests.support.directory import SUFFIX


def new_group(admin: ldap3.Connection, name: str) -> str:
    entry = f"cn={name},ou=groups,{SUFFIX}"
    admin.add(entry, attributes={"objectClass": ["mimsGroup"], "cn": [name]})
    return entry


def members_of(admin: ldap3.Connection, entry: str) -> list[str]:
    admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    return sorted(admin.entries[0].member.values)


def test_a_member_named_twice_in_one_call_is_added_once(
    directory: LdapClient, admin: ldap3.Connection
) -> None:
    entry = new_group(admin, "twice")
    pupil = f"uid=tan_wei,ou=students,ou=people,{SUFFIX}"
    spellings = [
        pupil,
        f"UID=Tan_Wei,OU=Students,ou=people,{SUFFIX}",  # DNs compare without regard to case
        f"uid=tan\\5Fwei,ou=students,ou=people,{SUFFIX}",  # nor to escapes (RFC 4514)
    ]
    other = f"uid=lim_mei,ou=students,ou=people,{SUFFIX}"
    assert BulkWriter(directory).add_members([(entry, [*spellings, other])]) == [None]
    assert members_of(admin, entry) == [other, pupil]


def test_a_big_group_gets_every_member_and_other_groups_keep_their_outcomes(
    directory: LdapClient, admin: ldap3.Connection
) -> None:
    big, small = new_group(admin, "big"), new_group(admin, "small")
    missing = f"cn=missing,ou=groups,{SUFFIX}"
    pupils = [f"uid=pupil_{n},ou=students,ou=people,{SUFFIX}" for n in range(251)]
    outcomes = BulkWriter(directory).add_members(
        [(big, pupils), (missing, pupils[:1]), (small, pupils[:3])]
    )
    assert [type(outcome).__name__ for outcome in outcomes] == ["NoneType", "NotFound", "NoneType"]
    assert members_of(admin, big) == sorted(pupils)
    assert members_of(admin, small) == sorted(pupils[:3])
