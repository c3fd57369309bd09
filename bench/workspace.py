"""A throw-away folder of private slapds, and timed runs of the programs that use them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge.directory import slapd as slapd_module
from bridge.directory.slapd import ManagedSlapd, free_port, tool
from bridge.errors import SlapdError

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """What one program run cost: wall time, its own CPU time and peak memory."""

    wall_s: float
    cpu_s: float
    max_rss_mb: float
    returncode: int
    log: Path

    def as_json(self) -> dict[str, float | int]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "max_rss_mb": round(self.max_rss_mb, 1),
        }


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and where to look."""


class Workspace:
    """Own a temp folder, every slapd and server started in it, and the program running now.

    ``close()`` ends each server and stops each slapd by its PID, and removes the folder unless
    asked to keep it.
    """

    def __init__(self, suffix: str, no_sync: bool, base: Path | None = None, keep: bool = False):
        self.suffix = suffix
        self.no_sync = no_sync
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="mims-bench-", dir=base))
        self._slapds: list[ManagedSlapd] = []
        self._servers: list[subprocess.Popen[bytes]] = []
        self._closers: list[Callable[[], None]] = []

    # -- slapds --------------------------------------------------------------------------------

    def slapd(self, name: str, start: bool = True) -> ManagedSlapd:
        """Initialise a fresh directory in ``name`` (same code and settings as `mims slapd`)."""
        server = ManagedSlapd(self.root / name, self.suffix, no_sync=self.no_sync)
        server.init()
        self._slapds.append(server)
        if start:
            self.start(server)
        return server

    def adopt(self, server: ManagedSlapd) -> None:
        """Have ``close()`` stop a slapd made elsewhere (a replica made by init-replica)."""
        self._slapds.append(server)

    def start(self, server: ManagedSlapd) -> int:
        """Start a slapd on free ports, ldap:// and ldaps:// (a few tries: another program may
        take a port)."""
        for attempt in range(3):
            try:
                return server.start(free_port(), free_port())
            except SlapdError as error:
                if "in use" not in str(error) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stop(self, server: ManagedSlapd) -> None:
        """Stop a slapd by its PID and reap it.

        ManagedSlapd.stop() stops waiting once /proc shows the process as a zombie, without
        reaping it; the benchmark starts dozens, so it waits for its own children here.
        """
        pid = server.pid()
        server.stop()
        child = slapd_module._CHILDREN.pop(pid, None) if pid is not None else None
        if child is not None:
            child.wait()

    def discard(self, server: ManagedSlapd) -> None:
        """Stop a slapd and, unless --keep, delete its database to free the disk."""
        self.stop(server)
        if not self.keep:
            shutil.rmtree(server.layout.root, ignore_errors=True)

    def close(self) -> None:
        """End every server, then stop every slapd; remove the folder unless --keep."""
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # the other servers must still be stopped
                pass
        for process in list(self._servers):
            self.end(process)
        for server in self._slapds:
            try:
                self.stop(server)
            except (OSError, SlapdError):
                pass
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- servers -------------------------------------------------------------------------------

    def spawn(
        self, command: Sequence[str], log: Path, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a long-running program (a web server) in a session of its own.

        ``end()`` or ``close()`` stops it by its PID; its own children (gunicorn's workers) are
        in its process group, which is killed too if it does not stop in time.
        """
        with log.open("ab") as out:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        self._servers.append(process)
        return process

    def on_close(self, stop: Callable[[], None]) -> None:
        """Have ``close()`` call ``stop`` first: for a server that manages its own processes."""
        self._closers.append(stop)

    def end(self, process: subprocess.Popen[bytes]) -> None:
        """Stop a program started by ``spawn`` and reap it (SIGTERM, then SIGKILL its group)."""
        _end(process, group=True)
        if process in self._servers:
            self._servers.remove(process)

    # -- timed programs ------------------------------------------------------------------------

    def run(
        self,
        command: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        relay: Callable[[str], None] | None = None,
    ) -> Run:
        """Run a program to its end; time it and take its CPU time and peak RSS from wait4.

        Output goes straight to ``log`` (no Python in the loop of a chatty ldapadd) unless
        ``relay`` is given, which then also sees each line (for progress of long imports).
        """
        with log.open("wb") as out:
            started = time.perf_counter()
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if relay else out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
            )
            try:
                if relay and process.stdout is not None:
                    for raw in process.stdout:
                        out.write(raw)
                        relay(raw.decode(errors="replace").rstrip())
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:  # Ctrl-C, SIGTERM: the program goes too
                _end(process)
                raise
            wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        return Run(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            max_rss_mb=usage.ru_maxrss / 1024,
            returncode=process.returncode,
            log=log,
        )

    def check(self, run: Run, what: str) -> Run:
        """Fail with the last lines of the log when a program did not succeed."""
        if run.returncode != 0:
            raise BenchError(f"{what} failed (exit {run.returncode}): {tail(run.log)}")
        return run


def _end(process: subprocess.Popen[bytes], group: bool = False) -> None:
    """Stop a program: SIGTERM, then SIGKILL after 15 s (its process group too, with ``group``).

    A gunicorn master stops its workers on SIGTERM within its graceful timeout (10 s); killed
    outright it would leave them behind, hence the group.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if group:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # only stragglers are left by now
        except (ProcessLookupError, PermissionError):
            pass


def slapd_cpu_s(server: ManagedSlapd) -> float:
    """Return the CPU seconds a running slapd has used so far (user + system)."""
    pid = server.pid()
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def slapd_rss_mb(server: ManagedSlapd) -> float:
    """Return a running slapd's resident memory in MB."""
    pid = server.pid()
    if pid is None:
        return 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def openldap_tool(name: str) -> str:
    """Return the path of an OpenLDAP program (slapcat, ldapadd, ...)."""
    return tool(name)


def tail(path: Path, lines: int = 5) -> str:
    """Return the last lines of a log, joined on one line."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return f"no log at {path}"
    return " | ".join(line.strip() for line in text[-lines:]) or f"empty log {path}"
