"""The downstream sync keeps its cursor across a failover (issue 21, item 4).

Two real providers made as a user makes them (`mims slapd init` on A, `mims slapd
init-replica` for B), the real SCIM peer as the target. Changes on A are synced from A; A is
killed with -9; changes on B are synced from B (urls = [B]) from the cookie A's sync stored,
which reached B by replication. Every change arrives, and nothing sent before is sent again.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.provisioning.runner import Runner
from bridge.services import Backend
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection, make_config
from tests.support.ports import free_port
from tests.support.sync import (
    TARGET,
    TOKEN_ENV,
    log_size,
    peer_user,
    peer_users,
    sync_settings,
    wait_until,
    writes,
)

STUDENTS = f"ou=students,ou=people,{SUFFIX}"
SYNC_ENTRY = f"cn={TARGET},ou=sync,ou=services,{SUFFIX}"
REPLICATION = 30.0  # seconds: generous; replication takes milliseconds when it works


@dataclass(frozen=True)
class Pair:
    a: ManagedSlapd
    b: ManagedSlapd


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    a = ManagedSlapd(tmp_path / "a", SUFFIX, no_sync=True)
    a.init()
    a.start(free_port(), free_port())
    b = ManagedSlapd(tmp_path / "b", SUFFIX, no_sync=True)
    try:
        made = mims(
            "slapd",
            "init-replica",
            *("--from", str(a.ldaps_url())),
            *("--from-data-dir", str(a.layout.root)),
            *("--data-dir", str(b.layout.root)),
            *("--port", str(free_port())),
            *("--ldaps-port", str(free_port())),
        )
        assert made.returncode == 0, made.stderr
        yield Pair(a, b)
    finally:
        b.stop()
        a.stop()


def config_for_a(a: ManagedSlapd, peer: PeerServer) -> Config:
    config = make_config(a.layout.root)
    return config.with_overrides(sync={"targets": {TARGET: sync_settings(peer)}})


def config_for_b(a_config: Config, b: ManagedSlapd) -> Config:
    """The same bridge pointed at B alone, over TLS, as a second provider is configured."""
    directory = {
        "urls": (str(b.ldaps_url()),),
        "bind_dn": b.service_dn,
        "password": b.service_password(),
        "ca_file": str(b.ca_file),
    }
    return a_config.with_overrides(directory=directory)


def sync_once(config: Config) -> Runner:
    client = LdapClient(client_settings(config))
    try:
        backend = Backend(config, client)
        runner = Runner(config, TARGET, backend.sync_state, backend.change_feed)
        runner.run(once=True)
        return runner
    finally:
        client.close()


def add(slapd: ManagedSlapd, name: str) -> None:
    with admin_connection(slapd) as admin:
        admin.add(
            f"uid={name},{STUDENTS}",
            ["inetOrgPerson", "mimsPerson"],
            {"cn": name.title(), "sn": name.title(), "mail": f"{name}@students.edu.sg"},
        )


def rename(slapd: ManagedSlapd, name: str, full_name: str) -> None:
    with admin_connection(slapd) as admin:
        admin.modify(f"uid={name},{STUDENTS}", {"cn": [(ldap3.MODIFY_REPLACE, [full_name])]})


def read(slapd: ManagedSlapd, entry: str, attribute: str) -> list[bytes]:
    with admin_connection(slapd) as admin:
        try:
            admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return []
        found = admin.response[0]["raw_attributes"] if admin.response else {}
        return list(found.get(attribute) or [])


def uuid_of(slapd: ManagedSlapd, name: str) -> str:
    return read(slapd, f"uid={name},{STUDENTS}", "entryUUID")[0].decode()


@pytest.mark.slow
@pytest.mark.ha
def test_the_cursor_survives_a_failover_nothing_lost_nothing_sent_twice(
    pair: Pair, empty_peer: PeerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, empty_peer.token)
    on_a = config_for_a(pair.a, empty_peer)
    add(pair.a, "ann")
    add(pair.a, "ben")
    sync_once(on_a)
    rename(pair.a, "ann", "Ann Tan")
    add(pair.a, "cho")
    sync_once(on_a)
    assert len(peer_users(empty_peer)) == 3
    ids = {name: uuid_of(pair.a, name) for name in ("ann", "ben", "cho")}

    cookie = read(pair.a, SYNC_ENTRY, "mimsSyncCookie")
    assert cookie
    wait_until(
        lambda: read(pair.b, SYNC_ENTRY, "mimsSyncCookie") == cookie,
        REPLICATION,
        "A's sync cookie to reach B",
    )
    pid = pair.a.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: pair.a.pid() is None, 15, "A to die")

    add(pair.b, "dev")
    rename(pair.b, "ben", "Ben Lim")
    with admin_connection(pair.b) as admin:
        admin.delete(f"uid=cho,{STUDENTS}")
    before = _content(peer_user(empty_peer, ids["ann"]))
    since = log_size(empty_peer)
    runner = sync_once(config_for_b(on_a, pair.b))

    shown = {name: peer_user(empty_peer, ids[name]) for name in ids}
    assert shown["ann"]["name"]["formatted"] == "Ann Tan"  # type: ignore[index]
    assert shown["ben"]["name"]["formatted"] == "Ben Lim"  # type: ignore[index]
    assert shown["cho"]["active"] is False  # type: ignore[index]
    dev = peer_user(empty_peer, uuid_of(pair.b, "dev"))
    assert dev is not None and dev["active"] is True
    assert len(peer_users(empty_peer)) == 4
    assert runner.delivery.refused == 0

    # One write per entry. B's first write put its serverID into the contextCSN, which A's
    # cookie lacks, so syncprov refreshes from the cookie's oldest CSN: Ann, whose change A's
    # sync sent, is sent again, as a PUT of the state the target holds already (a no-op).
    peer_ids = {name: str(user["id"]) for name, user in shown.items() if user}
    sent = writes(empty_peer, since)
    assert sorted(sent) == sorted(
        [
            ("POST", "/v2/Users"),  # Dev, added on B
            ("PUT", f"/v2/Users/{peer_ids['ann']}"),  # the same state again
            ("PUT", f"/v2/Users/{peer_ids['ben']}"),  # renamed on B
            ("PATCH", f"/v2/Users/{peer_ids['cho']}"),  # deleted on B: active false
        ]
    ), sent
    assert _content(shown["ann"]) == before

    # From then on the cookie names both servers: only what changes is sent.
    rename(pair.b, "dev", "Dev Raj")
    since = log_size(empty_peer)
    sync_once(config_for_b(on_a, pair.b))
    assert writes(empty_peer, since) == [("PUT", f"/v2/Users/{dev['id']}")]


def _content(user: dict[str, object] | None) -> dict[str, object]:
    """Return a peer User without ``meta`` (its version and time change on any PUT)."""
    assert user is not None
    return {key: value for key, value in user.items() if key != "meta"}
