"""Turning syncrepl entries into changes: kinds, members as entryUUIDs, secrets never carried."""

from __future__ import annotations

import threading

from bridge.directory.client import ClientSettings, LdapClient
from bridge.directory.feed import Feed, to_change

UUIDS = {"uid=mary,ou=students,ou=people,dc=x": "u-mary", "cn=p4,ou=groups,dc=x": "g-p4"}


def test_a_person_change_keeps_its_attributes_and_its_groups_as_uuids() -> None:
    change = to_change(
        "uid=mary,ou=students,ou=people,dc=x",
        {
            "objectClass": [b"inetOrgPerson", b"mimsPerson"],
            "mail": [b"mary_tan@students.edu.sg"],
            "memberOf": [b"cn=p4,ou=groups,dc=x", b"cn=gone,ou=groups,dc=x"],
            "userPassword": [b"{ARGON2}secret"],
            "mimsChallengeAnswer": [b"colour:$argon2id$..."],
        },
        "u-mary",
        UUIDS.get,
    )
    assert change.kind == "person"
    assert change.first("mail") == "mary_tan@students.edu.sg"
    assert change.groups == ("g-p4",)  # a group that is gone is left out
    assert "userpassword" not in change.attributes
    assert "mimschallengeanswer" not in change.attributes
    assert change.active  # no mimsDisabled: an account is active unless disabled


def test_a_disabled_person_is_not_active() -> None:
    attributes = {"objectClass": [b"mimsPerson"], "mimsDisabled": [b"TRUE"]}
    assert not to_change("uid=x,dc=x", attributes, "u-x", UUIDS.get).active


def test_a_group_change_carries_its_members_as_uuids() -> None:
    change = to_change(
        "cn=p4,ou=groups,dc=x",
        {
            "objectClass": [b"top", b"mimsGroup"],
            "cn": [b"p4"],
            "member": [b"uid=mary,ou=students,ou=people,dc=x"],
        },
        "g-p4",
        UUIDS.get,
    )
    assert (change.kind, change.members, change.label) == ("group", ("u-mary",), "group:present")
    assert change.name == "p4"


def test_the_feed_never_asks_for_secrets_even_when_a_mapping_does() -> None:
    target = LdapClient(
        ClientSettings(urls=("ldap://127.0.0.1:9",), bind_dn="cn=x", password="p", suffix="dc=x")
    )
    feed = Feed(target, ["title", "userPassword", "mimsTokenHash"], threading.Event())
    assert "title" in feed.attributes
    assert not {"userPassword", "mimsTokenHash"} & set(feed.attributes)
