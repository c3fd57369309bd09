"""The service account store against a real slapd: hashed secrets, roles made when missing."""

from __future__ import annotations

import shlex
from collections.abc import Callable

import ldap3

from bridge.core.service_accounts import ROLES, new_secret
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.service_accounts import ServiceAccountStore, search_command
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, Settings, admin_connection, bound


def test_secrets_are_stored_hashed_by_slapd(
    extra_slapd: Callable[[str], ManagedSlapd], settings_for: Settings, slapd: ManagedSlapd
) -> None:
    server = extra_slapd("hashed")
    client = LdapClient(settings_for(slapd, server.ldapi_url))
    secret = new_secret()
    account = ServiceAccountStore(client, SUFFIX).create("phonebook", "reader", secret)
    client.close()
    with admin_connection(server) as admin:
        admin.search(account.dn, "(objectClass=*)", ldap3.BASE, attributes=["userPassword"])
        stored = admin.entries[0].userPassword.value
    raw = stored if isinstance(stored, bytes) else stored.encode()
    assert raw.startswith(b"{ARGON2}") and secret.encode() not in raw


def test_a_directory_without_role_groups_gets_them_at_the_first_account(
    extra_slapd: Callable[[str], ManagedSlapd], settings_for: Settings, slapd: ManagedSlapd
) -> None:
    server = extra_slapd("no-roles")  # as an external directory set up before version 5
    with admin_connection(server) as admin:
        for role in ROLES:
            admin.delete(dn.role_group_dn(role, SUFFIX))
        admin.delete(dn.roles_base(SUFFIX))
    client = LdapClient(settings_for(slapd, server.ldapi_url))
    store = ServiceAccountStore(client, SUFFIX)
    assert [account.name for account in store.list()] == ["mims-bridge"]
    secret = new_secret()
    account = store.create("keycloak", "sso", secret)
    assert (account.role, [a.name for a in store.list()]) == ("sso", ["keycloak", "mims-bridge"])
    client.close()
    with bound(server, account.dn, secret) as sso:  # and the role gives its rights at once
        sso.search(dn.people_base(SUFFIX), "(objectClass=*)", ldap3.BASE, attributes=["ou"])
        assert sso.entries[0].ou.value == "people"


def test_the_ldapsearch_line_follows_the_bridge_s_tls_settings() -> None:
    account = f"cn=gcds,ou=services,{SUFFIX}"
    plain = shlex.split(search_command("ldap://h:389", account, "/d/g.secret", SUFFIX))
    assert plain[:2] == ["ldapsearch", "-x"] and "-ZZ" not in plain
    assert plain[plain.index("-y") + 1] == "/d/g.secret"
    assert plain[plain.index("-b") + 1] == f"ou=people,{SUFFIX}"
    tls = search_command(
        "ldap://h:389", account, None, SUFFIX, starttls=True, ca_file="/etc/ssl/school ca.pem"
    )
    words = shlex.split(tls)
    assert words[0] == "LDAPTLS_CACERT=/etc/ssl/school ca.pem"
    assert "-ZZ" in words and "-W" in words and "-y" not in words
