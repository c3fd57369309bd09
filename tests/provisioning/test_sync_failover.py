"""The downstream sync keeps its cursor across a failover (issue 21, item 4).

Two real providers made as a user makes them (``tests/support/replicas.py``: `mims slapd init`
on A, `mims slapd init-replica` for B), the real SCIM peer as the target. Changes on A are
synced by a bridge whose urls are [A]; A is killed with -9; changes on B are synced by a bridge
whose urls are [B], from the cookie A's sync stored, which reached B by replication. Every
change arrives, and nothing sent before is sent again but as a no-op.
"""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.provisioning.runner import Runner
from bridge.services import Backend
from tests.support.directory import SUFFIX, admin_connection
from tests.support.replicas import Pair, Provider, replicated_pair
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


@pytest.fixture
def pair() -> Iterator[Pair]:
    with replicated_pair() as made:
        yield made


def bridge_on(provider: Provider, peer: PeerServer) -> Config:
    """A bridge whose ``[directory] urls`` is this provider alone, with the peer as target."""
    config = provider.bridge_config()
    return config.with_overrides(sync={"targets": {TARGET: sync_settings(peer)}})


def sync_once(config: Config) -> Runner:
    client = LdapClient(client_settings(config))
    try:
        backend = Backend(config, client)
        runner = Runner(config, TARGET, backend.sync_state, backend.change_feed)
        runner.run(once=True)
        return runner
    finally:
        client.close()


def add(provider: Provider, name: str) -> None:
    with admin_connection(provider.slapd) as connection:
        connection.add(
            f"uid={name},{STUDENTS}",
            ["inetOrgPerson", "mimsPerson"],
            {"cn": name.title(), "sn": name.title(), "mail": f"{name}@students.edu.sg"},
        )


def rename(provider: Provider, name: str, full_name: str) -> None:
    with admin_connection(provider.slapd) as connection:
        connection.modify(f"uid={name},{STUDENTS}", {"cn": [(ldap3.MODIFY_REPLACE, [full_name])]})


def read(provider: Provider, entry: str, attribute: str) -> list[bytes]:
    with admin_connection(provider.slapd) as connection:
        try:
            connection.search(entry, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return []
        found = connection.response[0]["raw_attributes"] if connection.response else {}
        return list(found.get(attribute) or [])


def uuid_of(provider: Provider, name: str) -> str:
    return read(provider, f"uid={name},{STUDENTS}", "entryUUID")[0].decode()


@pytest.mark.slow
@pytest.mark.ha
def test_the_cursor_survives_a_failover_nothing_lost_nothing_sent_twice(
    pair: Pair, empty_peer: PeerServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, empty_peer.token)
    on_a, on_b = bridge_on(pair.first, empty_peer), bridge_on(pair.second, empty_peer)
    add(pair.first, "ann")
    add(pair.first, "ben")
    sync_once(on_a)
    rename(pair.first, "ann", "Ann Tan")
    add(pair.first, "cho")
    sync_once(on_a)
    assert len(peer_users(empty_peer)) == 3
    ids = {name: uuid_of(pair.first, name) for name in ("ann", "ben", "cho")}

    cookie = read(pair.first, SYNC_ENTRY, "mimsSyncCookie")
    assert cookie
    wait_until(
        lambda: read(pair.second, SYNC_ENTRY, "mimsSyncCookie") == cookie,
        REPLICATION,
        "A's sync cookie to reach B",
    )
    pair.first.kill()  # SIGKILL, then waits until it is gone

    add(pair.second, "dev")
    rename(pair.second, "ben", "Ben Lim")
    with admin_connection(pair.second.slapd) as connection:
        connection.delete(f"uid=cho,{STUDENTS}")
    before = _content(peer_user(empty_peer, ids["ann"]))
    since = log_size(empty_peer)
    runner = sync_once(on_b)

    shown = {name: peer_user(empty_peer, ids[name]) for name in ids}
    assert shown["ann"]["name"]["formatted"] == "Ann Tan"  # type: ignore[index]
    assert shown["ben"]["name"]["formatted"] == "Ben Lim"  # type: ignore[index]
    assert shown["cho"]["active"] is False  # type: ignore[index]
    dev = peer_user(empty_peer, uuid_of(pair.second, "dev"))
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
    rename(pair.second, "dev", "Dev Raj")
    since = log_size(empty_peer)
    sync_once(on_b)
    assert writes(empty_peer, since) == [("PUT", f"/v2/Users/{dev['id']}")]


def _content(user: dict[str, object] | None) -> dict[str, object]:
    """Return a peer User without ``meta`` (its version and time change on any PUT)."""
    assert user is not None
    return {key: value for key, value in user.items() if key != "meta"}
