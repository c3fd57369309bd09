"""The failover pause: how long writes stop when the write target is killed (issue 21).

Two clients write small entries continuously (every ``INTERVAL_S``) to a pair while the write
target (A) is killed with SIGKILL, ``kills`` times:

- the **bridge**: ``LdapClient`` with ``[directory] urls`` = A, B and automatic failover
  (``[failover] automatic_after`` small): it writes to the write target alone; when A is gone
  it waits ``automatic_after``, promotes B (B must not have heard A's heartbeat for as long),
  and writes there;
- the **raw** side: plain ldap3 with a ``ServerPool`` of A and B (first that answers), which
  moves to B at once: the pause of a failover with no shared write target, the unsafe kind
  the issue's facts warn about (two clients may then write to two providers).

The pause is from the kill to the client's next write that succeeds. Between kills both
clients hold, A is started again, both providers get in step, A is promoted back (what
``mims failover promote`` runs), and both clients return to A before the next kill.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from ldap3 import BASE, FIRST, NONE, Connection, Server, ServerPool, Tls
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult

from bench.raw_ldap import Account
from bench.replica_pair import ReplicaPair
from bench.workspace import BenchError
from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.failover import Providers
from bridge.directory.ldap3_connections import root_connection
from bridge.directory.servers import ClientSettings

INTERVAL_S = 0.02  # 50 writes a second per client
PAUSE_LIMIT_S = 120.0
SETTLE_LIMIT_S = 120.0
# The bridge's settings for the measure; the pause is dominated by automatic_after.
FAILOVER = {
    "automatic_after": 2.0,
    "heartbeat_seconds": 0.5,
    "check_seconds": 0.5,
    "connect_timeout": 2.0,
    "operation_timeout": 2.0,
    "quarantine_seconds": 1.0,
}


class Continuous:
    """A thread that writes one small entry every INTERVAL_S while not held."""

    def __init__(self, name: str, write: Callable[[str], None], suffix: str) -> None:
        self.name = name
        self.write = write
        self.base = dn.services_base(suffix)
        self.lock = threading.Lock()
        self.successes: list[tuple[float, str]] = []
        self.failures = 0
        self.hold = threading.Event()
        self.hold.set()  # started held: resume() lets it write
        self.idle = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"writer-{name}", daemon=True)
        self.n = 0

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)

    def pause(self) -> None:
        """Stop writing; return once no write is in flight."""
        self.idle.clear()
        self.hold.set()
        if not self.idle.wait(PAUSE_LIMIT_S):
            raise BenchError(f"ha: the {self.name} writer did not stop")

    def resume(self) -> None:
        self.hold.clear()

    def first_success_after(
        self, moment: float, timeout: float, taken: Callable[[str], bool] = lambda e: True
    ) -> tuple[float, str]:
        """Wait for the first write answered after ``moment`` that ``taken`` accepts."""
        deadline = time.monotonic() + timeout
        checked = 0
        while time.monotonic() < deadline:
            with self.lock:
                later = [s for s in self.successes if s[0] > moment]
            for success in later[checked:]:
                if taken(success[1]):
                    return success
            checked = len(later)
            time.sleep(0.01)
        raise BenchError(f"ha: the {self.name} client wrote nothing for {timeout:.0f} s")

    def last(self) -> tuple[float, str] | None:
        with self.lock:
            return self.successes[-1] if self.successes else None

    def _loop(self) -> None:
        while not self.stop.is_set():
            if self.hold.is_set():
                self.idle.set()
                time.sleep(0.01)
                continue
            self.n += 1
            entry = f"cn=hafo-{self.name}-{self.n:06d},{self.base}"
            try:
                self.write(entry)
            except Exception:  # a failed write: the pause goes on
                self.failures += 1
            else:
                with self.lock:
                    self.successes.append((time.monotonic(), entry))
            time.sleep(INTERVAL_S)


def _attributes(entry: str) -> dict[str, Any]:
    name = entry.split(",", 1)[0].split("=", 1)[1]
    return {"objectClass": ["organizationalRole"], "cn": name}


class RawPoolWriter:
    """Plain ldap3: one connection over ServerPool([A, B], FIRST); reopened after a failure."""

    def __init__(self, accounts: list[Account]) -> None:
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=accounts[0].ca_file)
        servers = [Server(a.url, get_info=NONE, tls=tls, connect_timeout=2) for a in accounts]
        self.pool = ServerPool(servers, FIRST, active=2, exhaust=False)
        self.account = accounts[0]
        self.connection: Connection | None = None

    def reconnect(self) -> None:
        """Drop the connection: the next write opens one on the first server that answers."""
        self._drop()

    def write(self, entry: str) -> None:
        if self.connection is None:
            self.connection = Connection(
                self.pool,
                self.account.bind_dn,
                self.account.password,
                raise_exceptions=True,
                receive_timeout=2,
            )
            try:
                self.connection.open(read_server_info=False)
                self.connection.bind(read_server_info=False)
            except LDAPException:
                self._drop()
                raise
        try:
            self.connection.add(entry, attributes=_attributes(entry))
        except LDAPException:
            self._drop()
            raise

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.unbind()
            except LDAPException:
                pass
            self.connection = None


def measure(pair: ReplicaPair, kills: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Kill the write target ``kills`` times; return each side's pauses (seconds) and details."""
    a, b = pair.account(pair.first), pair.account(pair.second)
    settings = ClientSettings(
        urls=(a.url, b.url),
        bind_dn=a.bind_dn,
        password=a.password,
        suffix=a.suffix,
        ca_file=a.ca_file,
        **FAILOVER,
    )
    providers = Providers(settings)
    bridge = LdapClient(settings)
    raw = RawPoolWriter([a, b])
    writers = {
        "bridge": Continuous("bridge", lambda e: bridge.add(e, _attributes(e)), a.suffix),
        "raw": Continuous("raw", raw.write, a.suffix),
    }
    pauses: dict[str, list[float]] = {"bridge": [], "raw": []}
    logs = _Relay(progress)
    logging.getLogger("bridge").addHandler(logs)
    try:
        for writer in writers.values():
            writer.start()
        for k in range(kills):
            _settle(pair, writers, raw)
            killed = time.monotonic()
            pair.kill(pair.first)
            for side, writer in writers.items():
                # An answer A sent just before it died may arrive after the kill: skip it.
                when, _entry = writer.first_success_after(
                    killed, PAUSE_LIMIT_S, lambda entry: _server_id(pair, entry) == 2
                )
                pauses[side].append(when - killed)
            progress(
                f"ha: kill {k + 1}/{kills}: bridge paused {pauses['bridge'][-1]:.2f} s, "
                f"raw {pauses['raw'][-1]:.3f} s"
            )
            for writer in writers.values():
                writer.pause()
            pair.start(pair.first)
            pair.wait_in_step(SETTLE_LIMIT_S)
            providers.promote(a.url)  # fail back, as `mims failover promote` does
    finally:
        for writer in writers.values():
            writer.close()
        bridge.close()
        raw.reconnect()
        logging.getLogger("bridge").removeHandler(logs)
    return {
        "pauses": pauses,
        "failed_writes": {side: w.failures for side, w in writers.items()},
        "settings": FAILOVER | {"write_interval_s": INTERVAL_S},
    }


def _settle(pair: ReplicaPair, writers: dict[str, Continuous], raw: RawPoolWriter) -> None:
    """Resume both clients and wait until each has written to A again (serverID 1)."""
    raw.reconnect()
    for writer in writers.values():
        writer.resume()
    since = time.monotonic()
    for writer in writers.values():
        writer.first_success_after(since, SETTLE_LIMIT_S, lambda e: _server_id(pair, e) == 1)
    time.sleep(1.0)  # heartbeats renewed on A and replicated to B before the kill


class _Relay(logging.Handler):
    """Show the bridge's own log lines (failover, promotion) as progress lines."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress(f"ha:   bridge log: {record.getMessage()}")


def _server_id(pair: ReplicaPair, entry: str) -> int | None:
    """Return the serverID of the provider that took the write of ``entry`` (from entryCSN)."""
    for server in (pair.first, pair.second):
        if server.pid() is None:
            continue
        with root_connection(server.ldapi_url) as connection:
            try:
                connection.search(entry, "(objectClass=*)", BASE, attributes=["entryCSN"])
            except LDAPNoSuchObjectResult:
                continue
            csn = connection.response[0]["raw_attributes"]["entryCSN"][0].decode()
            return int(csn.split("#")[2], 16)
    return None
