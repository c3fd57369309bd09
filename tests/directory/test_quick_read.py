"""Quick reads (python-ldap): the same URL order, timeouts and reconnects as the ldap3 side."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bridge.directory import dn
from bridge.directory.quick_read import QuickReader
from bridge.directory.slapd import ManagedSlapd, free_port
from bridge.errors import DirectoryUnavailable, NotFound
from tests.support.directory import SUFFIX, client_settings_for

PEOPLE = dn.people_base(SUFFIX)


def read_people_ou(reader: QuickReader) -> list[str]:
    entries = reader.search(SUFFIX, "(ou=people)", ["ou"], [])
    return [entry["dn"] for entry in entries]


def test_the_first_url_that_answers_is_used(slapd: ManagedSlapd) -> None:
    reader = QuickReader(
        client_settings_for(slapd, f"ldap://127.0.0.1:{free_port()}", slapd.ldapi_url)
    )
    assert read_people_ou(reader) == [PEOPLE]
    reader.close()


def test_no_url_answering_is_directory_unavailable(slapd: ManagedSlapd) -> None:
    reader = QuickReader(client_settings_for(slapd, f"ldap://127.0.0.1:{free_port()}"))
    with pytest.raises(DirectoryUnavailable):
        read_people_ou(reader)


def test_a_server_that_never_answers_times_out(slapd: ManagedSlapd) -> None:
    with socket.socket() as silent:  # accepts connections but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        reader = QuickReader(
            client_settings_for(slapd, f"ldap://127.0.0.1:{silent.getsockname()[1]}", timeout=1)
        )
        with pytest.raises(DirectoryUnavailable):
            read_people_ou(reader)


def test_an_unknown_base_is_not_found(slapd: ManagedSlapd) -> None:
    reader = QuickReader(client_settings_for(slapd, slapd.ldapi_url))
    with pytest.raises(NotFound):
        reader.search(f"ou=nowhere,{SUFFIX}", "(objectClass=*)", ["1.1"], [])
    reader.close()


def test_a_restarted_directory_is_read_again_by_the_same_reader(tmp_path: Path) -> None:
    server = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    server.init()
    port = free_port()
    server.start(port)
    try:
        reader = QuickReader(client_settings_for(server, f"ldap://127.0.0.1:{port}"))
        assert read_people_ou(reader) == [PEOPLE]
        server.stop()
        with pytest.raises(DirectoryUnavailable):
            read_people_ou(reader)
        server.start(port)
        assert read_people_ou(reader) == [PEOPLE]
        reader.close()
    finally:
        server.stop()
