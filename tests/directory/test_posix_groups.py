"""Groups as NSS sees them: mimsGroup entries with a gidNumber and an NSS name, no empty member."""

from __future__ import annotations

import ldap3
import pytest
from ldap3.core.exceptions import LDAPConstraintViolationResult
from ldap3.utils.dn import escape_rdn

from bridge.core.people import NewPerson, PersonChange
from bridge.core.posix import DEFAULT_RULES
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.service_accounts import ServiceAccountStore
from bridge.services import Services
from tests.support.directory import SUFFIX

GROUPS = f"ou=groups,{SUFFIX}"


def posix_view(admin: ldap3.Connection, name: str) -> dict[str, list[str]]:
    """Return what SSSD reads of a group (rfc2307bis with mimsGroup), as an LDAP client."""
    admin.search(
        f"cn={escape_rdn(name)},{GROUPS}",
        "(objectClass=mimsGroup)",
        ldap3.BASE,
        attributes=["objectClass", "cn", "gidNumber", "mimsPosixName", "member"],
    )
    entry = admin.entries[0]
    return {name: [str(v) for v in entry[name].values] for name in entry.entry_attributes}


def counter(admin: ldap3.Connection) -> int:
    admin.search(
        dn.id_numbers_dn(SUFFIX), "(objectClass=*)", ldap3.BASE, attributes=["mimsNextGidNumber"]
    )
    return int(admin.entries[0].mimsNextGidNumber.value)


def test_managed_and_client_groups_get_a_gid_number_and_an_nss_name(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection
) -> None:
    services.people.create(
        NewPerson(
            full_name="Mary Tan",
            role="student",
            external_id="T1",
            school="Clementi Primary School",
            level="P4",
            class_name="4A",
        )
    )
    people_store.groups.create("3/A", None, [])
    views = {
        name: posix_view(admin, name)
        for name in ("Clementi Primary School", "Clementi Primary School / P4 / 4A", "3/A")
    }
    assert views["Clementi Primary School / P4 / 4A"]["mimsPosixName"] == [
        "clementi-primary-school-p4-4a"
    ]
    assert views["3/A"]["mimsPosixName"] == ["group-3-a"]
    assert views["3/A"]["cn"] == ["3/A"]  # the human name stays
    gids = [int(view["gidNumber"][0]) for view in views.values()]
    assert len(set(gids)) == len(gids)
    assert all(gid in DEFAULT_RULES.gid_numbers for gid in gids)
    assert views["3/A"]["objectClass"] == ["top", "mimsGroup"]
    assert views["3/A"]["member"] == []  # empty: no member value at all (not even "")
    group = people_store.groups.get_by_name("3/A")
    assert (group.posix_name, group.gid_number) == ("group-3-a", gids[-1])


def test_names_nss_cannot_take_still_get_distinct_nss_names(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection
) -> None:
    for name in ("😀", "()", "🎉🎉"):
        people_store.groups.create(name, None, [])
    names = [posix_view(admin, name)["mimsPosixName"][0] for name in ("😀", "()", "🎉🎉")]
    assert names == ["group", "group-2", "group-3"]


def test_a_rename_keeps_the_gid_number_and_the_nss_name(
    people_store: PeopleStore, services: Services
) -> None:
    groups = people_store.groups
    made = groups.create("Chess Club", None, [])
    groups.change(made.id, name="Strategy Games")
    renamed = groups.get(made.id)
    assert renamed.name == "Strategy Games"
    assert (renamed.gid_number, renamed.posix_name) == (made.gid_number, "chess-club")


def test_the_last_member_leaving_leaves_no_member_value(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection
) -> None:
    mary = services.people.create(NewPerson(full_name="Mary Tan", role="staff", external_id="S1"))
    groups = people_store.groups
    made = groups.create("Chess Club", None, [mary.id])
    assert posix_view(admin, "Chess Club")["member"] == [people_store.dn_of(mary.id)]
    groups.change(made.id, remove=[mary.id])
    assert posix_view(admin, "Chess Club")["member"] == []
    groups.change(made.id, replace=[mary.id])
    groups.change(made.id, replace=[])
    assert posix_view(admin, "Chess Club")["member"] == []
    assert services.people.get(mary.id).groups == ()  # memberOf follows mimsGroup's member


def test_an_existing_group_costs_no_gid_number(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection
) -> None:
    groups = people_store.groups
    groups.ensure("school", "Clementi Primary School")
    before = counter(admin)
    fresh = type(groups)(groups.directory, groups.suffix)  # another process: nothing known
    fresh.ensure("school", "Clementi Primary School")
    assert counter(admin) == before


@pytest.mark.parametrize("attribute", ["mimsPosixName", "gidNumber"])
def test_the_directory_refuses_a_second_group_with_the_same_posix_identity(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection, attribute: str
) -> None:
    made = people_store.groups.create("Chess Club", None, [])
    value = str(made.posix_name if attribute == "mimsPosixName" else made.gid_number)
    copy = {"cn": "Copy", attribute: value}
    with pytest.raises(LDAPConstraintViolationResult):
        admin.add(f"cn=Copy,{GROUPS}", ["mimsGroup"], copy)


def test_no_entry_anywhere_holds_an_empty_member_value(
    directory: LdapClient, people_store: PeopleStore, admin: ldap3.Connection
) -> None:
    """People's groups emptied by a move, and service roles emptied by a revoke."""
    person = people_store.create(
        NewPerson(full_name="Mary Tan", role="student", school="Clementi", level="P4")
    )
    accounts = ServiceAccountStore(directory, SUFFIX)
    accounts.create("wifi", "reader", "a-long-service-secret-1234")
    people_store.update(person.id, PersonChange(school="Bedok", level="P5"))
    accounts.revoke("wifi")
    admin.search(SUFFIX, "(|(member=)(uniqueMember=))", ldap3.SUBTREE, attributes=["1.1"])
    assert [entry.entry_dn for entry in admin.entries] == []
    admin.search(dn.roles_base(SUFFIX), "(!(member=*))", ldap3.LEVEL, attributes=["cn"])
    assert {str(entry.cn) for entry in admin.entries} >= {"reader"}  # empty, and still there
