"""Groups' e-mail addresses and NSS names against the session slapd: made in the group's own
add, unique in the whole tree (the unique overlay), kept across renames."""

from __future__ import annotations

import re
import threading

import ldap3
import pytest
from ldap3.utils.dn import escape_rdn

from bridge.core.people import NewPerson
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.errors import AlreadyExists
from bridge.services import Services
from tests.support.directory import SUFFIX

GROUPS = f"ou=groups,{SUFFIX}"
STAFF = f"ou=staff,ou=people,{SUFFIX}"
DOMAIN = "groups.schools.gov.sg"


def group_entry(admin: ldap3.Connection, name: str) -> tuple[list[str], list[str], list[str]]:
    """Return a group's object classes, addresses and NSS names, as an LDAP client sees them."""
    admin.search(
        f"cn={escape_rdn(name)},{GROUPS}",
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["objectClass", "mail", "mimsPosixName"],
    )
    entry = admin.entries[0]
    return list(entry.objectClass.values), list(entry.mail.values), entry.mimsPosixName.values


def test_school_level_and_class_groups_get_their_addresses_as_people_arrive(
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
    for name, local in [
        ("Clementi Primary School", "clementi-primary-school"),
        ("Clementi Primary School / P4", "clementi-primary-school-p4"),
        ("Clementi Primary School / P4 / 4A", "clementi-primary-school-p4-4a"),
    ]:
        classes, mail, posix_name = group_entry(admin, name)
        assert classes == ["top", "mimsGroup"]
        assert mail == [f"{local}@{DOMAIN}"]
        assert posix_name == [local]
    group = people_store.groups.get_by_name("Clementi Primary School / P4 / 4A")
    assert group.address == f"clementi-primary-school-p4-4a@{DOMAIN}"


def test_names_that_slug_the_same_get_distinct_addresses(
    people_store: PeopleStore, services: Services
) -> None:
    groups = people_store.groups
    for name in ("Chess Club", "Chess-Club", "CHESS_CLUB!"):
        groups.create(name, None, [])
    assert [groups.get_by_name(n).address for n in ("Chess Club", "Chess-Club", "CHESS_CLUB!")] == [
        f"chess-club@{DOMAIN}",
        f"chess-club-2@{DOMAIN}",
        f"chess-club-3@{DOMAIN}",
    ]
    # A name whose own slug looks suffixed takes it while free; later namesakes go past it.
    groups.create("Chess Club 4", None, [])
    groups.create("Chess Club?", None, [])
    assert groups.get_by_name("Chess Club 4").address == f"chess-club-4@{DOMAIN}"
    assert groups.get_by_name("Chess Club?").address == f"chess-club-5@{DOMAIN}"


def test_a_group_name_already_taken_is_refused_and_nothing_is_written(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection
) -> None:
    groups = people_store.groups
    groups.create("Chess Club", None, [])
    with pytest.raises(AlreadyExists, match="already exists"):
        groups.create("chess club", None, [])
    admin.search(GROUPS, "(objectClass=mimsGroup)", ldap3.LEVEL, attributes=["mail"])
    assert [e.mail.value for e in admin.entries] == [f"chess-club@{DOMAIN}"]


def test_an_address_a_person_holds_is_never_a_groups(
    people_store: PeopleStore, services: Services, directory: LdapClient, admin: ldap3.Connection
) -> None:
    # A sysadmin's hand-made entry holds the address the group would get first.
    assert admin.add(
        f"uid=chess,{STAFF}",
        ["inetOrgPerson", "mimsPerson"],
        {"uid": "chess", "cn": "Chess", "sn": "Chess", "mail": f"Chess-Club@{DOMAIN}"},
    )
    mary = services.people.create(NewPerson(full_name="Mary Tan", role="staff", external_id="S1"))
    groups = people_store.groups
    groups.create("Chess Club", None, [])
    assert groups.get_by_name("Chess Club").address == f"chess-club-2@{DOMAIN}"
    # Nor can a group be given a person's login ID afterwards: slapd's unique overlay refuses.
    group = f"cn=Chess Club,{GROUPS}"
    steal = {"mail": [(ldap3.MODIFY_REPLACE, [str(mary.login_id)])]}
    with pytest.raises(AlreadyExists):
        directory.run(lambda c: c.modify(group, steal), retry=False)
    assert groups.get_by_name("Chess Club").address == f"chess-club-2@{DOMAIN}"


def test_a_rename_keeps_the_address(people_store: PeopleStore, services: Services) -> None:
    groups = people_store.groups
    groups.create("Chess Club", None, [])
    group = groups.get_by_name("Chess Club")
    groups.change(group.id, name="Strategy Games")
    renamed = groups.get(group.id)
    assert (renamed.name, renamed.address) == ("Strategy Games", f"chess-club@{DOMAIN}")
    groups.create("Chess Club", None, [])  # the old name is free; its address is not
    assert groups.get_by_name("Chess Club").address == f"chess-club-2@{DOMAIN}"


@pytest.mark.parametrize("words", [("Chess", "Club"), ("Go", "Club"), ("Art", "Room")])
def test_namesake_groups_made_at_once_never_share_an_address(
    people_store: PeopleStore, services: Services, directory: LdapClient, words: tuple[str, str]
) -> None:
    # The unique overlay alone let two of these share an address (it checks before it writes).
    groups = people_store.groups
    names = [f"{words[0]}{between}{words[1]}" for between in " -_./+,="]
    barrier = threading.Barrier(len(names))
    errors: list[Exception] = []

    def make(name: str) -> None:
        barrier.wait()
        try:
            groups.create(name, None, [])
        except Exception as error:
            errors.append(error)
        finally:
            directory.close()  # this thread's own connection

    threads = [threading.Thread(target=make, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    made = [groups.get_by_name(name) for name in names]
    addresses = [group.address or "" for group in made]
    assert len(set(addresses)) == len(names), addresses
    slug = "-".join(word.lower() for word in words)
    assert all(re.fullmatch(rf"{slug}(-\d+)?@{re.escape(DOMAIN)}", a) for a in addresses)
    posix_names = [group.posix_name or "" for group in made]
    assert len(set(posix_names)) == len(names), posix_names
    assert all(re.fullmatch(rf"{slug}(-\d+)?", name) for name in posix_names)


@pytest.mark.parametrize("name", ["*)(mail=*", "a,b=c\\", "#x", "x" * 200])
def test_unusual_names_are_escaped_and_still_get_an_address(
    people_store: PeopleStore, services: Services, name: str
) -> None:
    groups = people_store.groups
    groups.create(name, None, [])
    address = groups.get_by_name(name).address
    assert address is not None
    local = address.split("@")[0]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", local) and len(local) <= 64
    posix_name = groups.get_by_name(name).posix_name or ""
    assert re.fullmatch(r"[a-z][a-z0-9._-]*", posix_name) and len(posix_name) <= 64


def test_imports_naming_the_same_groups_at_once_make_each_once(
    people_store: PeopleStore, directory: LdapClient
) -> None:
    # Four imports name the same groups at once: each group is made once (the others' adds
    # meet it and move on), with names and a number of its own.
    names = [f"Robotics{between}Club {n}" for between in " -_./" for n in range(4)]
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def run_import(offset: int) -> None:
        barrier.wait()
        try:
            people_store.groups.ensure_all([("class", n) for n in names[offset:] + names[:offset]])
        except Exception as error:
            errors.append(error)
        finally:
            directory.close()

    threads = [threading.Thread(target=run_import, args=(5 * i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    made = [people_store.groups.get_by_name(name) for name in names]
    for unique in ("address", "posix_name", "gid_number"):
        values = [getattr(group, unique) for group in made]
        assert None not in values and len(set(values)) == len(names), (unique, values)


def test_groups_ensured_together_keep_those_that_exist_and_number_the_rest(
    people_store: PeopleStore,
) -> None:
    groups = people_store.groups
    old = groups.create("Debate Society", None, [])
    wanted = [("class", "Debate Society"), ("class", "Choir"), ("level", "Band")]
    dns = groups.ensure_all(wanted)
    assert [dn.first_value(group) for group in dns] == ["Debate Society", "Choir", "Band"]
    again = groups.get_by_name("Debate Society")
    assert (again.id, again.gid_number, again.kind) == (old.id, old.gid_number, old.kind)
    made = [groups.get_by_name(name) for name in ("Choir", "Band")]
    assert [group.kind for group in made] == ["class", "level"]
    assert len({old.gid_number, *(group.gid_number for group in made)}) == 3
    assert groups.ensure_all(wanted) == dns


def test_a_group_whose_new_address_another_writer_took_meanwhile_moves_on(
    people_store: PeopleStore,
    directory: LdapClient,
    admin: ldap3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The unique overlay checks before it writes, so two racing adds can both pass it. Here
    # the other writer's add lands just after the import's (the Relax Rules control lets the
    # rootDN past the overlay, as the race would): the import's one check of all its groups
    # must see it.
    addresses = people_store.groups.addresses
    place = addresses._place

    def place_then_race(group: str, attributes: dict[str, list[str]], bases: object) -> int:
        n = place(group, attributes, bases)  # type: ignore[arg-type]
        if attributes["cn"] == ["Chess Club"]:
            rival = f"cn=Chess-Club,{GROUPS}"
            race = {**attributes, "cn": ["Chess-Club"], "gidNumber": ["4999999"]}
            names = {"mail": [f"chess-club@{DOMAIN}"], "mimsPosixName": ["chess-club"]}
            admin.add(
                rival, attributes=race | names, controls=[("1.3.6.1.4.1.4203.666.5.12", True, None)]
            )
            assert admin.result["result"] == 0, admin.result
        return n

    monkeypatch.setattr(addresses, "_place", place_then_race)
    people_store.groups.ensure_all([("class", "Chess Club"), ("class", "Choir")])
    assert group_entry(admin, "Chess-Club")[1:] == ([f"chess-club@{DOMAIN}"], ["chess-club"])
    _, address, posix_name = group_entry(admin, "Chess Club")
    assert address != [f"chess-club@{DOMAIN}"] and posix_name != ["chess-club"]
    assert re.fullmatch(rf"chess-club-\d+@{re.escape(DOMAIN)}", address[0])
    assert group_entry(admin, "Choir")[1] == [f"choir@{DOMAIN}"]
