"""Retry rules: an add whose answer was lost is retried on a new connection and re-read there.

A relay between the client and slapd loses the connection at the worst moment: after slapd
has applied the adds but before their answers reach the client (or before the adds reach
slapd at all). The client then retries on a new connection to its one server (several URLs
would name several providers, and writes go only to the write target: the lone server is
tried again although quarantined), which answers entryAlreadyExists (68) for every add
that landed.

The relay (tests/support/relay.py) reads LDAP messages, so it must see them unencrypted: it
listens on plain TCP and passes them on to slapd's ldapi socket.
"""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.directory.bulk import BulkWriter
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import NameTaken
from tests.support.directory import SUFFIX, Settings
from tests.support.relay import Relay


@pytest.fixture
def relay(slapd: ManagedSlapd) -> Iterator[Relay]:
    relayed = Relay(slapd.layout.socket)
    yield relayed
    relayed.close()


@pytest.fixture
def client(
    slapd: ManagedSlapd, relay: Relay, settings_for: Settings, directory: LdapClient
) -> Iterator[LdapClient]:
    """A client whose one server is the relay to slapd."""
    made = LdapClient(settings_for(slapd, relay.url, tls="off"))
    yield made
    made.close()  # `directory` (requested for its clean-up) then empties ou=groups


def group(name: str, description: str) -> tuple[str, dict[str, list[str]]]:
    attributes = {
        "objectClass": ["mimsGroup"],
        "cn": [name],
        "description": [description],
    }
    return f"cn={name},ou=groups,{SUFFIX}", attributes


def descriptions(slapd_admin: ldap3.Connection, entry: str) -> list[str]:
    slapd_admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["description"])
    return [str(value) for e in slapd_admin.entries for value in e.description.values]


def test_an_add_that_landed_before_the_connection_broke_counts_as_done(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    client.ping()
    entry, attributes = group("retried", "sent once")
    relay.swallow(1)
    client.add(entry, attributes)
    assert descriptions(admin, entry) == ["sent once"]


def test_a_retried_add_that_meets_someone_elses_entry_is_name_taken(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    entry, theirs = group("contested", "theirs")
    admin.add(entry, attributes=theirs)
    client.ping()
    relay.cut()  # the first attempt never reaches slapd
    _, ours = group("contested", "ours")
    with pytest.raises(NameTaken):
        client.add(entry, ours)
    assert descriptions(admin, entry) == ["theirs"]


def test_an_add_that_is_not_retried_and_meets_an_entry_is_name_taken(
    client: LdapClient, admin: ldap3.Connection
) -> None:
    entry, attributes = group("twice", "same")
    admin.add(entry, attributes=attributes)
    with pytest.raises(NameTaken):
        client.add(entry, attributes)  # the same values, but no earlier attempt: a real 68


def test_pipelined_adds_resume_on_the_next_server_and_keep_the_real_refusals(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    taken, theirs = group("bulk-taken", "theirs")
    admin.add(taken, attributes=theirs)
    entries = [group("bulk-a", "a"), group("bulk-taken", "ours"), group("bulk-b", "b")]
    lookup_first = client.libldap.run(lambda c: c.whoami_s())  # bound through the relay
    assert lookup_first
    relay.swallow(len(entries))
    outcomes = BulkWriter(client).add_all(entries)
    assert [type(outcome).__name__ for outcome in outcomes] == ["NoneType", "NameTaken", "NoneType"]
    assert descriptions(admin, taken) == ["theirs"]
    assert descriptions(admin, entries[0][0]) == ["a"]


def test_a_member_addition_that_landed_before_the_connection_broke_counts_as_done(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    entry, attributes = group("resent-members", "members")
    admin.add(entry, attributes=attributes)
    members = [f"uid=pupil_{n},ou=students,ou=people,{SUFFIX}" for n in range(120)]
    assert client.libldap.run(lambda c: c.whoami_s())  # bound through the relay
    relay.swallow(2)  # the two modifies of the window land; neither answer comes back
    assert BulkWriter(client).add_members([(entry, members)]) == [None]
    admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    assert sorted(admin.entries[0].member.values) == sorted(members)


def people_with(admin: ldap3.Connection, external_id: str) -> list[str]:
    admin.search(
        f"ou=people,{SUFFIX}", f"(mimsExternalId={external_id})", ldap3.SUBTREE, attributes=["uid"]
    )
    return sorted(str(e.uid.value) for e in admin.entries)


def test_a_person_whose_add_landed_before_the_connection_broke_keeps_the_first_login_id(
    client: LdapClient, relay: Relay, config: Config, admin: ldap3.Connection
) -> None:
    people = PeopleStore(client, SUFFIX, config.naming.domains)
    draft = people.draft(NewPerson(full_name="Tan Mei Ling", role="student", external_id="R1"))
    draft = people.numbered(draft, people.ids.uid_number())  # its answer is not the one lost
    relay.swallow(1)  # the add lands; its answer never comes back
    entry = people.allocate(draft)
    assert entry.startswith("uid=tan_mei_ling,")  # not tan_mei_ling_1: the 68 was its own add
    assert people_with(admin, "R1") == ["tan_mei_ling"]


def test_a_person_whose_retried_add_meets_a_namesake_takes_the_next_login_id(
    client: LdapClient, relay: Relay, config: Config, admin: ldap3.Connection
) -> None:
    people = PeopleStore(client, SUFFIX, config.naming.domains)
    people.create(NewPerson(full_name="Tan Mei Ling", role="student", external_id="R2"))
    draft = people.draft(NewPerson(full_name="Tan Mei Ling", role="student", external_id="R3"))
    draft = people.numbered(draft, people.ids.uid_number())
    relay.cut()  # the first attempt never reaches slapd; the retry meets the namesake
    entry = people.allocate(draft)
    assert entry.startswith("uid=tan_mei_ling_1,")
    assert people_with(admin, "R2") == ["tan_mei_ling"]
    assert people_with(admin, "R3") == ["tan_mei_ling_1"]


def test_a_retried_permissive_member_addition_through_ldap3_counts_as_done(
    client: LdapClient, relay: Relay, config: Config, admin: ldap3.Connection
) -> None:
    entry, attributes = group("resent-member", "members")
    admin.add(entry, attributes=attributes)
    people = PeopleStore(client, SUFFIX, config.naming.domains)
    member = f"uid=pupil,ou=students,ou=people,{SUFFIX}"
    client.ping()
    relay.swallow(1)  # the modify lands; the retry repeats it, which permissive modify allows
    people.groups.add_members(entry, [member])
    admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    assert admin.entries[0].member.values == [member]
