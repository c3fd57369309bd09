"""The sync runner against a real slapd and a real SCIM target (scim2-server), in-process."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import ldap3
import pytest
from flask.testing import FlaskClient

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.core.sync import Change
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.directory.sync_state import SyncStateStore
from bridge.directory.tokens import TokenStore
from bridge.provisioning.runner import Runner, retry_dead_letters
from bridge.services import Backend
from tests.support.directory import SUFFIX, admin_connection
from tests.support.scim import GROUP, USER, Scim
from tests.support.sync import TARGET, peer_user, peer_users, wait_until


@pytest.fixture
def scim(client: FlaskClient, directory: LdapClient, config: Config) -> Iterator[Scim]:
    store = TokenStore(directory, config.directory.suffix)
    secret = new_token()
    store.create("sync-tests", token_hash(secret), ("scim:write",))
    yield Scim(client, secret)
    store.revoke("sync-tests")


def person(scim: Scim, name: str, **fields: object) -> dict[str, object]:
    response = scim.post("/Users", {"schemas": [USER], "name": {"formatted": name}} | fields)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def make_runner(
    config: Config, directory: LdapClient, stop: threading.Event | None = None
) -> Runner:
    backend = Backend(config, directory)
    return Runner(config, TARGET, backend.sync_state, backend.change_feed, stop=stop)


def run_once(config: Config, directory: LdapClient) -> Runner:
    runner = make_runner(config, directory)
    runner.run(once=True)
    return runner


def test_people_arrive_then_renames_deactivations_and_deletes_follow(
    sync_config: Config, directory: LdapClient, scim: Scim, empty_peer: PeerServer
) -> None:
    mary = person(scim, "Mary Tan")
    ali = person(scim, "Ali Hassan")
    gone = person(scim, "Wong Mei Ling")
    run_once(sync_config, directory)
    sent = peer_user(empty_peer, str(mary["id"]))
    assert sent is not None
    assert sent["userName"] == "mary_tan@students.edu.sg"
    assert sent["active"] is True
    assert sent["emails"] == [
        {"value": "mary_tan@students.edu.sg", "type": "work", "primary": True}
    ]

    renamed = scim.patch(
        f"/Users/{mary['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "userName", "value": "mary_lim@students.edu.sg"}
            ],
        },
    )
    assert renamed.status_code == 200, renamed.json
    disabled = scim.patch(
        f"/Users/{ali['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert disabled.status_code == 200
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204
    state = SyncStateStore(directory, SUFFIX, TARGET)
    waiting = state.status()
    assert waiting.pending == 2  # Mary and Ali changed; a deleted entry is not counted
    assert waiting.oldest_pending is not None
    assert not waiting.pending_capped
    counted = SyncStateStore(directory, SUFFIX, TARGET, count_limit=1).status()
    assert (counted.pending, counted.pending_capped) == (1, True)
    assert counted.oldest_pending is not None
    run_once(sync_config, directory)
    assert state.status().pending == 0
    assert peer_user(empty_peer, str(mary["id"]))["userName"] == "mary_lim@students.edu.sg"  # type: ignore[index]
    assert peer_user(empty_peer, str(ali["id"]))["active"] is False  # type: ignore[index]
    assert peer_user(empty_peer, str(gone["id"]))["active"] is False  # type: ignore[index]
    assert len(peer_users(empty_peer)) == 3  # no duplicates


def test_groups_carry_their_members_as_the_targets_ids(
    sync_config: Config, directory: LdapClient, scim: Scim, empty_peer: PeerServer
) -> None:
    mary = person(scim, "Mary Tan")
    ali = person(scim, "Ali Hassan")
    group = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "chess club", "members": [{"value": mary["id"]}]},
    )
    assert group.status_code == 201, group.json
    run_once(sync_config, directory)
    status, body = empty_peer.call("GET", "Groups")
    assert status == 200
    (sent,) = [g for g in body["Resources"] if g["displayName"] == "chess club"]
    mary_there = peer_user(empty_peer, str(mary["id"]))
    assert [m["value"] for m in sent["members"]] == [mary_there["id"]]  # type: ignore[index]
    scim.patch(
        f"/Groups/{group.json['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": ali["id"]}]}],
        },
    )
    run_once(sync_config, directory)
    _status, body = empty_peer.call("GET", f"Groups/{sent['id']}")
    ali_there = peer_user(empty_peer, str(ali["id"]))
    assert {m["value"] for m in body["members"]} == {mary_there["id"], ali_there["id"]}  # type: ignore[index]


def test_a_refused_change_is_a_dead_letter_until_a_retry_succeeds(
    sync_config: Config, directory: LdapClient, slapd: ManagedSlapd, empty_peer: PeerServer
) -> None:
    # The peer refuses a userName it already holds for another externalId... we make one
    # by sending a person whose mapped userName is empty: scim2-server answers 400.
    config = sync_config.with_overrides(
        sync={
            "targets": {
                TARGET: {**_settings(sync_config), "mapping": {"userName": "employeeNumber"}}
            }
        }
    )
    with admin_connection(slapd) as admin:
        entry = f"uid=nobody,ou=students,ou=people,{SUFFIX}"
        admin.add(
            entry,
            ["inetOrgPerson", "mimsPerson"],
            {"cn": "No Body", "sn": "Body", "mail": "nobody@students.edu.sg"},
        )
    runner = run_once(config, directory)
    assert runner.delivery.refused == 1
    state = SyncStateStore(directory, SUFFIX, TARGET)
    (letter,) = state.dead_letters()
    assert letter.kind == "person:present"
    assert "400" in letter.reason
    assert state.status().dead_letters == 1
    other = Change(uuid="00000000-0000-4000-8000-000000000001", kind="person")
    state.dead_letter(other, "refused")
    counted = SyncStateStore(directory, SUFFIX, TARGET, count_limit=1).status()
    assert (counted.dead_letters, counted.dead_letters_capped) == (1, True)
    assert (state.status().dead_letters, state.status().dead_letters_capped) == (2, False)
    state.clear_dead_letter(other.uuid)
    # Still refused: the letter stays, one more attempt counted.
    assert retry_dead_letters(make_runner(config, directory)) == (0, 1)
    assert state.dead_letters()[0].attempts == 2
    with admin_connection(slapd) as admin:
        admin.modify(
            entry, {"employeeNumber": [(ldap3.MODIFY_REPLACE, ["nobody@students.edu.sg"])]}
        )
    assert retry_dead_letters(make_runner(config, directory)) == (1, 0)
    assert state.dead_letters() == []


def test_a_target_that_restarted_empty_gets_everything_again(
    sync_config: Config, directory: LdapClient, scim: Scim, empty_peer: PeerServer
) -> None:
    people = [person(scim, f"Pupil {name}") for name in ("Ann", "Ben", "Cai")]
    run_once(sync_config, directory)
    assert len(peer_users(empty_peer)) == 3
    empty_peer.restart()  # in memory: it comes back with nothing
    person(scim, "Pupil Dan")
    runner = run_once(sync_config, directory)
    assert runner.resets == 1
    assert {u["externalId"] for u in peer_users(empty_peer)} >= {p["id"] for p in people}
    assert len(peer_users(empty_peer)) == 4


def test_the_persistent_feed_delivers_a_change_as_it_happens(
    sync_config: Config, directory: LdapClient, scim: Scim, empty_peer: PeerServer
) -> None:
    stop = threading.Event()
    runner = make_runner(sync_config, directory, stop)

    def follow() -> None:
        try:
            runner.run()
        finally:
            directory.discard()  # this thread's own LDAP connection

    thread = threading.Thread(target=follow)
    thread.start()
    try:
        mary = person(scim, "Mary Tan")
        wait_until(lambda: peer_user(empty_peer, str(mary["id"])) is not None, 20, "Mary")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert SyncStateStore(directory, SUFFIX, TARGET).cookie() is not None


def _settings(config: Config) -> dict[str, object]:
    target = config.sync.targets[TARGET]
    return {"kind": target.kind, "url": target.url, "token_env": target.token_env}


def test_a_present_phase_deactivates_what_the_directory_no_longer_has(
    sync_config: Config, directory: LdapClient, scim: Scim, empty_peer: PeerServer
) -> None:
    kept = person(scim, "Mary Tan")
    gone = person(scim, "Ali Hassan")
    stranger = {"schemas": [USER], "userName": "x@other.example", "externalId": "HR-7"}
    assert empty_peer.call("POST", "Users", stranger)[0] == 201  # another source's user
    run_once(sync_config, directory)
    # A refresh without a cookie (after a reset, or a first run against a target that holds
    # people) names every entry there, not what was deleted: the runner reconciles. A cookie
    # older than slapd's session log gets a present phase, reconciled the same way.
    state = SyncStateStore(directory, SUFFIX, TARGET)
    state.save_cookie(None, 0)
    assert scim.delete(f"/Users/{gone['id']}").status_code == 204
    run_once(sync_config, directory)
    assert peer_user(empty_peer, str(gone["id"]))["active"] is False  # type: ignore[index]
    assert peer_user(empty_peer, str(kept["id"]))["active"] is True  # type: ignore[index]
    assert peer_user(empty_peer, "HR-7").get("active") is not False  # type: ignore[union-attr]
