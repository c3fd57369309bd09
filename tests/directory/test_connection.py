"""Connections: an ordered server list (write target first), failover, quarantine, reconnect.

With several URLs the ldap3 pool (every write) uses the write target alone (the first URL
while the directory names none: these slapds are not a replicated pair); python-ldap reads
walk the list. tests/directory/test_write_target.py tests a real pair.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.directory import lookup
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import DirectoryUnavailable
from tests.support.directory import SUFFIX, Settings
from tests.support.ports import free_port

Start = Callable[[str], ManagedSlapd]


def tcp(server: ManagedSlapd) -> str:
    url = server.ldap_url()
    assert url is not None
    return url


def read_with_ldap3(client: LdapClient) -> None:
    client.ping()


def read_with_libldap(client: LdapClient) -> None:
    lookup.entries(client, SUFFIX, "(ou=people)", ["ou"], [])


def freeze(pid: int) -> None:
    """Stop a process and wait until the kernel says it is stopped (SIGSTOP is asynchronous)."""
    os.kill(pid, signal.SIGSTOP)
    for _ in range(500):
        states = {
            stat.read_text().rsplit(")", 1)[1].split()[0]
            for stat in Path(f"/proc/{pid}/task").glob("*/stat")
        }
        if states == {"T"}:  # every thread of slapd is stopped
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"process {pid} did not stop")


READS = [
    pytest.param(read_with_ldap3, "ldap3", id="ldap3"),
    pytest.param(read_with_libldap, "libldap", id="python-ldap"),
]
WALKING_READS = [pytest.param(read_with_libldap, "libldap", id="python-ldap")]


@pytest.mark.parametrize(("read", "library"), WALKING_READS)
def test_the_first_url_that_answers_is_used(
    slapd: ManagedSlapd, settings_for: Settings, read: Callable[[LdapClient], None], library: str
) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    directory = LdapClient(settings_for(slapd, dead, tcp(slapd)))
    read(directory)
    assert getattr(directory, library).server() == tcp(slapd)
    directory.close()


@pytest.mark.parametrize(("read", "library"), READS)
def test_no_url_answering_is_directory_unavailable(
    slapd: ManagedSlapd, settings_for: Settings, read: Callable[[LdapClient], None], library: str
) -> None:
    directory = LdapClient(
        settings_for(slapd, f"ldap://127.0.0.1:{free_port()}", f"ldap://127.0.0.1:{free_port()}")
    )
    with pytest.raises(DirectoryUnavailable):
        read(directory)


@pytest.mark.parametrize(("read", "library"), READS)
def test_a_server_that_never_answers_times_out(
    slapd: ManagedSlapd, settings_for: Settings, read: Callable[[LdapClient], None], library: str
) -> None:
    with socket.socket() as silent:  # accepts connections but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        directory = LdapClient(settings_for(slapd, url, timeout=1))
        with pytest.raises(DirectoryUnavailable):
            read(directory)


def test_each_thread_has_its_own_connection(slapd: ManagedSlapd, settings_for: Settings) -> None:
    directory = LdapClient(settings_for(slapd, slapd.ldapi_url))
    seen: list[int] = []
    together = threading.Barrier(4)

    def work() -> None:
        directory.ping()
        seen.append(id(directory.connection()))
        together.wait()  # all four are alive at once, so their ids cannot be reused
        directory.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 4


@pytest.mark.parametrize(("read", "library"), WALKING_READS)
def test_the_write_server_comes_first_and_a_stopped_one_fails_over(
    slapd: ManagedSlapd,
    extra_slapd: Start,
    settings_for: Settings,
    read: Callable[[LdapClient], None],
    library: str,
) -> None:
    first = extra_slapd("first")
    client = LdapClient(settings_for(slapd, tcp(first), tcp(slapd)))
    pool = getattr(client, library)
    read(client)
    assert pool.server() == tcp(first)
    first.stop()
    read(client)  # the broken connection is retried on the next server
    assert pool.server() == tcp(slapd)
    client.close()


@pytest.mark.parametrize(("read", "library"), WALKING_READS)
def test_a_frozen_server_is_quarantined_then_tried_again(
    slapd: ManagedSlapd,
    extra_slapd: Start,
    settings_for: Settings,
    read: Callable[[LdapClient], None],
    library: str,
) -> None:
    frozen = extra_slapd("frozen")
    now = [0.0]  # the quarantine's clock, moved by hand
    client = LdapClient(
        settings_for(slapd, tcp(frozen), tcp(slapd), timeout=3, quarantine=30),
        clock=lambda: now[0],
    )
    pool = getattr(client, library)
    read(client)
    assert pool.server() == tcp(frozen)
    pid = frozen.pid()
    assert pid is not None
    freeze(pid)  # accepts TCP, answers nothing
    try:
        read(client)  # times out on the frozen server, retried on the next
        assert pool.server() == tcp(slapd)
    finally:
        os.kill(pid, signal.SIGCONT)
    # It answers again, but stays set aside: new connections skip it, and writes, which go
    # to the write target alone, fail at once.
    client.close()
    read_with_libldap(client)
    assert client.libldap.server() == tcp(slapd)
    with pytest.raises(DirectoryUnavailable):
        read_with_ldap3(client)
    now[0] += 31  # the quarantine ends: the write server is first again, even for a thread
    read(client)  # that still holds a connection to the other server
    assert pool.server() == tcp(frozen)
    client.close()


def test_writes_stay_on_the_write_target_and_sign_ins_walk(
    slapd: ManagedSlapd, extra_slapd: Start, settings_for: Settings
) -> None:
    first = extra_slapd("target")
    client = LdapClient(settings_for(slapd, tcp(first), tcp(slapd)))
    read_with_ldap3(client)
    assert client.ldap3.server() == tcp(first)
    first.stop()
    with pytest.raises(DirectoryUnavailable):  # no walk to the other server for writes
        read_with_ldap3(client)
    assert client.ldap3.server() is None
    answer = client.try_bind(slapd.service_dn, slapd.service_password(), [])
    assert answer["result"] == 0  # a sign-in is checked on any server that answers
    read_with_libldap(client)
    assert client.libldap.server() == tcp(slapd)
    client.close()


@pytest.mark.parametrize(("read", "library"), READS)
def test_a_restarted_directory_is_read_again_by_the_same_client(
    tmp_path: Path, settings_for: Settings, read: Callable[[LdapClient], None], library: str
) -> None:
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    port = free_port()
    server.start(port)
    try:
        client = LdapClient(settings_for(server, f"ldap://127.0.0.1:{port}"))
        read(client)
        server.stop()
        with pytest.raises(DirectoryUnavailable):
            read(client)
        server.start(port)
        read(client)  # quarantined, but the only server: tried at once
        client.close()
    finally:
        server.stop()
