"""Lookups (python-ldap): entries in the shape the mapping reads; failover is in test_connection."""

from __future__ import annotations

import pytest

from bridge.directory import dn, lookup
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import NotFound
from tests.support.directory import SUFFIX, Settings

PEOPLE = dn.people_base(SUFFIX)


def read_people_ou(client: LdapClient) -> list[str]:
    entries = lookup.entries(client, SUFFIX, "(ou=people)", ["ou"], [])
    return [entry["dn"] for entry in entries]


def test_entries_come_back_in_ldap3s_shape(slapd: ManagedSlapd, settings_for: Settings) -> None:
    # Failover, timeouts and reconnects of this path: test_connection.py, for both libraries.
    client = LdapClient(settings_for(slapd, slapd.ldapi_url))
    assert read_people_ou(client) == [PEOPLE]
    client.close()


def test_an_unknown_base_is_not_found(slapd: ManagedSlapd, settings_for: Settings) -> None:
    client = LdapClient(settings_for(slapd, slapd.ldapi_url))
    with pytest.raises(NotFound):
        lookup.entries(client, f"ou=nowhere,{SUFFIX}", "(objectClass=*)", ["1.1"], [])
    client.close()
