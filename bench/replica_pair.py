"""Two providers replicating both ways, made as a user makes them, for the `ha` phase.

The first is a private managed slapd of the workspace (`mims slapd init`'s code); the second
is made from it by the code behind `mims slapd init-replica` (``bridge.services.init_replica``):
a copy of the first's data, its own serverID, plain syncrepl both ways over ldaps. Both are
stopped by their PIDs with the workspace. The benchmark does not import tests/, so this is its
own small starter; tests/support/replicas.py is the tests' one.
"""

from __future__ import annotations

import os
import signal
import time
from urllib.parse import urlsplit

from bench.raw_ldap import Account
from bench.workspace import BenchError, Workspace, slapd_cpu_s
from bridge import services
from bridge.directory import slapd as slapd_module
from bridge.directory.slapd import ManagedSlapd, free_port


class ReplicaPair:
    """Two providers, ``first`` and ``second``, and the means to kill and restart either."""

    def __init__(self, workspace: Workspace, name: str = "ha") -> None:
        self.workspace = workspace
        self.first = workspace.slapd(f"{name}-a")
        self.second = ManagedSlapd(
            workspace.root / f"{name}-b", workspace.suffix, no_sync=workspace.no_sync
        )
        from_url = self.first.ldaps_url()
        if from_url is None:
            raise BenchError("the first provider serves no ldaps:// URL")
        services.init_replica(self.first, self.second, from_url, free_port(), free_port())
        workspace.adopt(self.second)
        self._ports: dict[str, tuple[int, int]] = {}
        for server in (self.first, self.second):
            self._ports[str(server.layout.root)] = _ports(server)

    def account(self, server: ManagedSlapd) -> Account:
        """Return how the bridge reaches a provider: ldaps, its service account, the shared CA."""
        url = server.ldaps_url()
        if url is None:
            raise BenchError(f"{server.layout.root}: slapd is not running")
        return Account(
            url, server.service_dn, server.service_password(), server.suffix, str(server.ca_file)
        )

    def kill(self, server: ManagedSlapd) -> None:
        """Kill a provider with SIGKILL (no clean shutdown) and reap it."""
        pid = server.pid()
        if pid is None:
            raise BenchError(f"{server.layout.root}: slapd is not running")
        os.kill(pid, signal.SIGKILL)
        child = slapd_module._CHILDREN.pop(pid, None)
        if child is not None:
            child.wait()
        while server.pid() is not None:  # not our child (never here): wait for it to go
            time.sleep(0.01)

    def start(self, server: ManagedSlapd) -> None:
        """Start a provider again on its own ports: its peer's syncrepl names them."""
        port, ldaps_port = self._ports[str(server.layout.root)]
        server.start(port, ldaps_port)

    def context_csns(self) -> tuple[list[str], list[str]]:
        """Return each provider's contextCSN values (one per serverID), read over ldapi."""
        return services.context_csn(self.first), services.context_csn(self.second)

    def wait_in_step(self, timeout: float, poll: float = 0.02) -> float:
        """Wait until both contextCSNs agree; return when (time.monotonic()) they did."""
        deadline = time.monotonic() + timeout
        while True:
            first, second = self.context_csns()
            if first == second:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise BenchError(
                    f"the providers did not agree within {timeout:.0f} s: {first} vs {second}"
                )
            time.sleep(poll)


def wait_quiet(pair: ReplicaPair, timeout: float, busy: float = 0.05) -> float:
    """Wait until neither slapd used more than ``busy`` of a CPU over a second; return the wait.

    Agreeing contextCSNs say every change arrived, not that the providers are done with the
    burst (indexes, the accesslog, the other's copy of each change coming back): a guard so
    that what runs next does not pay for what ran before.
    """
    began = time.monotonic()
    deadline = began + timeout
    servers = (pair.first, pair.second)
    before = [slapd_cpu_s(server) for server in servers]
    while True:
        time.sleep(1.0)
        after = [slapd_cpu_s(server) for server in servers]
        if all(b - a <= busy for a, b in zip(before, after, strict=True)):
            return time.monotonic() - began
        if time.monotonic() > deadline:
            raise BenchError(f"ha: the providers were still busy after {timeout:.0f} s")
        before = after


def _ports(server: ManagedSlapd) -> tuple[int, int]:
    url, ldaps = server.ldap_url(), server.ldaps_url()
    if url is None or ldaps is None:
        raise BenchError(f"{server.layout.root}: slapd is not running")
    port, ldaps_port = urlsplit(url).port, urlsplit(ldaps).port
    assert port is not None and ldaps_port is not None
    return port, ldaps_port
