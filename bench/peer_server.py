"""A peer SCIM server to measure against and to provision into: `scim2-server` under gunicorn.

scim2-server (PyPI, the python-scim project's reference server, Apache-2.0) is a library: it
validates SCIM requests, applies them to a storage and builds the responses. Facts found by
reading version 0.8.3 and running it here:

- **How it starts.** Its `scim2-server` command serves with `wsgiref` (one process, a thread
  per request); there is no app factory for a WSGI server. The WSGI app is
  ``WSGIApplication(InMemoryStorage(), provider)`` (its README), so ``bench/peer_app/
  scim2_peer.py`` builds what the command builds (RFC 7643 schemas, User with the enterprise
  extension, Group) with the command's bearer-token check, and gunicorn serves it.
- **Where the data is.** In the worker process's memory (``InMemoryStorage``), behind one
  ``RLock`` that serialises every read and write. Nothing is written to disk: a restart comes
  back **empty**. (The command's ``--dump-resources`` writes a file only on a clean stop.)
- **Workers.** Two gunicorn worker processes would hold two unrelated stores (tried: six POSTs
  landed in one worker, and ``GET /Users`` answered 6 or 0 depending on the worker). So the
  peer runs **one** ``gthread`` worker with ``workers * threads`` threads: as many request
  threads as ``mims serve`` has in all, which keeps the comparison fair in concurrency; the
  store's lock serialises them anyway.
- **URLs.** SCIM is served at ``/v2/`` (the prefix is optional; ``meta.location`` uses it):
  ``/v2/Users``, ``/v2/Groups``, ``/v2/Bulk``, ``/v2/ServiceProviderConfig`` (the only one
  that needs no token).
- **Filters.** The full RFC 7644 filter language through scim2-models' ``ScimFilter``:
  ``userName eq`` (case-insensitive, as the schema says), ``externalId eq`` (case-exact),
  ``emails[type eq "work"].value eq``, ``and``/``or``/``not``, ``co``/``sw``/``pr``...
  An ``eq`` of one single-valued string attribute is answered from an index built on the first
  such search; every other filter (``emails[...]`` included) walks every resource.
- **Paging.** ``startIndex``/``count`` (count capped at ``maxResults`` 1000, as the bridge's);
  each page sorts every match again (by id when no ``sortBy``), so a walk costs
  O(pages * N log N). Sorting is supported; cursors are not announced.
- **Writes.** POST, PUT, PATCH (answers 204 with no body when no ``attributes`` are asked for,
  which RFC 7644 3.5.2 allows), DELETE; ETags; uniqueness of ``userName`` (409 ``uniqueness``).
  ``/Bulk`` with ``bulkId`` references and ``failOnErrors`` (``maxOperations`` 1000,
  ``maxPayloadSize`` 1 MiB).

It is installed in its own venv (it pins its own scim2-models), with the same gunicorn version
as the project, cached under ``~/.cache/mims-bridge/`` (``$XDG_CACHE_HOME``) keyed by both
versions and Python's, so only the first run pays for it (~15 s here).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from bridge.directory.slapd import free_port

SCIM2_SERVER_VERSION = "0.8.3"
APP_FOLDER = Path(__file__).resolve().parent / "peer_app"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class PeerError(Exception):
    """The peer server could not be installed, started or stopped; the message says why."""


def cache_root() -> Path:
    """Return the folder for caches that outlive a run (``$XDG_CACHE_HOME/mims-bridge``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mims-bridge"


def peer_venv(progress: Callable[[str], None] = lambda _: None) -> Path:
    """Return a venv with scim2-server and the project's gunicorn, creating it on first use.

    A lock file keeps two runs (other engineers, parallel tests) from building it at once; the
    ``.installed`` stamp is written last, so a half-built venv is rebuilt rather than used.
    """
    gunicorn_version = importlib.metadata.version("gunicorn")
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    name = f"peer-venv-scim2-server-{SCIM2_SERVER_VERSION}-gunicorn-{gunicorn_version}-{python}"
    venv = cache_root() / name
    stamp = venv / ".installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv
        started = time.monotonic()
        progress(f"peer: creating {venv} (scim2-server {SCIM2_SERVER_VERSION})")
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)])
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        _run([*pip, f"scim2-server=={SCIM2_SERVER_VERSION}", f"gunicorn=={gunicorn_version}"])
        stamp.write_text(f"{time.monotonic() - started:.1f} s to build\n")
        progress(f"peer: venv ready in {time.monotonic() - started:.1f} s")
    return venv


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise PeerError(f"peer: {' '.join(command[:4])} ... failed: {' / '.join(tail)}")


class PeerServer:
    """scim2-server under gunicorn on 127.0.0.1, started and stopped by PID.

    Use it as a context manager (``with PeerServer(root) as peer:`` starts it and stops
    everything it started on the way out), or call ``start()`` and ``stop()``.
    ``kill()`` is a crash (SIGKILL to the master and its workers); ``restart()`` brings it back
    on the same port, empty, with the same token.
    """

    def __init__(
        self,
        root: Path,
        *,
        workers: int = 2,
        threads: int = 4,
        port: int | None = None,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.root = Path(root)
        self.threads = workers * threads  # one worker process: see the module's docstring
        self.progress = progress
        self.port = port
        self.log = self.root / "peer-server.log"
        self.token = secrets.token_urlsafe(24)
        self.headers: dict[str, str] = {"Authorization": f"Bearer {self.token}"}
        self.start_seconds: float | None = None
        self._master: subprocess.Popen[bytes] | None = None

    # -- the interface ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Return the SCIM root (``.../v2/``) that has ``Users``, ``Groups`` and ``Bulk``."""
        if self.port is None:
            raise PeerError("peer: not started")
        return f"http://127.0.0.1:{self.port}/v2/"

    def start(self) -> None:
        """Start the server on its port (a free one the first time) and wait until it answers."""
        if self._master is not None and self._master.poll() is None:
            return
        venv = peer_venv(self.progress)
        self.root.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        started = time.monotonic()
        command = [
            str(venv / "bin" / "python"), "-m", "gunicorn",
            "--pythonpath", str(APP_FOLDER),
            "--bind", f"127.0.0.1:{self.port}",
            "--worker-class", "gthread", "--workers", "1", "--threads", str(self.threads),
            # The rest as bridge/serve.py sets it, so both sides log and stop alike.
            "--access-logfile", "-", "--error-logfile", "-", "--log-level", "info",
            "--graceful-timeout", "10", "--name", "mims-peer", "--no-control-socket",
            # No worker timeout: after a SIGSTOP outage longer than gunicorn's 30 s the master
            # would kill the silent worker, and the in-memory store with it (a frozen target
            # must come back with its data; the sync bench and tests freeze it on purpose).
            "--timeout", "0",
            "scim2_peer:application",
        ]  # fmt: skip
        env = {**os.environ, "PEER_TOKEN": self.token, "PYTHONDONTWRITEBYTECODE": "1"}
        with open(self.log, "ab") as log:
            self._master = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,  # a Ctrl-C in the caller's terminal is ours to pass on
            )
        self.progress(f"peer: scim2-server pid {self._master.pid} on port {self.port}")
        self._wait_ready()
        self.start_seconds = time.monotonic() - started

    def pid(self) -> int:
        """Return the gunicorn master's PID."""
        if self._master is None:
            raise PeerError("peer: not started")
        return self._master.pid

    def rss_mb(self) -> float:
        """Return the resident memory of the master and its workers together, in MB."""
        return sum(_rss_kb(pid) for pid in [self.pid(), *worker_pids(self.pid())]) / 1024

    def kill(self) -> None:
        """Crash the server: SIGKILL to the master and each worker; wait until all are gone."""
        if self._master is None:
            return
        master = self._master
        workers = worker_pids(master.pid)
        for pid in [master.pid, *workers]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        master.wait()
        _wait_gone(workers)
        self._master = None

    def restart(self) -> None:
        """Kill the server and start it again on the same port (it comes back empty)."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), or by SIGKILL if it does not stop in time."""
        if self._master is None:
            return
        master = self._master
        workers = worker_pids(master.pid)
        if master.poll() is None:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        for pid in alive(workers):  # a worker left behind by a master that died first
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(workers)
        self._master = None

    def __enter__(self) -> PeerServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- conveniences for tests and phases -------------------------------------------------

    def call(
        self, method: str, path: str, document: Any = None, timeout: float = 30
    ) -> tuple[int, Any]:
        """Send one SCIM request (``path`` under ``base_url``); return the status and JSON body."""
        data = None if document is None else json.dumps(document).encode()
        headers = {**self.headers, "Accept": "application/scim+json"}
        if data is not None:
            headers["Content-Type"] = "application/scim+json"
        request = urllib.request.Request(
            self.base_url + path.lstrip("/"), data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:  # an HTTPError holds the response's socket
                status, body = error.code, error.read()
        return status, json.loads(body) if body else None

    # -- internals -------------------------------------------------------------------------

    def _wait_ready(self) -> None:
        assert self._master is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        url = self.base_url + "ServiceProviderConfig"
        while time.monotonic() < deadline:
            if self._master.poll() is not None:
                self._master = None
                raise PeerError(f"peer: gunicorn exited at start; see {self.log}: {self._tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise PeerError(f"peer: no answer on port {self.port} in {READY_TIMEOUT_S:.0f} s")

    def _tail(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " / ".join(lines[-3:])


def worker_pids(parent: int) -> list[int]:
    """Return the PIDs whose parent is ``parent`` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(f"{entry}/stat")
        if stat is not None and int(stat[1]) == parent:
            found.append(int(entry.name))
    return found


def _stat(path: str) -> list[str] | None:
    """Return a /proc stat file's fields after the command name (state, ppid, ...), or None."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pids: list[int]) -> list[int]:
    """Return those of ``pids`` with a thread still running.

    A process whose threads are all zombies holds no socket any more, even if nobody reaps it;
    but a zombie main thread alone is not enough: the other threads still hold the listening
    socket until they have exited (seen as a reset connection right after a kill).
    """
    return [pid for pid in pids if _running_threads(pid)]


def _running_threads(pid: int) -> int:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0
    states = [_stat(f"{task}/stat") for task in tasks]
    return sum(1 for stat in states if stat is not None and stat[0] not in "ZX")


def _wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while alive(pids):
        if time.monotonic() > deadline:
            raise PeerError(f"peer: processes {alive(pids)} did not exit")
        time.sleep(0.02)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
