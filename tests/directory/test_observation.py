"""What the client home reports to an observer (the /metrics hook): kinds, results, failovers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from bridge.directory import lookup, observation
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import DirectoryUnavailable, NotFound
from tests.support.directory import SUFFIX, Settings
from tests.support.ports import free_port


class Recorder:
    """An LdapObserver that keeps what it was told."""

    def __init__(self) -> None:
        self.operations: list[tuple[str, str]] = []
        self.held: dict[str, int] = {}
        self.failovers = 0
        self.quarantine_counts: list[int] = []

    def operation(self, kind: str, result: str, seconds: float) -> None:
        assert seconds >= 0
        self.operations.append((kind, result))

    def connections(self, library: str, change: int) -> None:
        self.held[library] = self.held.get(library, 0) + change

    def failover(self) -> None:
        self.failovers += 1

    def quarantined(self, count: int) -> None:
        self.quarantine_counts.append(count)


@pytest.fixture
def seen() -> Iterator[Recorder]:
    recorder = Recorder()
    observation.observe_with(recorder)
    yield recorder
    observation.observe_with(None)


def tcp(server: ManagedSlapd) -> str:
    url = server.ldap_url()
    assert url is not None
    return url


def test_each_operation_is_reported_by_kind_and_result_name(
    slapd: ManagedSlapd, settings_for: Settings, seen: Recorder
) -> None:
    directory = LdapClient(settings_for(slapd, tcp(slapd)))
    directory.ping()
    with pytest.raises(NotFound):
        directory.run(
            lambda c: c.search(f"ou=nobody,{SUFFIX}", "(objectClass=*)", "BASE"), retry=False
        )
    lookup.entries(directory, SUFFIX, "(ou=people)", ["ou"], [])
    result = directory.try_bind(f"uid=nobody,ou=students,ou=people,{SUFFIX}", "wrong", [])
    assert result["result"] == 49
    directory.close()
    assert ("bind", "success") in seen.operations  # each pool's own bind
    assert ("search", "success") in seen.operations
    assert ("search", "noSuchObject") in seen.operations
    assert ("bind", "invalidCredentials") in seen.operations
    assert seen.failovers == 0


def test_a_failover_and_the_quarantine_are_reported(
    slapd: ManagedSlapd, settings_for: Settings, seen: Recorder
) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    directory = LdapClient(settings_for(slapd, dead, tcp(slapd)))
    # Sign-ins walk every server (writes stay on the write target: write_target.py).
    signed = directory.try_bind(slapd.service_dn, slapd.service_password(), [])
    assert signed["result"] == 0
    directory.close()
    assert seen.failovers == 1
    assert seen.quarantine_counts == [1]  # the dead server, set aside
    assert ("bind", "unavailable") in seen.operations
    with socket.socket() as silent:  # accepts, never answers: the bind times out
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        frozen = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(DirectoryUnavailable):
            LdapClient(settings_for(slapd, frozen, timeout=1)).ping()
    assert seen.operations[-1] in (("bind", "timeout"), ("bind", "unavailable"))


def test_without_an_observer_nothing_is_reported(
    slapd: ManagedSlapd, settings_for: Settings
) -> None:
    recorder = Recorder()
    observation.observe_with(recorder)
    observation.observe_with(None)
    directory = LdapClient(settings_for(slapd, tcp(slapd)))
    directory.ping()
    directory.close()
    assert recorder.operations == []


def test_held_connections_are_counted_while_open(
    slapd: ManagedSlapd, settings_for: Settings, seen: Recorder
) -> None:
    directory = LdapClient(settings_for(slapd, tcp(slapd)))
    directory.ping()
    assert seen.held == {"ldap3": 1}
    directory.close()
    assert seen.held == {"ldap3": 0}  # opened, then let go
