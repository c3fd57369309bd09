"""Lookups (python-ldap): the same server order, timeouts and reconnects as the ldap3 side."""

from __future__ import annotations

import socket

import pytest

from bridge.directory import dn, lookup
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd, free_port
from bridge.errors import DirectoryUnavailable, NotFound
from tests.support.directory import SUFFIX, Settings

PEOPLE = dn.people_base(SUFFIX)


def read_people_ou(client: LdapClient) -> list[str]:
    entries = lookup.entries(client, SUFFIX, "(ou=people)", ["ou"], [])
    return [entry["dn"] for entry in entries]


def test_the_first_url_that_answers_is_used(slapd: ManagedSlapd, settings_for: Settings) -> None:
    client = LdapClient(settings_for(slapd, f"ldap://127.0.0.1:{free_port()}", slapd.ldapi_url))
    assert read_people_ou(client) == [PEOPLE]
    assert client.libldap.server() == slapd.ldapi_url
    client.close()


def test_no_url_answering_is_directory_unavailable(
    slapd: ManagedSlapd, settings_for: Settings
) -> None:
    client = LdapClient(settings_for(slapd, f"ldap://127.0.0.1:{free_port()}"))
    with pytest.raises(DirectoryUnavailable):
        read_people_ou(client)


def test_a_server_that_never_answers_times_out(slapd: ManagedSlapd, settings_for: Settings) -> None:
    with socket.socket() as silent:  # accepts connections but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        client = LdapClient(settings_for(slapd, url, timeout=1))
        with pytest.raises(DirectoryUnavailable):
            read_people_ou(client)


def test_an_unknown_base_is_not_found(slapd: ManagedSlapd, settings_for: Settings) -> None:
    client = LdapClient(settings_for(slapd, slapd.ldapi_url))
    with pytest.raises(NotFound):
        lookup.entries(client, f"ou=nowhere,{SUFFIX}", "(objectClass=*)", ["1.1"], [])
    client.close()
