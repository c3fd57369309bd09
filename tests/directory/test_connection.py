"""Connections: an ordered URL list (write target first), failover, reconnect, timeouts."""

from __future__ import annotations

import socket
import threading

import pytest

from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd, free_port
from bridge.errors import DirectoryUnavailable
from tests.support.directory import client_settings_for


def test_the_first_url_that_answers_is_used(slapd: ManagedSlapd) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    directory = LdapClient(client_settings_for(slapd, dead, str(slapd.ldap_url())))
    directory.ping()
    assert directory.connection().server.port == int(str(slapd.ldap_url()).rsplit(":", 1)[1])
    directory.close()


def test_no_url_answering_is_directory_unavailable(slapd: ManagedSlapd) -> None:
    directory = LdapClient(
        client_settings_for(
            slapd, f"ldap://127.0.0.1:{free_port()}", f"ldap://127.0.0.1:{free_port()}"
        )
    )
    with pytest.raises(DirectoryUnavailable):
        directory.ping()


def test_a_server_that_never_answers_times_out(slapd: ManagedSlapd) -> None:
    with socket.socket() as silent:  # accepts connections but never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        directory = LdapClient(client_settings_for(slapd, url, timeout=1))
        with pytest.raises(DirectoryUnavailable):
            directory.ping()


def test_each_thread_has_its_own_connection(config: Config, slapd: ManagedSlapd) -> None:
    directory = LdapClient(client_settings_for(slapd, slapd.ldapi_url))
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
