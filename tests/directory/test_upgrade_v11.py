"""Version 11: each downstream target's sync entry carries the lease class (mimsSyncLease).

A folder of an older version holds target entries without it; its upgrade adds the class to
each, so `mims sync run` can write the lease there.
"""

from __future__ import annotations

import json
from pathlib import Path

import ldap3

from bridge.directory import slapd_config
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

TARGETS = ("zoom", "entra")


def _entry(name: str) -> str:
    return f"cn={name},ou=sync,ou=services,{SUFFIX}"


def test_an_older_folders_sync_entries_get_the_lease_class(tmp_path: Path) -> None:
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    server.start(free_port())
    try:
        with admin_connection(server) as admin:
            for name in TARGETS:  # as versions 2 to 10 made them
                admin.add(_entry(name), ["mimsSyncTarget"], {"cn": name})
            admin.modify(SUFFIX, {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, ["9"])]})
        server.stop()
        marker = json.loads(server.layout.marker.read_text())
        server.layout.marker.write_text(json.dumps(marker | {"schema_version": 9}))

        for _start in range(2):  # the step is repeatable
            server.start(free_port())
            with admin_connection(server) as admin:
                for name in TARGETS:
                    admin.search(_entry(name), "(objectClass=mimsSyncLease)", ldap3.BASE)
                    assert len(admin.entries) == 1, name
                    holder = {"mimsSyncLeaseHolder": [(ldap3.MODIFY_REPLACE, ["h:1:a"])]}
                    assert admin.modify(_entry(name), holder)
            server.stop()
        marker = json.loads(server.layout.marker.read_text())
        assert marker["schema_version"] == slapd_config.schema_version()
    finally:
        server.stop()
