"""Resident memory of a server and its workers, read from /proc, and its peak while work runs.

gunicorn's master forks its workers, so the memory a server uses is the sum over the master
and its descendants. A sampler thread reads it every ~100 ms while a walk runs: the peak is
what an operator would have to provision, whatever the allocator gives back afterwards.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

INTERVAL_S = 0.1


def rss_mb(pid: int) -> float:
    """Return one process's resident memory in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    """Return the PIDs of a process's children, their children, and so on (a /proc scan)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parents.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        children = parents.get(pending.pop(), [])
        found += children
        pending += children
    return found


class ProcessTree:
    """A process and its descendants, whose memory is read often and cheaply.

    Scanning /proc for children costs ~5 ms, too much ten times a second on two shared cores,
    so the list of PIDs is refreshed at most once a second (gunicorn's workers rarely change).
    """

    def __init__(self, pid: int, refresh_s: float = 1.0) -> None:
        self.pid = pid
        self.refresh_s = refresh_s
        self._pids: list[int] = []
        self._listed = float("-inf")

    def pids(self) -> list[int]:
        if time.monotonic() - self._listed > self.refresh_s:
            self._pids = [self.pid, *descendants(self.pid)]
            self._listed = time.monotonic()
        return self._pids

    def rss_mb(self) -> float:
        """Return the resident memory of the process and its descendants, in MB."""
        return sum(rss_mb(each) for each in self.pids())

    def largest_rss_mb(self) -> float:
        """Return the resident memory of the largest of the process and its descendants, in MB."""
        return max((rss_mb(each) for each in self.pids()), default=0.0)


class PeakSampler:
    """Sample a memory reading in a thread while a block runs; keep the samples and the peak.

    ``with PeakSampler(ProcessTree(pid).rss_mb) as sampler: walk()``, then ``sampler.peak``.
    """

    def __init__(self, read: Callable[[], float], interval_s: float = INTERVAL_S) -> None:
        self.read = read
        self.interval_s = interval_s
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> PeakSampler:
        self.samples.append(self.read())
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(self.read())

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append(self.read())

    @property
    def peak(self) -> float:
        return max(self.samples)

    def as_json(self) -> dict[str, float | int]:
        return {
            "samples": len(self.samples),
            "interval_s": self.interval_s,
            "first_mb": round(self.samples[0], 1),
            "median_mb": round(statistics.median(self.samples), 1),
            "peak_mb": round(self.peak, 1),
            "last_mb": round(self.samples[-1], 1),
        }


def at_rest(read: Callable[[], float], seconds: float = 1.0) -> float:
    """Return the median of readings over ``seconds`` of idleness (a single one is noisy)."""
    readings = []
    deadline = time.monotonic() + seconds
    while True:
        readings.append(read())
        if time.monotonic() >= deadline:
            return statistics.median(readings)
        time.sleep(INTERVAL_S)
