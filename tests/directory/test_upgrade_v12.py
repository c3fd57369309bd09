"""Version 12: slapd's monitor backend, read by the bridge's account; older folders get it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory import monitor, slapd_config
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection, bound
from tests.support.ports import free_port


@pytest.fixture
def v9_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagedSlapd]:
    """A folder as versions 9 to 11 left it: no monitor database."""
    whole = slapd_config._databases
    monkeypatch.setattr(
        slapd_config,
        "_databases",
        lambda *args: [e for e in whole(*args) if e[0] != slapd_config.MONITOR_DATABASE],
    )
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    monkeypatch.undo()
    server.start(free_port())
    assert _monitor_databases(server) == 0
    with admin_connection(server) as admin:
        admin.modify(SUFFIX, {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, ["9"])]})
    server.stop()
    marker = json.loads(server.layout.marker.read_text())
    server.layout.marker.write_text(json.dumps(marker | {"schema_version": 9}))
    yield server
    server.stop()


def _monitor_databases(server: ManagedSlapd) -> int:
    with admin_connection(server) as admin:
        admin.search(
            "cn=config", "(objectClass=olcDatabaseConfig)", ldap3.LEVEL, attributes=["olcDatabase"]
        )
        return sum(str(e.olcDatabase.value).endswith("monitor") for e in admin.entries)


def _current_connections(server: ManagedSlapd) -> list[ldap3.Entry]:
    with bound(server, server.service_dn, server.service_password()) as bridge:
        bridge.search(monitor.CURRENT_CONNECTIONS, "(objectClass=*)", ldap3.BASE)
        return list(bridge.entries)


def test_a_version_9_folder_gets_cn_monitor_once(v9_folder: ManagedSlapd) -> None:
    v9_folder.start(free_port())
    assert _monitor_databases(v9_folder) == 1
    assert _current_connections(v9_folder)
    v9_folder.stop()
    marker = json.loads(v9_folder.layout.marker.read_text())
    v9_folder.layout.marker.write_text(json.dumps(marker | {"schema_version": 9}))
    v9_folder.start(free_port())  # the step again: it finds the database and adds none
    assert _monitor_databases(v9_folder) == 1
    assert json.loads(v9_folder.layout.marker.read_text())["schema_version"] == (
        slapd_config.schema_version()
    )
