"""The managed slapd: init, start, stop, status, and each failure as one clear line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import ldap3
import pytest

from bridge.directory import slapd_config
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import SlapdError
from tests.support.directory import SUFFIX, admin_connection, closing, ldaps_server
from tests.support.ports import free_port


@pytest.fixture
def fresh(tmp_path: Path):
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    yield server
    server.stop()


def service_search(slapd: ManagedSlapd, base: str, scope=ldap3.LEVEL, attributes=("1.1",)):
    """Search over ldaps as the bridge's service account, as a sysadmin's ldapsearch would."""
    server = ldaps_server(slapd)
    with closing(
        ldap3.Connection(server, slapd.service_dn, slapd.service_password(), auto_bind=True)
    ) as c:
        c.search(base, "(objectClass=*)", scope, attributes=list(attributes))
        return {e.entry_dn: e for e in c.entries}


def test_init_then_start_serves_the_base_tree_over_tcp(slapd: ManagedSlapd) -> None:
    top = service_search(slapd, SUFFIX)
    assert set(top) == {f"ou={ou},{SUFFIX}" for ou in ("people", "groups", "policies", "services")}
    people = service_search(slapd, f"ou=people,{SUFFIX}")
    assert set(people) == {f"ou={ou},ou=people,{SUFFIX}" for ou in ("students", "staff", "hq")}


def test_the_suffix_records_the_schema_version(slapd: ManagedSlapd) -> None:
    entry = service_search(slapd, SUFFIX, ldap3.BASE, ["mimsSchemaVersion", "objectClass"])[SUFFIX]
    assert int(entry.mimsSchemaVersion.value) == slapd_config.schema_version()
    assert "mimsDirectory" in entry.objectClass.values


def test_the_bridge_account_is_not_the_root_dn(
    slapd: ManagedSlapd, admin: ldap3.Connection
) -> None:
    admin.search("cn=config", f"(olcSuffix={SUFFIX})", ldap3.SUBTREE, attributes=["olcRootDN"])
    root_dn = admin.entries[0].olcRootDN.value
    assert root_dn.endswith("cn=peercred,cn=external,cn=auth")
    assert root_dn != slapd.service_dn
    admin.search(slapd.service_dn, "(objectClass=*)", ldap3.BASE, attributes=["userPassword"])
    stored = admin.entries[0].userPassword.value
    stored = stored.decode() if isinstance(stored, bytes) else stored
    assert stored.startswith("{ARGON2}$argon2")  # hashed by slapd's own module, never clear
    assert slapd.service_password() not in stored


def test_the_service_password_file_is_private(slapd: ManagedSlapd) -> None:
    assert slapd.layout.service_secret.stat().st_mode & 0o077 == 0


def test_cn_config_has_the_modules_overlays_and_indexes(admin: ldap3.Connection) -> None:
    admin.search("cn=config", "(objectClass=olcModuleList)", attributes=["olcModuleLoad"])
    modules = {v.split("}", 1)[1] for v in admin.entries[0].olcModuleLoad.values}
    assert {slapd_config.module_load(m) for m in slapd_config.MODULES} == modules
    admin.search("cn=config", "(objectClass=olcOverlayConfig)", attributes=["olcOverlay"])
    overlays = {e.olcOverlay.value.split("}", 1)[1] for e in admin.entries}
    assert overlays == {
        "memberof",
        "refint",
        "unique",
        "ppolicy",
        "sssvlv",
        "syncprov",
        "deref",
        "accesslog",
    }
    admin.search("cn=config", "(olcPPolicyHashCleartext=TRUE)", attributes=["olcPPolicyUseLockout"])
    assert admin.entries[0].olcPPolicyUseLockout.value == "TRUE"
    admin.search("cn=config", f"(olcSuffix={SUFFIX})", attributes=["olcDbIndex"])
    indexes = set(admin.entries[0].olcDbIndex.values)
    assert {
        "uid eq,sub",
        "mail eq,sub",
        "entryUUID eq",
        "mimsExternalId eq",
        "cn eq,sub",
    } <= indexes
    admin.search(
        "olcDatabase={-1}frontend,cn=config",
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["olcPasswordHash", "olcSortVals"],
    )
    assert admin.entries[0].olcPasswordHash.value == "{ARGON2}"
    assert admin.entries[0].olcSortVals.value == "member"


def test_the_mims_schema_is_loaded(admin: ldap3.Connection) -> None:
    admin.search("cn=schema,cn=config", "(cn={*}mims)", attributes=["olcObjectClasses"])
    classes = " ".join(admin.entries[0].olcObjectClasses.values)
    assert "'mimsPerson'" in classes and "AUXILIARY" in classes


def test_status_start_stop_and_restart_keep_the_data(fresh: ManagedSlapd) -> None:
    assert not fresh.status().initialised
    fresh.init()
    assert fresh.status() == fresh.status().__class__(
        True, False, False, None, None, None, fresh.ldapi_url
    )
    port, ldaps_port = free_port(), free_port()
    pid = fresh.start(port, ldaps_port)
    status = fresh.status()
    assert (status.running, status.answering, status.pid) == (True, True, pid)
    assert status.ldap_url == f"ldap://127.0.0.1:{port}"
    assert status.ldaps_url == f"ldaps://127.0.0.1:{ldaps_port}"
    with admin_connection(fresh) as admin:
        admin.add(f"ou=kept,{SUFFIX}", "organizationalUnit")
    assert fresh.stop() is True
    assert not fresh.status().running
    assert fresh.stop() is False  # stopping twice is not an error
    fresh.start(free_port(), free_port())
    assert f"ou=kept,{SUFFIX}" in service_search(fresh, SUFFIX)


def test_init_refuses_an_initialised_or_foreign_folder(fresh: ManagedSlapd, tmp_path: Path) -> None:
    fresh.init()
    with pytest.raises(SlapdError, match="already holds a directory"):
        fresh.init()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(SlapdError, match="is not empty and holds no mims directory"):
        ManagedSlapd(tmp_path / "other", SUFFIX).init()


def test_start_refuses_a_port_in_use(fresh: ManagedSlapd) -> None:
    fresh.init()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SlapdError, match=f"port {port} on 127.0.0.1 is in use"):
            fresh.start(port)
    assert not fresh.status().running


def test_start_refuses_a_running_slapd(fresh: ManagedSlapd) -> None:
    fresh.init()
    pid = fresh.start(free_port())
    with pytest.raises(SlapdError, match=f"already running .*pid {pid}"):
        fresh.start(free_port())


def test_a_killed_slapd_is_seen_as_stopped_and_starts_again(fresh: ManagedSlapd) -> None:
    fresh.init()
    pid = fresh.start(free_port())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while fresh.status().running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not fresh.status().running
    fresh.start(free_port())
    assert fresh.status().answering


def test_a_slapd_that_dies_at_start_reports_why(fresh: ManagedSlapd) -> None:
    fresh.init()
    # Break the database folder's permissions so slapd fails while opening it.
    for child in fresh.layout.db_dir.iterdir():
        child.unlink()
    fresh.layout.db_dir.rmdir()
    fresh.layout.db_dir.write_text("not a folder")
    with pytest.raises(SlapdError, match="slapd stopped while starting: .+") as caught:
        fresh.start(free_port())
    assert "\n" not in str(caught.value)


def test_an_older_schema_version_is_refused(fresh: ManagedSlapd) -> None:
    fresh.init()
    marker = json.loads(fresh.layout.marker.read_text())
    marker["schema_version"] = 0
    fresh.layout.marker.write_text(json.dumps(marker))
    with pytest.raises(
        SlapdError, match="was made with schema version 0 but this mims-bridge needs"
    ):
        fresh.start(free_port())


def test_another_suffix_is_refused(fresh: ManagedSlapd) -> None:
    fresh.init()
    other = ManagedSlapd(fresh.layout.root, "dc=other,dc=example")
    with pytest.raises(SlapdError, match="holds suffix 'dc=mims,dc=example'"):
        other.start(free_port())


def test_start_without_init_says_what_to_run(fresh: ManagedSlapd) -> None:
    with pytest.raises(SlapdError, match="run `mims slapd init"):
        fresh.start(free_port())


def test_slapd_finds_nothing_deprecated_in_the_configuration(slapd: ManagedSlapd) -> None:
    """slaptest reads cn=config as slapd does and prints what slapd 2.5 would warn about."""
    checked = subprocess.run(
        ["slaptest", "-u", "-F", str(slapd.layout.config_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "deprecated" not in checked.stderr
