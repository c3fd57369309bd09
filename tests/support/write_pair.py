"""A replicated pair for the write-target tests, and bridges (LdapClients) pointed at both.

A minimal local stand-in for tests/support/replicas.py (branch ha-tests), which was not
committed when these tests were written: the first provider by ``ManagedSlapd`` (what
`mims slapd init` runs), the second by `mims slapd init-replica`, as a user makes them.
Both are stopped by PID on leaving. Which provider wrote an entry is read from its
entryCSN, whose third field is the serverID of the provider that took the write (1: the
first, 2: the second); the entryCSN travels with the entry, so either server can tell.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

from bridge.directory.client import ClientSettings, LdapClient
from bridge.directory.replication import local_context_csn
from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.ports import free_port

DEADLINE = 60.0  # seconds: generous; replication and failover take far less when they work
SERVER_IDS = {1: "first", 2: "second"}


@dataclass
class Provider:
    """One provider: its folder, its ports (kept across restarts) and its URL."""

    slapd: ManagedSlapd
    port: int
    ldaps_port: int
    url: str = ""

    def start(self) -> None:
        """Start it again on the same ports (after a kill -9: as an admin would)."""
        self.slapd.start(self.port, self.ldaps_port)

    def signal(self, signum: int) -> None:
        """Send ``signum`` to its slapd, by PID; after SIGKILL wait until it is gone."""
        pid = self.slapd.pid()
        assert pid is not None
        os.kill(pid, signum)
        if signum == signal.SIGKILL:
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop it by PID (a frozen one is thawed first, or it cannot act on SIGTERM)."""
        pid = self.slapd.pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        self.slapd.stop()


@dataclass
class Pair:
    """Two providers replicating both ways, and how a bridge reaches them."""

    first: Provider
    second: Provider
    clients: list[LdapClient] = field(default_factory=list)

    @property
    def urls(self) -> tuple[str, str]:
        """Return both providers' URLs, as every bridge lists them in ``[directory] urls``."""
        return self.first.url, self.second.url

    def settings(self, **failover: float) -> ClientSettings:
        """Return a bridge's settings: both URLs, its service account; ``failover``: timings."""
        server = self.first.slapd
        return ClientSettings(
            urls=self.urls,
            bind_dn=server.service_dn,
            password=server.service_password(),
            suffix=SUFFIX,
            ca_file=str(server.ca_file),
            **{"connect_timeout": 2.0, "operation_timeout": 2.0, "check_seconds": 0.1} | failover,
        )

    def bridge(self, **failover: float) -> LdapClient:
        """Return a new bridge's client; closed on leaving."""
        client = LdapClient(self.settings(**failover))
        self.clients.append(client)
        return client

    def env(self) -> dict[str, str]:
        """Return the environment of a `mims` command run as a bridge of this pair."""
        config = self.first.slapd.layout.root.parent / "bridge.toml"
        config.write_text(f'[directory]\nca_file = "{self.first.slapd.ca_file}"\n')
        server = self.first.slapd
        return {
            "MIMS_CONFIG": str(config),
            "MIMS_DATA_DIR": str(server.layout.root.parent / "bridge-data"),
            "MIMS_LDAP_URL": " ".join(self.urls),
            "MIMS_LDAP_BIND_DN": server.service_dn,
            "MIMS_LDAP_PASSWORD": server.service_password(),
            "MIMS_LDAP_SUFFIX": SUFFIX,
        }

    def wait_in_step(self) -> None:
        """Wait until both contextCSNs agree: each has every change the other took."""
        assert eventually(
            lambda: local_context_csn(self.first.slapd) == local_context_csn(self.second.slapd)
        ), "the providers did not get in step"


@contextmanager
def replicated_pair() -> Iterator[Pair]:
    """Make and start a pair on free ports; stop both by PID on leaving.

    In the system's temp folder: pytest's paths can be too long for slapd's ldapi socket.
    """
    root = Path(tempfile.mkdtemp(prefix="mims-wt-"))
    first = Provider(ManagedSlapd(root / "a", SUFFIX, no_sync=True), free_port(), free_port())
    second = Provider(ManagedSlapd(root / "b", SUFFIX, no_sync=True), free_port(), free_port())
    pair = Pair(first, second)
    try:
        first.slapd.init()
        first.start()
        done = mims(
            "slapd",
            "init-replica",
            *("--from", str(first.slapd.ldaps_url())),
            *("--from-data-dir", str(first.slapd.layout.root)),
            *("--data-dir", str(second.slapd.layout.root)),
            *("--port", str(second.port)),
            *("--ldaps-port", str(second.ldaps_port)),
        )
        assert done.returncode == 0, done.stderr
        first.url, second.url = str(first.slapd.ldaps_url()), str(second.slapd.ldaps_url())
        yield pair
    finally:
        for client in pair.clients:
            client.close()
        second.stop()
        first.stop()


def add_entry(client: LdapClient, name: str) -> str:
    """Add a small entry through a bridge's client (a write); return its DN."""
    entry = f"cn={name},ou=services,{SUFFIX}"
    client.add(entry, {"objectClass": ["organizationalRole"], "cn": name})
    return entry


def written_by(slapd: ManagedSlapd, entry: str) -> str | None:
    """Return which provider took the write of ``entry`` ("first", "second"); None: absent."""
    with admin_connection(slapd) as admin:
        try:
            admin.search(entry, "(objectClass=*)", ldap3.BASE, attributes=["entryCSN"])
        except ldap3.core.exceptions.LDAPNoSuchObjectResult:
            return None
        csn = admin.response[0]["raw_attributes"]["entryCSN"][0].decode()
    return SERVER_IDS.get(int(csn.split("#")[2], 16))


def eventually(check: Callable[[], bool], deadline: float = DEADLINE) -> bool:
    """Poll ``check`` until it holds or ``deadline`` seconds pass."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""
