"""Retry rules: an add whose answer was lost is retried on the next server and re-read there.

A relay between the client and slapd loses the connection at the worst moment: after slapd
has applied the adds but before their answers reach the client (or before the adds reach
slapd at all). The client then retries on the next server of its list, the same slapd reached
directly, which answers entryAlreadyExists (68) for every add that landed.

The relay reads LDAP messages, so it must see them unencrypted: it listens on plain TCP and
passes them on to slapd's ldapi socket (where a simple bind needs no TLS).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory.bulk import BulkWriter
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import NameTaken
from tests.support.directory import SUFFIX, Settings


class Relay:
    """A TCP relay to slapd that drops answers (``swallow``) or requests (``cut``), hangs up."""

    def __init__(self, ldapi: Path) -> None:
        self.ldapi = ldapi
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ldap://127.0.0.1:{self.listener.getsockname()[1]}"
        self.swallowing = 0  # answers still to drop before hanging up
        self.cutting = False
        self.armed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def swallow(self, answers: int) -> None:
        """Relay the next requests but drop ``answers`` answers, then close the connection."""
        self.swallowing = answers
        self.armed.set()

    def cut(self) -> None:
        """Close the connection when the next request arrives, without relaying it."""
        self.cutting = True
        self.armed.set()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX)
            server.connect(str(self.ldapi))
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._answers, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        while data := _recv(client):
            if self.cutting:
                _hang_up(client, server)
                return
            server.sendall(data)

    def _answers(self, server: socket.socket, client: socket.socket) -> None:
        buffer = b""
        while data := _recv(server):
            if not self.armed.is_set():
                client.sendall(data)
                continue
            buffer += data
            while (size := _message_size(buffer)) is not None:
                buffer = buffer[size:]
                self.swallowing -= 1
                if self.swallowing == 0:
                    _hang_up(client, server)
                    return


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _hang_up(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def _message_size(buffer: bytes) -> int | None:
    """Return the size of the first whole BER message in ``buffer`` (an LDAPMessage), if any."""
    if len(buffer) < 2:
        return None
    length = buffer[1]
    header = 2
    if length & 0x80:
        count = length & 0x7F
        if len(buffer) < 2 + count:
            return None
        length = int.from_bytes(buffer[2 : 2 + count], "big")
        header += count
    return header + length if len(buffer) >= header + length else None


@pytest.fixture
def relay(slapd: ManagedSlapd) -> Iterator[Relay]:
    relayed = Relay(slapd.layout.socket)
    yield relayed
    relayed.close()


@pytest.fixture
def client(
    slapd: ManagedSlapd, relay: Relay, settings_for: Settings, directory: LdapClient
) -> Iterator[LdapClient]:
    """A client whose first server is the relay and whose second is slapd itself."""
    made = LdapClient(settings_for(slapd, relay.url, slapd.ldapi_url, tls="off"))
    yield made
    made.close()  # `directory` (requested for its clean-up) then empties ou=groups


def group(name: str, description: str) -> tuple[str, dict[str, list[str]]]:
    attributes = {
        "objectClass": ["mimsGroup"],
        "cn": [name],
        "description": [description],
    }
    return f"cn={name},ou=groups,{SUFFIX}", attributes


def descriptions(slapd_admin: ldap3.Connection, entry: str) -> list[str]:
    slapd_admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["description"])
    return [str(value) for e in slapd_admin.entries for value in e.description.values]


def test_an_add_that_landed_before_the_connection_broke_counts_as_done(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    client.ping()
    entry, attributes = group("retried", "sent once")
    relay.swallow(1)
    client.add(entry, attributes)
    assert client.ldap3.server() != relay.url
    assert descriptions(admin, entry) == ["sent once"]


def test_a_retried_add_that_meets_someone_elses_entry_is_name_taken(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    entry, theirs = group("contested", "theirs")
    admin.add(entry, attributes=theirs)
    client.ping()
    relay.cut()  # the first attempt never reaches slapd
    _, ours = group("contested", "ours")
    with pytest.raises(NameTaken):
        client.add(entry, ours)
    assert descriptions(admin, entry) == ["theirs"]


def test_an_add_that_is_not_retried_and_meets_an_entry_is_name_taken(
    client: LdapClient, admin: ldap3.Connection
) -> None:
    entry, attributes = group("twice", "same")
    admin.add(entry, attributes=attributes)
    with pytest.raises(NameTaken):
        client.add(entry, attributes)  # the same values, but no earlier attempt: a real 68


def test_pipelined_adds_resume_on_the_next_server_and_keep_the_real_refusals(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    taken, theirs = group("bulk-taken", "theirs")
    admin.add(taken, attributes=theirs)
    entries = [group("bulk-a", "a"), group("bulk-taken", "ours"), group("bulk-b", "b")]
    lookup_first = client.libldap.run(lambda c: c.whoami_s())  # bound through the relay
    assert lookup_first
    relay.swallow(len(entries))
    outcomes = BulkWriter(client).add_all(entries)
    assert [type(outcome).__name__ for outcome in outcomes] == ["NoneType", "NameTaken", "NoneType"]
    assert client.libldap.server() != relay.url
    assert descriptions(admin, taken) == ["theirs"]
    assert descriptions(admin, entries[0][0]) == ["a"]


def test_a_member_addition_that_landed_before_the_connection_broke_counts_as_done(
    client: LdapClient, relay: Relay, admin: ldap3.Connection
) -> None:
    entry, attributes = group("resent-members", "members")
    admin.add(entry, attributes=attributes)
    members = [f"uid=pupil_{n},ou=students,ou=people,{SUFFIX}" for n in range(120)]
    assert client.libldap.run(lambda c: c.whoami_s())  # bound through the relay
    relay.swallow(3)  # every modify lands; none of the answers comes back
    assert BulkWriter(client).add_members([(entry, members)]) == [None]
    assert client.libldap.server() != relay.url
    admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    assert sorted(admin.entries[0].member.values) == sorted(members)
