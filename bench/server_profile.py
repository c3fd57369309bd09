"""Where a request's time goes in `mims serve`: py-spy on its workers, the samples split by layer.

``ServerSpy`` runs ``py-spy record --subprocesses --idle`` on gunicorn's master (so on every
worker) while a phase drives requests, untimed; ``split`` sorts the samples into the layers of
issue 22: HTTP, SCIM, core, LDAP client, slapd. py-spy samples every thread, busy or not, so:

- a thread that is in none of the request's places (a pool thread waiting for work, the
  master, the event loop in ``select``) is idle and dropped;
- the event loop's other samples (gunicorn's parser, a2wsgi, ``bridge.web.front``) are HTTP;
- a request thread's sample goes to the layer of its innermost frame that has one (stdlib
  frames such as ``json`` or ``re`` take their caller's layer: ``LAYERS``), except that
  waiting for an LDAP answer (python-ldap's ``result4``, ldap3's ``recv``) is **slapd**: the
  server's time plus the loopback round trip. Waiting on the event loop to take a response
  (a2wsgi's ``send``) is left out, because the loop's own samples count that time already.

Each layer's time per request is its samples x the time between two samples / requests;
``outside_ms`` is what the client measured that no sample explains (the benchmark's client,
the kernel's loopback, the moments py-spy missed).
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.profiling import _FRAME, _name, _short, fold, py_spy
from bench.workspace import BenchError

RATE = 250  # samples per second per thread: a 2 ms request gets one every 4 ms of it
START_S = 1.0  # py-spy's time to attach to every worker before the load starts

# The layer of a frame, by the start of its short file name (bench.profiling._short); the
# first rule that matches wins. Frames of no layer (stdlib, others) take their caller's.
LAYERS: tuple[tuple[str, str], ...] = (
    ("bridge/web/", "http"),
    ("bridge/metrics/", "http"),
    ("bridge/app.py", "http"),
    ("bridge/serve.py", "http"),
    ("bridge/scim/", "scim"),
    ("bridge/core/", "core"),
    ("bridge/services.py", "core"),
    ("bridge/errors.py", "core"),
    ("bridge/config.py", "core"),
    ("bridge/directory/", "ldap_client"),
    ("flask/", "http"),
    ("werkzeug/", "http"),
    ("gunicorn/", "http"),
    ("a2wsgi/", "http"),
    ("h11/", "http"),
    ("httptools/", "http"),
    ("prometheus_client/", "http"),
    ("scim2_models/", "scim"),
    ("scim2_filter_parser/", "scim"),
    ("lark/", "scim"),
    ("pydantic/", "scim"),
    ("pydantic_core/", "scim"),
    ("ldap3/", "ldap_client"),
    ("ldap/", "ldap_client"),
    ("pyasn1/", "ldap_client"),
)
ORDER = ("http", "scim", "core", "ldap_client", "slapd", "other")
# A request thread is inside the app from here (bridge.web.threaded_wsgi, or a2wsgi before it).
# Frames are matched by function and file, not by the class py-spy names (that of ``self``).
_APPS = (("_run", "bridge/web/threaded_wsgi.py"), ("wsgi", "a2wsgi/wsgi.py"))
_LOOP = ("_run_once", "stdlib/asyncio/base_events.py")
# The thread waits for slapd's answer in these frames (the loopback round trip included).
_LDAP_WAIT = (
    ("result4", "ldap/ldapobject.py"),
    ("receiving", "ldap3/strategy/sync.py"),
)
# The thread waits for the event loop to take a part of the response.
_LOOP_WAIT = ("send", "a2wsgi/wsgi.py")
# The event loop has nothing to do.
_SELECT = ("select", "stdlib/selectors.py")


def _is(frame: str, where: tuple[str, str]) -> bool:
    """Return whether a ``function (short/file.py)`` frame is ``where``'s function and file."""
    match = _FRAME.match(frame)
    if not match:
        return False
    return match["file"] == where[1] and match["function"].rpartition(".")[2] == where[0]


def _index(frames: Sequence[str], where: tuple[str, str]) -> int | None:
    return next((i for i, frame in enumerate(frames) if _is(frame, where)), None)


def _waits_on_ldap(frames: Sequence[str]) -> bool:
    return any(_is(frame, wait) for frame in frames for wait in _LDAP_WAIT)


class ServerSpy:
    """Record every process of a server with py-spy, from ``start`` until ``stop``."""

    def __init__(self, pid: int, raw: Path, rate: int = RATE) -> None:
        self.pid = pid
        self.raw = raw
        self.rate = rate
        self._process: subprocess.Popen[bytes] | None = None
        self.wall_s = 0.0

    def __enter__(self) -> ServerSpy:
        command = [py_spy(), "record", "--pid", str(self.pid), "--subprocesses", "--idle"]
        command += ["--threads"]
        command += ["--nonblocking", "--full-filenames", "--format", "raw"]
        command += ["--rate", str(self.rate), "-o", str(self.raw)]
        self._began = time.perf_counter()
        log = self.raw.with_suffix(".log").open("wb")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        time.sleep(START_S)
        if self._process.poll() is not None:
            raise BenchError(f"py-spy stopped at once: {self.raw.with_suffix('.log').read_text()}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        self.wall_s = time.perf_counter() - self._began
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def lines(self) -> list[str]:
        """Return the raw stacks py-spy wrote ("frame;frame;... count" lines)."""
        if not self.raw.exists():
            raise BenchError(f"py-spy wrote nothing: {self.raw.with_suffix('.log').read_text()}")
        return self.raw.read_text().splitlines()


def cpu_s(pids: Sequence[int]) -> float:
    """Return the CPU seconds (user + system) these processes have used so far."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def layer_of(frames: Sequence[str]) -> str:
    """Return the layer of a request thread's stack (``function (short/file.py)`` frames)."""
    if _waits_on_ldap(frames):
        return "slapd"
    for frame in reversed(frames):
        match = _FRAME.match(frame)
        short = match["file"] if match else frame
        for prefix, layer in LAYERS:
            if short.startswith(prefix):
                return layer
    return "other"


def split(lines: Sequence[str], wall_s: float, requests: int, latency_ms: float) -> dict[str, Any]:
    """Return the request time by layer: per cent of the samples and ms per request.

    py-spy takes fewer samples than its rate asks when the machine is busy, so a sample's
    worth in time comes from the samples it did take: every thread is sampled at each tick
    (``--idle``), so the most-sampled thread's count is the number of ticks in ``wall_s``.
    """
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    per_thread: Counter[str] = Counter()
    idle = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        per_thread[_thread_of(stack)] += count
        frames = [_name(frame) for frame in _code_frames(stack)]
        where = _place(frames)
        if where is None:
            idle += count
            continue
        layers[where] += count
        if frames:
            own[f"{where}: {frames[-1]}"] += count
    busy = sum(layers.values())
    ticks = max(per_thread.values(), default=0)
    tick_ms = 1000 * wall_s / ticks if ticks else 0.0
    per_request = {
        layer: round(layers[layer] * tick_ms / requests, 3) if requests else 0.0 for layer in ORDER
    }
    explained = sum(per_request.values())
    return {
        "requests": requests,
        "ticks": ticks,
        "sampled_hz": round(ticks / wall_s, 1) if wall_s else 0.0,
        "samples": busy,
        "idle_samples": idle,
        "pct": {layer: round(100 * layers[layer] / busy, 1) if busy else 0.0 for layer in ORDER},
        "ms_per_request": per_request,
        "client_mean_ms": round(latency_ms, 3),
        "outside_ms": round(latency_ms - explained, 3),
        "top_leaf_pct": {k: round(100 * v / busy, 1) for k, v in own.most_common(15)},
    }


def _thread_of(stack: str) -> str:
    """Return a raw stack's ``process ...;[process ...;]thread ...`` roots: which thread."""
    roots = stack.split(";thread (", 1)
    return roots[0] + ";thread (" + roots[1].split(";", 1)[0] if len(roots) > 1 else stack


def _code_frames(stack: str) -> list[str]:
    """Return a raw stack's frames without py-spy's ``process ...`` and ``thread ...`` roots."""
    return [
        frame
        for frame in stack.split(";")
        if not frame.startswith(("process ", "thread ")) and _FRAME.match(frame)
    ]


def _place(frames: Sequence[str]) -> str | None:
    """Return where a sample spent the request's time, or None for an idle thread."""
    app = next((i for where in _APPS if (i := _index(frames, where)) is not None), None)
    if app is not None:
        if _index(frames, _LOOP_WAIT) is not None:
            return None  # counted by the event loop's own samples
        return layer_of(frames[app + 1 :]) if app + 1 < len(frames) else "http"
    if _index(frames, _LOOP) is not None:
        if any(_is(frame, _SELECT) for frame in frames[-2:]):
            return None
        return "http"
    return None


def keep_folded(profiles: dict[str, Sequence[str]], out: Path) -> None:
    """Write the stacks folded (flamegraph.pl, speedscope), gzipped, each under its name.

    Idle threads' stacks are left out; each stack's root frame is its profile's name.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    busy: list[str] = []
    for name, lines in profiles.items():
        for line in lines:
            stack, _, count_text = line.rpartition(" ")
            frames = _code_frames(stack)
            if count_text.isdigit() and _place([_name(f) for f in frames]) is not None:
                busy.append(";".join([name, *frames]) + " " + count_text)
    folded = fold(busy)
    with gzip.open(out, "wt", encoding="utf-8") as handle:
        handle.writelines(f"{stack} {n}\n" for stack, n in sorted(folded.items()))


__all__ = ["LAYERS", "ORDER", "ServerSpy", "_short", "keep_folded", "layer_of", "split"]
