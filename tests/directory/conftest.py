"""Directory fixtures: client settings for any list of servers, and extra slapds to fail over to."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.directory.client import ClientSettings
from bridge.directory.servers import TlsSetting
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, Settings, admin_connection
from tests.support.ports import free_port


@pytest.fixture
def settings_for() -> Settings:
    """Return a maker of ClientSettings: the slapd whose service account binds, then its URLs.

    By default ldap:// URLs use StartTLS and certificates are checked against the slapd's CA
    (a simple bind over plain TCP is refused); ``ca_file=""`` means the system's CAs.
    """

    def make(
        slapd: ManagedSlapd,
        *urls: str,
        timeout: float = 2.0,
        quarantine: float = 30.0,
        tls: TlsSetting = "starttls",
        ca_file: str | None = None,
    ) -> ClientSettings:
        if ca_file is None:
            ca_file = str(slapd.ca_file)
        return ClientSettings(
            urls=urls,
            bind_dn=slapd.service_dn,
            password=slapd.service_password(),
            suffix=SUFFIX,
            connect_timeout=timeout,
            operation_timeout=timeout,
            tls=tls,
            ca_file=ca_file,
            quarantine_seconds=quarantine,
        )

    return make


@pytest.fixture
def extra_slapd(tmp_path: Path, slapd: ManagedSlapd) -> Iterator[Callable[[str], ManagedSlapd]]:
    """Start more slapds, each in its own folder on a free port; all stopped at the end.

    Their service account has the session slapd's password and their certificate the
    session slapd's CA, so one ClientSettings binds to any of them (as it would to the
    providers of one replicated directory).
    """
    started: list[ManagedSlapd] = []

    def start(name: str) -> ManagedSlapd:
        server = ManagedSlapd(tmp_path / name, SUFFIX, no_sync=True)
        server.init()
        shutil.copytree(slapd.layout.tls_dir, server.layout.tls_dir, dirs_exist_ok=True)
        server.start(free_port())
        started.append(server)
        with admin_connection(server) as admin:
            change = {"userPassword": [(ldap3.MODIFY_REPLACE, [slapd.service_password()])]}
            admin.modify(server.service_dn, change)
        return server

    yield start
    for server in started:
        server.stop()
