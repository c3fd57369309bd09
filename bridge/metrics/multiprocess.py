"""prometheus-client's multiprocess mode for ``mims serve``: one folder every worker writes to.

Each gunicorn worker (and a ``mims import`` on the same host) writes its counts to its own
files in ``DATA/metrics``; a scrape, answered by any worker, sums them all. prometheus-client
chooses where values live when it is first imported, so ``prepare`` must run before anything
imports ``bridge.metrics.definitions`` (``mims serve`` calls it first thing; the app and its
metrics are built in the workers, after the fork).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

FOLDER = "metrics"
VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def folder(data_dir: Path) -> Path:
    """Return the metrics folder of a data folder."""
    return Path(data_dir) / FOLDER


def prepare(data_dir: Path) -> Path:
    """Empty (or make, 0700) DATA/metrics and point prometheus-client at it; return it.

    The counts of an earlier run are dropped: counters start at zero with the server, as
    Prometheus expects of a restarted process.
    """
    if "bridge.metrics.definitions" in sys.modules:
        raise RuntimeError("metrics were defined before the multiprocess folder was set")
    path = folder(data_dir)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(mode=0o700, parents=True)
    os.environ[VARIABLE] = str(path)
    return path


def join(data_dir: Path) -> bool:
    """Write this process's counts into DATA/metrics when a ``mims serve`` keeps it there.

    For a command such as ``mims import`` run on the serve host: its counts then show in
    /metrics. Return whether it joined (no folder: the counts stay in this process).
    """
    path = folder(data_dir)
    if VARIABLE in os.environ or "bridge.metrics.definitions" in sys.modules:
        return VARIABLE in os.environ
    if not path.is_dir() or not os.access(path, os.W_OK):
        return False
    os.environ[VARIABLE] = str(path)
    return True


def leave() -> None:
    """Remove this process's live gauges (import progress) when it is done."""
    if VARIABLE in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def child_exit(_server: Any, worker: Any) -> None:
    """Forget a dead gunicorn worker (the child_exit hook): its live gauges no longer count."""
    if VARIABLE in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
