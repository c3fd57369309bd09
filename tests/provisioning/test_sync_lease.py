"""One sync process per target (issue 21): the lease in the target's entry, and `mims sync run`.

The store's lease against the session's slapd (racing takers, expiry, renew, release), then
real `mims sync run` processes against the real SCIM peer: of two started at once only one
pushes; kill -9 the holder and the other takes over once the lease runs out.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.directory.sync_state import SyncStateStore
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.sync import (
    TARGET,
    TOKEN_ENV,
    clear_sync_state,
    log_size,
    peer_users,
    start_mims,
    wait_until,
    writes,
)

STUDENTS = f"ou=students,ou=people,{SUFFIX}"
LEASE = 2  # seconds: short, so a takeover comes quickly


@pytest.fixture
def store(directory: LdapClient, slapd: ManagedSlapd) -> Iterator[SyncStateStore]:
    state = SyncStateStore(directory, SUFFIX, TARGET)
    state.ensure()
    yield state
    clear_sync_state(slapd)


def race(store: SyncStateStore, directory: LdapClient, takers: int) -> list[str]:
    """Let ``takers`` threads ask for the free lease at the same moment; return who won."""
    gate = threading.Barrier(takers)
    won: list[str] = []

    def take(holder: str) -> None:
        gate.wait()
        try:
            if store.take_lease(holder, 30).held_by(holder):
                won.append(holder)
        finally:
            directory.close()

    threads = [threading.Thread(target=take, args=(f"h:{n}:x",)) for n in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_of_eight_processes_racing_for_a_free_lease_exactly_one_wins(
    store: SyncStateStore, directory: LdapClient
) -> None:
    for _round in range(5):
        won = race(store, directory, 8)
        assert len(won) == 1
        assert store.lease().holder == won[0]
        store.release_lease(won[0])
        assert store.lease().holder is None


def test_a_live_lease_is_kept_an_expired_one_taken_over(store: SyncStateStore) -> None:
    first = store.take_lease("one:1:a", 0.5)
    assert first.held_by("one:1:a")
    assert store.take_lease("two:2:b", 30).held_by("one:1:a")  # live: two must wait
    assert store.take_lease("one:1:a", 0.5).held_by("one:1:a")  # its own: taken again
    time.sleep(0.6)
    assert store.take_lease("two:2:b", 30).held_by("two:2:b")  # expired: taken over
    assert store.renew_lease("one:1:a", 30).held_by("two:2:b")  # the old holder lost it
    store.release_lease("one:1:a")  # not its own: nothing happens
    assert store.lease().holder == "two:2:b"
    renewed = store.renew_lease("two:2:b", 30)
    assert renewed.until is not None and first.until is not None
    assert renewed.until > first.until


@pytest.fixture
def env(config: Config, slapd: ManagedSlapd, tmp_path: Path) -> Iterator[dict[str, str]]:
    """`mims` pointed at the session's slapd, with a short lease."""
    yield {
        "MIMS_DATA_DIR": str(config.slapd.data_dir),
        "HOME": str(config.slapd.data_dir.parent),
        "MIMS_CONFIG": str(tmp_path / "site.toml"),
    }
    clear_sync_state(slapd)


def target_file(env: dict[str, str], peer: PeerServer) -> dict[str, str]:
    Path(env["MIMS_CONFIG"]).write_text(
        f"[sync]\nlease_seconds = {LEASE}\n"
        f'[sync.targets.{TARGET}]\nkind = "scim"\nurl = "{peer.base_url}"\n'
        f'token_env = "{TOKEN_ENV}"\nrate = 1000\n'
    )
    return env | {TOKEN_ENV: peer.token}


def add_students(slapd: ManagedSlapd, *names: str) -> None:
    with admin_connection(slapd) as admin:
        for name in names:
            admin.add(
                f"uid={name},{STUDENTS}",
                ["inetOrgPerson", "mimsPerson"],
                {"cn": name.title(), "sn": name.title(), "mail": f"{name}@students.edu.sg"},
            )


def status(env: dict[str, str]) -> dict[str, object]:
    shown = mims("sync", "status", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    (target,) = json.loads(shown.stdout)
    return target  # type: ignore[no-any-return]


def holder_pid(env: dict[str, str]) -> int | None:
    holder = status(env)["lease_holder"]
    return int(str(holder).split(":")[1]) if holder else None


@pytest.mark.slow
def test_two_runners_one_pushes_and_the_other_takes_over_when_the_holder_is_killed(
    env: dict[str, str], empty_peer: PeerServer, slapd: ManagedSlapd, tmp_path: Path
) -> None:
    variables = target_file(env, empty_peer)
    add_students(slapd, "ann", "ben", "cho")
    since = log_size(empty_peer)
    runners = {
        number: start_mims("sync", "run", TARGET, env=variables, output=tmp_path / f"{number}.err")
        for number in (1, 2)
    }
    try:
        wait_until(lambda: len(peer_users(empty_peer)) == 3, 60, "the first three people")
        holder = holder_pid(variables)
        assert holder in {runner.pid for runner in runners.values()}
        (waiter,) = [number for number, runner in runners.items() if runner.pid != holder]
        (held,) = [number for number, runner in runners.items() if runner.pid == holder]
        said = tmp_path / f"{waiter}.err"
        wait_until(lambda: "another sync process holds" in said.read_text(), 30, "the wait line")
        line = next(x for x in said.read_text().splitlines() if "another sync process" in x)
        assert line.startswith(f"another sync process holds {TARGET} (")
        assert f":{holder}) until " in line and line.endswith("; waiting")
        assert said.read_text().count("another sync process holds") == 1
        shown = mims("sync", "status", env=variables).stdout
        assert f":{holder} until " in shown.splitlines()[1]

        os.kill(holder, signal.SIGKILL)
        runners[held].wait()
        add_students(slapd, "dev")
        wait_until(lambda: len(peer_users(empty_peer)) == 4, 60, "the fourth person")
        assert holder_pid(variables) == runners[waiter].pid

        created = [path for method, path in writes(empty_peer, since) if method == "POST"]
        assert created == ["/v2/Users"] * 4  # each person created once, by one runner at a time
        assert sorted(u["userName"] for u in peer_users(empty_peer)) == [
            f"{name}@students.edu.sg" for name in ("ann", "ben", "cho", "dev")
        ]

        runners[waiter].send_signal(signal.SIGTERM)  # a clean exit gives the lease back
        assert runners[waiter].wait(timeout=30) == 0
        assert status(variables)["lease_holder"] is None
    finally:
        for runner in runners.values():
            if runner.poll() is None:
                runner.kill()
                runner.wait()


@pytest.mark.slow
def test_once_while_another_holds_the_lease_exits_with_one_line(
    env: dict[str, str], empty_peer: PeerServer, directory: LdapClient
) -> None:
    variables = target_file(env, empty_peer)
    store = SyncStateStore(directory, SUFFIX, TARGET)
    store.ensure()
    store.take_lease("elsewhere:4242:abcd", 60)
    run = mims("sync", "run", TARGET, "--once", env=variables)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(
        f"Error: another sync process holds {TARGET} (elsewhere:4242) until "
    )
    assert status(variables)["lease_holder"] == "elsewhere:4242:abcd"
    assert peer_users(empty_peer) == []  # it pushed nothing


def test_an_old_entry_without_the_lease_class_gets_it(
    directory: LdapClient, slapd: ManagedSlapd
) -> None:
    entry = f"cn={TARGET},ou=sync,ou=services,{SUFFIX}"
    with admin_connection(slapd) as admin:
        admin.add(entry, ["mimsSyncTarget"], {"cn": TARGET})
    try:
        store = SyncStateStore(directory, SUFFIX, TARGET)
        store.ensure()
        assert store.take_lease("h:1:a", 30).held_by("h:1:a")
        with admin_connection(slapd) as admin:
            admin.search(entry, "(objectClass=mimsSyncLease)", ldap3.BASE)
            assert len(admin.entries) == 1
    finally:
        clear_sync_state(slapd)
