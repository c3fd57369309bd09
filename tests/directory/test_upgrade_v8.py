"""Version 8: a version-7 folder gets ou=admins, the MIMS administrators' group and the access
rule that lets readers see grants, in place and repeatably."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory import dn, slapd_config
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port


def _without_grants(rules: list[str]) -> list[str]:
    kept = [rule.split("}", 1)[1] for rule in rules if dn.admins_base(SUFFIX) not in rule]
    return [f"{{{index}}}{rule}" for index, rule in enumerate(kept)]


@pytest.fixture
def v7_folder(tmp_path: Path) -> Iterator[ManagedSlapd]:
    """A folder as version 7 left it: no ou=admins, no access rule for it, version 7 recorded."""
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    server.start(free_port())
    with admin_connection(server) as admin:
        admin.delete(dn.grant_group_dn("all", SUFFIX))
        admin.delete(dn.admins_base(SUFFIX))
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcAccess"])
        database = admin.entries[0].entry_dn
        old = _without_grants(slapd_config.access_rules(SUFFIX))
        admin.modify(database, {"olcAccess": [(ldap3.MODIFY_REPLACE, old)]})
        admin.modify(SUFFIX, {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, ["7"])]})
    server.stop()
    marker = json.loads(server.layout.marker.read_text())
    server.layout.marker.write_text(json.dumps(marker | {"schema_version": 7}))
    yield server
    server.stop()


def grants_and_rules(server: ManagedSlapd) -> tuple[set[str], list[str], str]:
    with admin_connection(server) as admin:
        admin.search(dn.admins_base(SUFFIX), "(objectClass=*)", attributes=["1.1"])
        entries = {e.entry_dn.lower() for e in admin.entries}
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcAccess"])
        rules = list(admin.entries[0].olcAccess.values)
        admin.search(SUFFIX, "(objectClass=*)", ldap3.BASE, attributes=["mimsSchemaVersion"])
        return entries, rules, str(admin.entries[0].mimsSchemaVersion.value)


def test_a_version_7_folder_gets_grants_and_their_access_rule(v7_folder: ManagedSlapd) -> None:
    assert slapd_config.schema_version() >= 8
    v7_folder.start(free_port())
    entries, rules, version = grants_and_rules(v7_folder)
    assert entries == {dn.admins_base(SUFFIX).lower(), dn.grant_group_dn("all", SUFFIX).lower()}
    assert rules == slapd_config.access_rules(SUFFIX)
    assert version == str(slapd_config.schema_version())
    assert (
        json.loads(v7_folder.layout.marker.read_text())["schema_version"]
        == slapd_config.schema_version()
    )


def test_the_version_8_upgrade_is_repeatable(v7_folder: ManagedSlapd) -> None:
    v7_folder.start(free_port())
    before = grants_and_rules(v7_folder)
    v7_folder.stop()
    marker = json.loads(v7_folder.layout.marker.read_text())
    v7_folder.layout.marker.write_text(json.dumps(marker | {"schema_version": 7}))
    v7_folder.start(free_port())
    assert grants_and_rules(v7_folder) == before
