"""A replicated pair of managed slapds, made and run by the `mims` CLI as a user does (issue 21).

``replicated_pair`` runs ``mims slapd init`` and ``start`` for the first provider and
``mims slapd init-replica`` for the second, on free ports, optionally each in a network
namespace of its own (tests/support/netns.py), and stops both by PID on leaving. A
``Provider`` knows its URLs, folder, PID, CA file and service account, can be killed with
any signal, stopped and started again on the same ports, and runs `mims` commands as a
bridge pointed at it. ``wait_in_step`` waits until two providers' contextCSNs agree.

A server in a namespace listens on that namespace's address only; its certificate names it
(the local CA issues one for every ``[slapd] listen`` address), and so does the peer URL
each provider replicates from.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ldap3

from bridge.config import Config, load_config
from bridge.directory.ldap3_connections import VerifiedTls
from bridge.directory.replication import local_context_csn
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Backend
from tests.support.cli import COVERAGE_VARIABLES, MIMS
from tests.support.directory import SUFFIX
from tests.support.netns import Machine, Network
from tests.support.ports import free_port

LOOPBACK = "127.0.0.1"
IN_STEP_TIMEOUT = 60.0  # seconds: generous; a caught-up pair agrees within milliseconds


@dataclass
class Provider:
    """One managed slapd of the pair: where it is, its secrets, and its process."""

    name: str
    home: Path  # the pair's folder: this provider's data folder and config files are in it
    port: int
    ldaps_port: int
    machine: Machine | None = None  # the namespace it runs in; None: the root one, on loopback

    @property
    def host(self) -> str:
        """Return the address it listens on and is reached at."""
        return self.machine.address if self.machine else LOOPBACK

    @property
    def url(self) -> str:
        """Return its ldaps:// URL, as a bridge lists it in ``[directory] urls``."""
        return f"ldaps://{self.host}:{self.ldaps_port}"

    @property
    def urls(self) -> tuple[str, str]:
        """Return its ldaps:// URL and its ldap:// (StartTLS) one."""
        return self.url, f"ldap://{self.host}:{self.port}"

    @property
    def data_dir(self) -> Path:
        """Return its data folder."""
        return self.home / self.name

    @property
    def slapd(self) -> ManagedSlapd:
        """Return the folder's ManagedSlapd, for its ldapi socket, PID and run state."""
        return ManagedSlapd(self.data_dir, SUFFIX, no_sync=True, listen=(self.host,))

    @property
    def pid(self) -> int | None:
        """Return the PID of its slapd when it runs, else None."""
        return self.slapd.pid()

    @property
    def ca_file(self) -> Path:
        """Return the CA certificate that signs both providers' certificates."""
        return self.data_dir / "tls" / "ca.pem"

    @property
    def service_dn(self) -> str:
        """Return the bridge's service account DN (the same entry on both providers)."""
        return self.slapd.service_dn

    @property
    def service_password(self) -> str:
        """Return the bridge's service account password (the same on both providers)."""
        return self.slapd.service_password()

    def server(self) -> ldap3.Server:
        """Return its ldaps:// server for ldap3, the certificate checked against the CA."""
        return ldap3.Server(
            self.url, use_ssl=True, tls=VerifiedTls(str(self.ca_file)), get_info=ldap3.NONE
        )

    def context_csn(self) -> list[str]:
        """Return its contextCSN values, read as rootDN over its ldapi socket."""
        return local_context_csn(self.slapd)

    # -- its process ---------------------------------------------------------------------------

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to its slapd by PID; after SIGKILL or SIGTERM, wait until it is gone."""
        pid = self.pid
        assert pid is not None, f"{self.name}'s slapd is not running"
        os.kill(pid, signum)
        if signum in (signal.SIGKILL, signal.SIGTERM):
            deadline = time.monotonic() + 30
            while self.pid is not None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert self.pid is None, f"{self.name}'s slapd outlived signal {signum}"

    def resume(self) -> None:
        """Let a slapd frozen with SIGSTOP run again (SIGCONT)."""
        pid = self.pid
        assert pid is not None, f"{self.name}'s slapd is not running"
        os.kill(pid, signal.SIGCONT)

    def stop(self) -> bool:
        """Stop its slapd by PID (SIGTERM, then SIGKILL); return whether it was running."""
        if self.pid is not None:
            os.kill(self.pid, signal.SIGCONT)  # a frozen slapd cannot act on SIGTERM
        return self.slapd.stop()

    def start(self) -> None:
        """Start its slapd with `mims slapd start`, on the same address and ports as before."""
        done = self.mims_as_server(
            "slapd", "start", *("--port", str(self.port)), *("--ldaps-port", str(self.ldaps_port))
        )
        assert done.returncode == 0, done.stderr

    def restart(self) -> None:
        """Stop it if it runs, then start it again (after a kill -9: as an admin would)."""
        self.stop()
        self.start()

    # -- commands ------------------------------------------------------------------------------

    def mims_as_server(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``mims ARGS`` on its data folder, inside its namespace when it has one."""
        config = self.home / f"{self.name}.slapd.toml"
        config.write_text(f'[slapd]\nlisten = ["{self.host}"]\nno_sync = true\n')
        env = {"MIMS_CONFIG": str(config), "MIMS_DATA_DIR": str(self.data_dir)}
        return self._run([*args], env, timeout)

    def bridge_env(self) -> dict[str, str]:
        """Return the environment of a `mims` command run as a bridge whose directory is this one.

        Its own data folder (audit trail, counters) is apart from the slapd's.
        """
        config = self.home / f"{self.name}.bridge.toml"
        config.write_text(f'[directory]\nca_file = "{self.ca_file}"\n')
        return {
            "MIMS_CONFIG": str(config),
            "MIMS_DATA_DIR": str(self.home / f"{self.name}-bridge"),
            "MIMS_LDAP_URL": self.url,
            "MIMS_LDAP_BIND_DN": self.service_dn,
            "MIMS_LDAP_PASSWORD": self.service_password,
            "MIMS_LDAP_SUFFIX": SUFFIX,
        }

    def bridge_config(self, **directory: object) -> Config:
        """Return a bridge's Config whose ``[directory] urls`` is this provider alone."""
        env = self.bridge_env() | {"HOME": str(self.home)}
        config = load_config(env=env)
        return config.with_overrides(directory=directory) if directory else config

    @contextmanager
    def bridge(self) -> Iterator[Backend]:
        """Yield a bridge's Backend (core services) writing to this provider alone, as `mims` does.

        The password policies are written first, as every `mims` command and `mims serve` do.
        """
        backend = Backend(self.bridge_config())
        try:
            backend.services.passwords.sync_policies()
            yield backend
        finally:
            backend.close()

    def mims(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``mims ARGS`` as a bridge pointed at this provider (from the root namespace)."""
        return self._run([*args], self.bridge_env(), timeout, namespace=False)

    def mims_environment(self, env: dict[str, str]) -> dict[str, str]:
        """Return this process's environment less its MIMS_ variables and coverage, plus ``env``."""
        return (
            {
                k: v
                for k, v in os.environ.items()
                if not k.startswith("MIMS_") and k not in COVERAGE_VARIABLES
            }
            | {"HOME": str(self.home)}
            | env
        )

    def _run(
        self, args: list[str], env: dict[str, str], timeout: float, namespace: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [*MIMS, *args]
        if namespace and self.machine is not None:
            command = self.machine.command(*command)
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=self.mims_environment(env),
            timeout=timeout,
            check=False,
            cwd=Path(__file__).resolve().parents[2],  # `-m bridge.cli` from the project
        )


@dataclass
class Pair:
    """Two providers replicating both ways; ``network`` when each has a namespace."""

    first: Provider
    second: Provider
    network: Network | None = None

    @property
    def providers(self) -> tuple[Provider, Provider]:
        """Return both providers, the first first."""
        return self.first, self.second

    def cut(self) -> None:
        """Lose every packet between the two providers (namespaces only)."""
        assert self.network is not None, "a pair without namespaces cannot be cut"
        self.network.cut(self.first.name, self.second.name)

    def heal(self) -> None:
        """Let packets through between the two providers again."""
        assert self.network is not None, "a pair without namespaces cannot be cut"
        self.network.heal(self.first.name, self.second.name)


@contextmanager
def replicated_pair(root: Path | None = None, namespaces: bool = False) -> Iterator[Pair]:
    """Make and start a pair with the CLI; stop both by PID and remove what was made on leaving.

    ``root``: the folder to make it in (default: a new one in the system's temp folder, as
    pytest's paths can be too long for slapd's ldapi socket). ``namespaces``: each provider
    in a network namespace of its own (needs root: check ``netns.skip_reason()`` first).
    """
    own = root is None
    home = Path(tempfile.mkdtemp(prefix="mims-pair-")) if root is None else root
    network = Network.make(["a", "b"]) if namespaces else None
    machines = network.machines if network else {}
    first = Provider("a", home, free_port(), free_port(), machines.get("a"))
    second = Provider("b", home, free_port(), free_port(), machines.get("b"))
    try:
        for step in (
            ("slapd", "init"),
            ("slapd", "start", "--port", str(first.port), "--ldaps-port", str(first.ldaps_port)),
        ):
            done = first.mims_as_server(*step)
            assert done.returncode == 0, done.stderr
        done = second.mims_as_server(
            "slapd",
            "init-replica",
            *("--from", first.url),
            *("--from-data-dir", str(first.data_dir)),
            *("--port", str(second.port)),
            *("--ldaps-port", str(second.ldaps_port)),
        )
        assert done.returncode == 0, done.stderr
        yield Pair(first, second, network)
    finally:
        second.stop()
        first.stop()
        if network is not None:
            network.close()
        if own:
            shutil.rmtree(home, ignore_errors=True)


def wait_in_step(a: Provider, b: Provider, timeout: float = IN_STEP_TIMEOUT) -> list[str]:
    """Wait until both providers show the same contextCSN; return it, or fail saying both.

    Equal contextCSNs (one value per serverID that wrote) mean each has every change the
    other made: replication is caught up both ways. A provider killed with -9 restarts with a
    stale contextCSN of its own (docs/high-availability.md) that only its next write mends:
    write something on it before waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        ours, theirs = a.context_csn(), b.context_csn()
        if ours and ours == theirs:
            return ours
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not in step after {timeout:.0f} s: {a.name} {ours}, {b.name} {theirs}"
            )
        time.sleep(0.05)
