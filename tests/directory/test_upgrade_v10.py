"""Version 10: a version-9 folder gets mimsWriteTarget, the write-target entry's class.

The folder is made with the shipped schema file less its version-10 definitions (what
version 9 shipped), then started with this code, which upgrades it in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory import slapd_config, write_target
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

# Version 10's definitions and those of later versions (version 11's sync lease).
LATER = (
    "mimsWriteTargetUrl",
    "mimsWriteEpoch",
    "mimsWriteHeartbeat",
    "mimsWriteTarget",
    "mimsSyncLeaseHolder",
    "mimsSyncLeaseUntil",
    "mimsSyncLease",
)


def version_9_schema(folder: Path) -> Path:
    """Return the shipped schema file as version 9 had it: no definitions of version 10 on."""
    text = slapd_config.PROJECT_SCHEMA.read_text()
    text = re.sub(r"# mims-schema-version: \d+", "# mims-schema-version: 9", text, count=1)
    kept = re.split(r"\n(?=olc)", text)
    kept = [part for part in kept if not any(f"NAME '{name}'" in part for name in LATER)]
    path = folder / "mims-v9.ldif"
    path.write_text("\n".join(kept).rstrip("\n") + "\n")
    return path


def classes(server: ManagedSlapd) -> str:
    with admin_connection(server) as admin:
        admin.search("cn=schema,cn=config", "(cn=*mims)", attributes=["olcObjectClasses"])
        return " ".join(admin.entries[0].olcObjectClasses.values)


@pytest.fixture
def v9_folder(tmp_path: Path) -> Iterator[ManagedSlapd]:
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slapd_config, "PROJECT_SCHEMA", version_9_schema(tmp_path))
        server.init()
        server.start(free_port())
        assert "'mimsWriteTarget'" not in classes(server)
        server.stop()
    yield server
    server.stop()


def test_a_version_9_folder_gets_the_write_target_class(v9_folder: ManagedSlapd) -> None:
    assert json.loads(v9_folder.layout.marker.read_text())["schema_version"] == 9
    v9_folder.start(free_port())
    assert "'mimsWriteTarget'" in classes(v9_folder)
    with admin_connection(v9_folder) as admin:  # the entry can now be written
        copy = write_target.Copy("ldaps://a.example:636", 1, None)
        write_target.write(admin, SUFFIX, copy)
        seen = write_target.read(admin, SUFFIX, "ldaps://a.example:636")
    assert seen.copy == copy
    marker = json.loads(v9_folder.layout.marker.read_text())
    assert marker["schema_version"] == slapd_config.schema_version()


def test_the_version_10_step_is_repeatable(v9_folder: ManagedSlapd) -> None:
    v9_folder.start(free_port())
    v9_folder.stop()
    marker = json.loads(v9_folder.layout.marker.read_text())
    v9_folder.layout.marker.write_text(json.dumps(marker | {"schema_version": 9}))
    v9_folder.start(free_port())
    with admin_connection(v9_folder) as admin:
        admin.search(SUFFIX, "(objectClass=*)", ldap3.BASE, attributes=["mimsSchemaVersion"])
        assert str(admin.entries[0].mimsSchemaVersion) == str(slapd_config.schema_version())
    assert classes(v9_folder).count("'mimsWriteTarget'") == 1
