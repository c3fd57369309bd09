"""Version 8 for parents' requests: a version-7 folder gets ou=requests and its access rule."""

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


@pytest.fixture
def v7_folder(tmp_path: Path) -> Iterator[ManagedSlapd]:
    """A folder as version 7 left it: no ou=requests, no access rule for it."""
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    server.start(free_port())
    with admin_connection(server) as admin:
        admin.delete(dn.requests_base(SUFFIX))
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcAccess"])
        database = admin.entries[0].entry_dn
        kept = [
            rule.split("}", 1)[1]
            for rule in slapd_config.access_rules(SUFFIX)
            if dn.requests_base(SUFFIX) not in rule
        ]
        old = [f"{{{index}}}{rule}" for index, rule in enumerate(kept)]
        admin.modify(database, {"olcAccess": [(ldap3.MODIFY_REPLACE, old)]})
        admin.modify(SUFFIX, {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, ["7"])]})
    server.stop()
    marker = json.loads(server.layout.marker.read_text())
    server.layout.marker.write_text(json.dumps(marker | {"schema_version": 7}))
    yield server
    server.stop()


def test_a_version_7_folder_gets_the_requests_ou_and_its_access_rule(
    v7_folder: ManagedSlapd,
) -> None:
    v7_folder.start(free_port())
    with admin_connection(v7_folder) as admin:
        admin.search(dn.requests_base(SUFFIX), "(objectClass=*)", ldap3.BASE, attributes=["ou"])
        assert [str(e.ou) for e in admin.entries] == ["requests"]
        admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcAccess"])
        assert list(admin.entries[0].olcAccess.values) == slapd_config.access_rules(SUFFIX)
        admin.search("cn=schema,cn=config", "(cn=*mims)", attributes=["olcObjectClasses"])
        classes = " ".join(admin.entries[0].olcObjectClasses.values)
        assert "'mimsResetRequest'" in classes
