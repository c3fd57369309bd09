"""Two providers made by `mims slapd init-replica`: writes to either reach the other (issue 21).

Two real slapds, started here on free ports; the second made from the first by the command a
user runs. Replication is polled for with a generous deadline, never timed.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.consumers import create_service_account
from tests.support.directory import SUFFIX, admin_connection, bound
from tests.support.ports import free_port

DEADLINE = 30.0  # seconds: generous; replication takes milliseconds when it works
PEOPLE = f"ou=students,ou=people,{SUFFIX}"


@dataclass(frozen=True)
class Pair:
    first: ManagedSlapd
    second: ManagedSlapd


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("pair")
    first = ManagedSlapd(root / "first", SUFFIX, no_sync=True)
    first.init()
    first.start(free_port(), free_port())
    second = ManagedSlapd(root / "second", SUFFIX, no_sync=True)
    try:
        done = init_replica(first, second.layout.root, str(first.ldaps_url()))
        assert done.returncode == 0, done.stderr
        yield Pair(first, second)
    finally:
        second.stop()
        first.stop()


def init_replica(
    first: ManagedSlapd, folder: Path, from_url: str
) -> subprocess.CompletedProcess[str]:
    return mims(
        "slapd",
        "init-replica",
        *("--from", from_url),
        *("--from-data-dir", str(first.layout.root)),
        *("--data-dir", str(folder)),
        *("--port", str(free_port())),
        *("--ldaps-port", str(free_port())),
    )


def add_person(slapd: ManagedSlapd, uid: str) -> str:
    entry = f"uid={uid},{PEOPLE}"
    with admin_connection(slapd) as connection:
        connection.add(
            entry,
            ["inetOrgPerson"],
            {"uid": uid, "cn": uid, "sn": uid, "userPassword": "Secret-Password-123"},
        )
    return entry


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def present(slapd: ManagedSlapd, entry: str) -> bool:
    with admin_connection(slapd) as connection:
        try:
            return bool(connection.search(entry, "(objectClass=*)", ldap3.BASE))
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return False


def status(slapd: ManagedSlapd) -> str:
    done = mims("slapd", "status", "--data-dir", str(slapd.layout.root))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_add_on_either_provider_reaches_the_other(pair: Pair) -> None:
    on_first = add_person(pair.first, "added_on_first")
    on_second = add_person(pair.second, "added_on_second")

    assert eventually(lambda: present(pair.second, on_first))
    assert eventually(lambda: present(pair.first, on_second))


def test_the_second_has_the_first_ones_access_rules(pair: Pair) -> None:
    person = add_person(pair.first, "read_by_a_reader")
    reader = create_service_account(pair.first.layout.root, "replica-reader", "reader")

    def read_on_second(entry: str, *attributes: str) -> dict[str, list[bytes]]:
        with bound(pair.second, reader.dn, reader.secret) as connection:
            connection.search(entry, "(objectClass=*)", ldap3.BASE, attributes=list(attributes))
            found = connection.response or [{"raw_attributes": {}}]
            return {k: v for k, v in found[0]["raw_attributes"].items() if v}

    def bound_on_second() -> bool:
        try:
            return bool(read_on_second(person, "uid"))
        except AssertionError:  # the account has not reached the second yet
            return False

    assert eventually(bound_on_second)
    assert read_on_second(person, "uid", "userPassword") == {"uid": [b"read_by_a_reader"]}
    assert read_on_second(f"cn=mims-bridge,ou=services,{SUFFIX}", "*") == {}


def test_status_shows_equal_context_csns_once_caught_up(pair: Pair) -> None:
    add_person(pair.second, "changes_the_csn")

    def in_step() -> bool:
        return "in step with the peer" in status(pair.first)

    assert eventually(in_step)
    shown = status(pair.second)
    own = next(line for line in shown.splitlines() if line.startswith("contextCSN: "))
    theirs = next(line for line in shown.splitlines() if line.startswith("peer "))
    assert own.split(": ", 1)[1] == theirs.split(": ", 1)[1]
    assert "#002#" in own  # the second's own serverID stamps its writes


def test_a_bad_from_url_is_one_line_and_leaves_no_folder(pair: Pair, tmp_path: Path) -> None:
    folder = tmp_path / "third"
    unused = f"ldaps://127.0.0.1:{free_port()}"

    for url in (unused, "ldap://127.0.0.1:1389", "not a url"):
        done = init_replica(pair.first, folder, url)
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("Error: ")
        assert not folder.exists()
