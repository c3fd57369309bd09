"""slapd's cn=Monitor: the managed slapd has it, the bridge's account reads it, nobody else."""

from __future__ import annotations

import ldap3

from bridge.directory import monitor
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, bound

PASSWORD = "Monitor9Probe44"


def test_the_bridge_reads_slapds_own_figures(directory: LdapClient) -> None:
    figures = monitor.read(directory)
    assert figures is not None
    assert figures.connections >= 1  # this one
    assert figures.operations["bind"] >= 1
    assert figures.operations["search"] >= 1
    assert set(figures.operations) <= set(monitor._OPERATIONS.values())
    assert set(figures.waiters) == {"read", "write"}
    again = monitor.read(directory)
    assert again is not None and again.operations["search"] > figures.operations["search"]


def test_a_person_finds_nothing_under_cn_monitor(
    slapd: ManagedSlapd, admin: ldap3.Connection
) -> None:
    entry = f"uid=monitor_probe,ou=students,ou=people,{SUFFIX}"
    admin.add(
        entry,
        ["inetOrgPerson", "mimsPerson"],
        {
            "cn": "Probe",
            "sn": "Probe",
            "mail": "monitor_probe@students.edu.sg",
            "userPassword": PASSWORD,
        },
    )
    try:
        with bound(slapd, entry, PASSWORD) as person:
            person.search(monitor.CURRENT_CONNECTIONS, "(objectClass=*)", ldap3.BASE)
            assert person.result["description"] in ("noSuchObject", "insufficientAccessRights")
            assert not person.entries
        with bound(slapd, slapd.service_dn, slapd.service_password()) as bridge:
            bridge.search(monitor.CURRENT_CONNECTIONS, "(objectClass=*)", ldap3.BASE)
            assert bridge.entries
    finally:  # no `directory` fixture here to clear the people after the test
        admin.delete(entry)
