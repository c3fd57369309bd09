"""Issue 9's "done when": 1,000 people through SCIM and LDAP reach a real SCIM target, which
is killed and comes back empty, while the sync process is SIGKILLed and restarted; in the end
the target matches the directory exactly, with no duplicates.

Every wait is on a condition with a timeout, never a fixed sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest
from flask.testing import FlaskClient

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.directory.tokens import TokenStore
from tests.support.directory import SUFFIX, admin_connection
from tests.support.scim import USER, Scim
from tests.support.sync import REPO, TARGET, TOKEN_ENV, peer_users, wait_until

PEOPLE = 1000
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STUDENTS = f"ou=students,ou=people,{SUFFIX}"
STAFF = f"ou=staff,ou=people,{SUFFIX}"


class SyncProcess:
    """`mims sync run --target peer` as its own process, killed and restarted by PID."""

    def __init__(self, config_file: Path, slapd: ManagedSlapd, token: str, log: Path) -> None:
        url = slapd.ldap_url()
        assert url is not None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
            "MIMS_DATA_DIR": str(slapd.layout.root),
            "MIMS_LDAP_PORT": url.rsplit(":", 1)[1],
            "HOME": str(slapd.layout.root.parent),
            TOKEN_ENV: token,
            "PYTHONPATH": str(REPO),
        }
        self.command = [
            sys.executable, "-m", "bridge.cli", "--config", str(config_file),
            "sync", "run", "--target", TARGET,
        ]  # fmt: skip
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def scim(client: FlaskClient, directory: LdapClient, config: Config) -> Iterator[Scim]:
    store = TokenStore(directory, config.directory.suffix)
    secret = new_token()
    store.create("sync-e2e", token_hash(secret), ("scim:write",))
    yield Scim(client, secret)
    store.revoke("sync-e2e")


@pytest.fixture
def sync_process(
    sync_config: Config, slapd: ManagedSlapd, empty_peer: PeerServer, tmp_path: Path
) -> Iterator[SyncProcess]:
    config_file = tmp_path / "sync.toml"
    config_file.write_text(  # a short lease: the restarted process takes over from the killed
        "[sync]\nlease_seconds = 3\n"
        f'[sync.targets.{TARGET}]\nkind = "scim"\nurl = "{empty_peer.base_url}"\n'
        f'token_env = "{TOKEN_ENV}"\nrate = 5000\n'
    )
    process = SyncProcess(config_file, slapd, empty_peer.token, tmp_path / "sync.log")
    yield process
    process.stop()


def directory_people(slapd: ManagedSlapd) -> dict[str, tuple[str, bool]]:
    """Return entryUUID -> (login ID, active) for every person in the directory."""
    with admin_connection(slapd) as admin:
        entries = admin.extend.standard.paged_search(
            f"ou=people,{SUFFIX}",
            "(objectClass=inetOrgPerson)",
            ldap3.SUBTREE,
            attributes=["entryUUID", "mail", "mimsDisabled"],
            paged_size=1000,
            generator=False,
        )
        people = {}
        for entry in entries:
            raw = {k.lower(): [v.decode() for v in vs] for k, vs in entry["raw_attributes"].items()}
            disabled = (raw.get("mimsdisabled") or ["FALSE"])[0] == "TRUE"
            people[raw["entryuuid"][0]] = (raw["mail"][0], not disabled)
        return people


def target_people(peer: PeerServer) -> dict[str, tuple[str, bool]]:
    users = peer_users(peer)
    external_ids = [str(u["externalId"]) for u in users]
    assert len(external_ids) == len(set(external_ids)), "the target holds duplicates"
    return {str(u["externalId"]): (str(u["userName"]), bool(u["active"])) for u in users}


def patch(scim: Scim, ident: str, path: str, value: object) -> None:
    body = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]}
    response = scim.patch(f"/Users/{ident}", body)
    assert response.status_code == 200, response.json


@pytest.mark.slow
def test_a_thousand_people_survive_a_target_restart_and_a_killed_sync(
    scim: Scim,
    sync_process: SyncProcess,  # after scim: stopped before the directory is emptied
    empty_peer: PeerServer,
    slapd: ManagedSlapd,
) -> None:
    sync_process.start()
    half = PEOPLE // 2
    by_scim = []
    for i in range(half):
        response = scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": f"pupil{i:04d}@students.edu.sg",
                "name": {"formatted": f"Pupil Number {i}", "givenName": "Pupil"},
            },
        )
        assert response.status_code == 201, response.json
        by_scim.append(str(response.json["id"]))
    with admin_connection(slapd) as admin:
        for i in range(half):
            admin.add(
                f"uid=ldap{i:04d},{STUDENTS}",
                ["inetOrgPerson", "mimsPerson"],
                {"cn": f"Ldap Person {i}", "sn": "Person", "mail": f"ldap{i:04d}@students.edu.sg"},
            )

    # 1. The target dies mid-stream; renames go on meanwhile; it comes back empty.
    wait_until(lambda: len(peer_users(empty_peer)) >= 300, 60, "300 people at the target")
    empty_peer.kill()
    for ident in by_scim[:100]:
        patch(scim, ident, "userName", f"renamed_{ident[:8]}@students.edu.sg")
    with admin_connection(slapd) as admin:
        for i in range(100):
            old = f"uid=ldap{i:04d},{STUDENTS}"
            admin.modify_dn(old, f"uid=ldapnew{i:04d}")
            admin.modify(
                f"uid=ldapnew{i:04d},{STUDENTS}",
                {"mail": [(ldap3.MODIFY_REPLACE, [f"ldapnew{i:04d}@students.edu.sg"])]},
            )
    empty_peer.restart()

    # 2. The sync process is SIGKILLed while it sends everything again; moves, deactivations
    # and deletions happen while it is down; it is started again.
    wait_until(lambda: len(peer_users(empty_peer)) >= 200, 90, "the target being refilled")
    sync_process.kill()
    for ident in by_scim[100:200]:  # moves: a staff login ID moves the entry to ou=staff
        patch(scim, ident, "userName", f"teacher_{ident[:8]}@schools.gov.sg")
    for ident in by_scim[200:300]:
        patch(scim, ident, "active", False)
    deleted = by_scim[300:310]
    for ident in deleted:
        assert scim.delete(f"/Users/{ident}").status_code == 204
    with admin_connection(slapd) as admin:
        for i in range(100, 200):  # moves through LDAP
            admin.modify_dn(f"uid=ldap{i:04d},{STUDENTS}", f"uid=ldap{i:04d}", new_superior=STAFF)
            admin.modify(
                f"uid=ldap{i:04d},{STAFF}",
                {"mail": [(ldap3.MODIFY_REPLACE, [f"ldap{i:04d}@schools.gov.sg"])]},
            )
        for i in range(200, 300):  # deactivations through LDAP
            admin.modify(
                f"uid=ldap{i:04d},{STUDENTS}", {"mimsDisabled": [(ldap3.MODIFY_REPLACE, ["TRUE"])]}
            )
    sync_process.start()

    # 3. The end state is the directory's, exactly; the deleted are deactivated, not gone.
    def matches() -> bool:
        expected = directory_people(slapd)
        held = target_people(empty_peer)
        gone = {uuid: held.get(uuid) for uuid in deleted}
        return (
            # a deleted person the target had is deactivated; one it never had stays unknown
            all(state is None or state[1] is False for state in gone.values())
            and {u: s for u, s in held.items() if u not in gone} == expected
        )

    def differences() -> str:
        expected = directory_people(slapd)
        held = target_people(empty_peer)
        wrong = [(u, expected[u], held.get(u)) for u in expected if held.get(u) != expected[u]]
        extra = [(u, held[u]) for u in held if u not in expected and u not in deleted]
        return f"{len(wrong)} differ, e.g. {wrong[:3]}; {len(extra)} extra, e.g. {extra[:3]}"

    try:
        wait_until(matches, 60, "the target to match the directory")
    except pytest.fail.Exception:
        pytest.fail(differences())
    assert PEOPLE - len(deleted) <= len(peer_users(empty_peer)) <= PEOPLE
    assert sync_process.stop() == 0
    log = sync_process.log.read_text()
    assert "sending everything again" in log  # the lost target was noticed
    assert "Traceback" not in log
