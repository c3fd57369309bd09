"""Version 9: the `sub` indexes hold 3-character keys; a version-8 folder's are rebuilt.

A 3-letter fragment of a name ("mei") is then answered from the index. Keys left at the old
length would answer it with nothing at all, which is what these tests would see.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory import slapd_config
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

NAMES = ("Tan Mei Ling", "Lim Wei Jie", "Mei Ong")


def _indexes(admin: ldap3.Connection) -> tuple[str, list[str]]:
    admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcDbIndex"])
    database = admin.entries[0]
    return database.entry_dn, [" ".join(str(v).split()) for v in database.olcDbIndex.values]


def _key_length(admin: ldap3.Connection) -> str | None:
    admin.search("cn=config", "(objectClass=*)", ldap3.BASE, attributes=["olcIndexSubstrAnyLen"])
    value = admin.entries[0].olcIndexSubstrAnyLen.value
    return None if value is None else str(value)


def _found(admin: ldap3.Connection, fragment: str) -> set[str]:
    admin.search(SUFFIX, f"(cn=*{fragment}*)", attributes=["cn"])
    return {str(entry.cn.value) for entry in admin.entries}


@pytest.fixture
def v8_folder(tmp_path: Path) -> Iterator[ManagedSlapd]:
    """A folder as version 8 left it: slapd's default key length (4), its keys built so."""
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    server.start(free_port())
    with admin_connection(server) as admin:
        database, indexes = _indexes(admin)
        subs = [index for index in indexes if ",sub" in index]
        lean = [index.replace(",sub", "") for index in subs]
        admin.modify(database, {"olcDbIndex": [(ldap3.MODIFY_DELETE, subs)]})
        admin.modify(database, {"olcDbIndex": [(ldap3.MODIFY_ADD, lean)]})
        admin.modify("cn=config", {"olcIndexSubstrAnyLen": [(ldap3.MODIFY_DELETE, [])]})
        admin.modify(database, {"olcDbIndex": [(ldap3.MODIFY_DELETE, lean)]})
        admin.modify(database, {"olcDbIndex": [(ldap3.MODIFY_ADD, subs)]})
        for name in NAMES:  # indexed with 4-character keys
            admin.add(f"cn={name},{SUFFIX}", ["organizationalRole"], {"cn": name})
        admin.modify(SUFFIX, {"mimsSchemaVersion": [(ldap3.MODIFY_REPLACE, ["8"])]})
    server.stop()
    marker = json.loads(server.layout.marker.read_text())
    server.layout.marker.write_text(json.dumps(marker | {"schema_version": 8}))
    yield server
    server.stop()


def test_a_new_folder_keys_substrings_by_three_characters(tmp_path: Path) -> None:
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    server.start(free_port())
    try:
        with admin_connection(server) as admin:
            assert _key_length(admin) == "3"
            admin.add(f"cn=Tan Mei Ling,{SUFFIX}", ["organizationalRole"], {"cn": "Tan Mei Ling"})
            assert _found(admin, "mei") == {"Tan Mei Ling"}
    finally:
        server.stop()


def test_a_version_8_folder_gets_three_character_keys_and_rebuilt_indexes(
    v8_folder: ManagedSlapd,
) -> None:
    v8_folder.start(free_port())
    with admin_connection(v8_folder) as admin:
        assert _key_length(admin) == "3"
        assert set(_indexes(admin)[1]) == set(slapd_config.INDEXES)
        # slapd rebuilds the indexes in the background and tests every entry until it is done,
        # so the answer is right at any moment; stale 4-character keys would answer nothing.
        assert _found(admin, "mei") == {"Tan Mei Ling", "Mei Ong"}
        assert _found(admin, "wei") == {"Lim Wei Jie"}
        assert _found(admin, "ing") == {"Tan Mei Ling"}
    assert (
        json.loads(v8_folder.layout.marker.read_text())["schema_version"]
        == slapd_config.schema_version()
    )


def test_the_version_9_step_is_repeatable(v8_folder: ManagedSlapd) -> None:
    v8_folder.start(free_port())
    v8_folder.stop()
    marker = json.loads(v8_folder.layout.marker.read_text())
    v8_folder.layout.marker.write_text(json.dumps(marker | {"schema_version": 8}))
    v8_folder.start(free_port())
    with admin_connection(v8_folder) as admin:
        assert _key_length(admin) == "3"
        assert set(_indexes(admin)[1]) == set(slapd_config.INDEXES)
        assert _found(admin, "wei") == {"Lim Wei Jie"}
