"""Replicas made by `mims slapd init-replica`: two providers and a read-only consumer (issue 21).

Three real slapds, started here on free ports; the second provider and the consumer made from
the first by the command a user runs. Replication is polled for with a generous deadline,
never timed.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap3
import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.consumers import create_service_account
from tests.support.directory import SUFFIX, admin_connection, bound, closing
from tests.support.ports import free_port

DEADLINE = 30.0  # seconds: generous; replication takes milliseconds when it works
PEOPLE = f"ou=students,ou=people,{SUFFIX}"


@dataclass(frozen=True)
class Pair:
    first: ManagedSlapd
    second: ManagedSlapd
    consumer: ManagedSlapd


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("pair")
    first = ManagedSlapd(root / "first", SUFFIX, no_sync=True)
    first.init()
    first.start(free_port(), free_port())
    second = ManagedSlapd(root / "second", SUFFIX, no_sync=True)
    consumer = ManagedSlapd(root / "consumer", SUFFIX, no_sync=True)
    try:
        # The consumer first: a provider with consumers may still get its second provider.
        done = init_replica(first, consumer.layout.root, str(first.ldaps_url()), "--read-only")
        assert done.returncode == 0, done.stderr
        done = init_replica(first, second.layout.root, str(first.ldaps_url()))
        assert done.returncode == 0, done.stderr
        yield Pair(first, second, consumer)
    finally:
        consumer.stop()
        second.stop()
        first.stop()


def init_replica(
    first: ManagedSlapd, folder: Path, from_url: str, *flags: str
) -> subprocess.CompletedProcess[str]:
    return mims(
        "slapd",
        "init-replica",
        *flags,
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


def status_json(slapd: ManagedSlapd) -> dict[str, Any]:
    done = mims("slapd", "status", "--json", "--data-dir", str(slapd.layout.root))
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


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


def test_status_shows_each_peer_in_step_once_caught_up(pair: Pair) -> None:
    add_person(pair.second, "changes_the_csn")

    def all_in_step() -> bool:
        peers = status_json(pair.first)["peers"]
        return len(peers) == 2 and all(peer["in_step"] for peer in peers)

    assert eventually(all_in_step)
    shown = status_json(pair.first)
    roles = {peer["url"]: peer["role"] for peer in shown["peers"]}
    assert roles == {
        str(pair.second.ldaps_url()): "provider",
        str(pair.consumer.ldaps_url()): "consumer",
    }
    for peer in shown["peers"]:
        assert peer["context_csn"] == shown["context_csn"]
        assert peer["lag_seconds"] == 0.0
        assert {server["server_id"] for server in peer["servers"]} >= {2}
    text = status(pair.second).splitlines()
    own = next(line for line in text if line.startswith("contextCSN: "))
    assert "#002#" in own  # the second's own serverID stamps its writes
    assert f"peer {pair.first.ldaps_url()} (provider): in step" in "\n".join(text)


def test_status_fails_on_a_stopped_consumer_which_then_catches_up(pair: Pair) -> None:
    ldaps_port = int(str(pair.consumer.ldaps_url()).rsplit(":", 1)[1])
    pair.consumer.stop()
    try:
        add_person(pair.first, "while_the_consumer_sleeps")
        done = mims("slapd", "status", "--json", "--data-dir", str(pair.first.layout.root))
        assert done.returncode == 1  # a peer that cannot be read is a failure for scripts
        peers = {peer["role"]: peer for peer in json.loads(done.stdout)["peers"]}
        assert peers["consumer"]["reachable"] is False
        assert "cannot read the peer" in peers["consumer"]["error"]
    finally:
        pair.consumer.start(free_port(), ldaps_port)  # the URL the first has of it
    assert eventually(lambda: present(pair.consumer, f"uid=while_the_consumer_sleeps,{PEOPLE}"))


def test_a_write_on_either_provider_reaches_the_consumer(pair: Pair) -> None:
    on_first = add_person(pair.first, "seen_by_the_consumer")
    on_second = add_person(pair.second, "also_seen_by_the_consumer")

    assert eventually(lambda: present(pair.consumer, on_first))
    assert eventually(lambda: present(pair.consumer, on_second))


def test_the_consumer_refuses_writes_with_a_referral_to_the_provider(pair: Pair) -> None:
    server = ldap3.Server(pair.consumer.ldapi_url, get_info=ldap3.NONE)
    account = (pair.consumer.service_dn, pair.consumer.service_password())
    connection = ldap3.Connection(server, *account, auto_bind=True, auto_referrals=False)
    with closing(connection):
        connection.add(f"uid=refused,{PEOPLE}", ["inetOrgPerson"], {"cn": "r", "sn": "r"})
        assert connection.result["description"] == "referral"
        (referral,) = connection.result["referrals"]
        assert referral.startswith(f"{pair.first.ldaps_url()}/")

    done = mims(
        "service",
        "create",
        "refused-here",
        "--role",
        "reader",
        "--data-dir",
        str(pair.consumer.layout.root),
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "Error: the directory server sent the bridge to another: "
        "a read-only replica takes no writes"
    ]
    assert not present(pair.first, f"cn=refused-here,ou=services,{SUFFIX}")


def test_a_consumer_cannot_be_made_from_a_consumer(pair: Pair, tmp_path: Path) -> None:
    folder = tmp_path / "cascade"
    done = mims(
        "slapd",
        "init-replica",
        "--read-only",
        *("--from", str(pair.consumer.ldaps_url())),
        *("--from-data-dir", str(pair.consumer.layout.root)),
        *("--data-dir", str(folder)),
        *("--port", str(free_port())),
        *("--ldaps-port", str(free_port())),
    )
    assert done.returncode == 1
    assert "is a read-only consumer" in done.stderr
    assert not folder.exists()


def test_a_bad_from_url_is_one_line_and_leaves_no_folder(pair: Pair, tmp_path: Path) -> None:
    folder = tmp_path / "third"
    unused = f"ldaps://127.0.0.1:{free_port()}"

    for url in (unused, "ldap://127.0.0.1:1389", "not a url"):
        done = init_replica(pair.first, folder, url)
        assert done.returncode == 1
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("Error: ")
        assert not folder.exists()


def people_database(connection: ldap3.Connection) -> str:
    connection.search("cn=config", f"(olcSuffix={SUFFIX})", ldap3.LEVEL, attributes=["1.1"])
    return str(connection.response[0]["dn"])


def status_of_peers(slapd: ManagedSlapd) -> dict[str, dict[str, Any]]:
    done = mims("slapd", "status", "--json", "--data-dir", str(slapd.layout.root))
    return {peer["url"]: peer for peer in json.loads(done.stdout)["peers"]}


def test_upgrade_all_brings_every_server_to_this_code_s_config(pair: Pair) -> None:
    # The second drifts: an index dropped by hand, an older schema version recorded.
    with admin_connection(pair.second) as connection:
        index = [(ldap3.MODIFY_DELETE, ["mimsSchool eq"])]
        connection.modify(people_database(connection), {"olcDbIndex": index})
    marker = json.loads(pair.second.layout.marker.read_text())
    marker["schema_version"] -= 1
    pair.second.layout.marker.write_text(json.dumps(marker))
    second, consumer = str(pair.second.ldaps_url()), str(pair.consumer.ldaps_url())

    drifted = status_of_peers(pair.first)
    assert drifted[second]["config"]["same_as_this_server"] is False
    assert drifted[consumer]["config"]["same_as_this_server"] is True
    assert drifted[second]["config"]["schema_version"] == marker["schema_version"]

    done = mims("slapd", "upgrade", "--all", "--data-dir", str(pair.first.layout.root))
    assert done.returncode == 0, done.stderr

    first = status_json(pair.first)
    for peer in first["peers"]:
        assert peer["config"]["same_as_this_server"] is True
        assert peer["config"]["schema_version"] == first["config"]["schema_version"]
    assert status_json(pair.second)["config"] == first["config"]
    # The replication account kept its rights: changes still flow everywhere.
    entry = add_person(pair.first, "after_the_upgrade")
    assert eventually(lambda: present(pair.second, entry) and present(pair.consumer, entry))


DELTA = (
    'logbase="cn=accesslog" logfilter="(&(objectClass=auditWriteObject)(reqResult=0))" '
    "syncdata=accesslog"
)


def syncrepl(slapd: ManagedSlapd) -> list[str]:
    with admin_connection(slapd) as connection:
        database = people_database(connection)
        connection.search(database, "(objectClass=*)", ldap3.BASE, attributes=["olcSyncrepl"])
        return [v.decode() for v in connection.response[0]["raw_attributes"]["olcSyncrepl"]]


def make_delta(slapd: ManagedSlapd) -> None:
    """Give a server the delta-syncrepl an init-replica made before plain syncrepl."""
    (stanza,) = syncrepl(slapd)
    with admin_connection(slapd) as connection:
        delta = stanza.replace(" type=refreshAndPersist", f" {DELTA} type=refreshAndPersist")
        replace = [(ldap3.MODIFY_REPLACE, [delta])]
        connection.modify(people_database(connection), {"olcSyncrepl": replace})


def test_servers_replicate_with_plain_syncrepl(pair: Pair) -> None:
    for server in (pair.first, pair.second, pair.consumer):
        (stanza,) = syncrepl(server)
        assert "type=refreshAndPersist" in stanza
        assert not any(word in stanza for word in ("syncdata=", "logbase=", "logfilter="))


def test_upgrade_all_turns_an_older_delta_syncrepl_into_plain_syncrepl(pair: Pair) -> None:
    servers = (pair.first, pair.second, pair.consumer)
    plain = {server.layout.root: syncrepl(server) for server in servers}
    for server in servers:
        make_delta(server)
        assert "syncdata=accesslog" in syncrepl(server)[0]
    entry = add_person(pair.second, "under_delta_syncrepl")
    assert eventually(lambda: present(pair.first, entry) and present(pair.consumer, entry))

    for _ in range(2):  # a second run changes nothing
        done = mims("slapd", "upgrade", "--all", "--data-dir", str(pair.first.layout.root))
        assert done.returncode == 0, done.stderr
        assert {server.layout.root: syncrepl(server) for server in servers} == plain

    for name, source in (
        ("after_plain_from_first", pair.first),
        ("after_plain_from_second", pair.second),
    ):
        entry = add_person(source, name)
        assert eventually(lambda: all(present(server, entry) for server in servers))  # noqa: B023


def test_every_server_purges_its_accesslog(pair: Pair) -> None:
    shown = status_json(pair.first)
    assert shown["config"]["accesslog_purge"] == ["30+00:00 1+00:00"]
    for peer in shown["peers"]:
        assert peer["config"]["accesslog_purge"] == ["30+00:00 1+00:00"]
