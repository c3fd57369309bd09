"""The server-side files every gunicorn worker opens at boot: opening them at once never fails.

Workers start together, and a fresh file is switched to WAL by whichever comes first; SQLite
answers "database is locked" to a journal-mode change while another connection holds the file,
without waiting for the busy timeout. A worker that met it failed to boot (seen in CI).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

from bridge.sspr.throttle import SCHEME, SharedCounters
from bridge.web.session_store import SessionStore

OPENERS = 8
ROUNDS = 60


def _open_sessions(paths: list[str], barrier: Barrier) -> None:
    for path in paths:
        barrier.wait(20)
        SessionStore(Path(path), idle_seconds=60, lifetime_seconds=600).start("someone", "never")


def _open_throttle(paths: list[str], barrier: Barrier) -> None:
    for path in paths:
        barrier.wait(20)
        SharedCounters(f"{SCHEME}://{path}").incr("key", 60)


def _all_open(target: object, folder: Path) -> list[int | None]:
    """Fork OPENERS workers that open ROUNDS fresh files, all of them at once, file by file.

    The same workers go through every round (a fork costs more than the race it sets up): a
    failed open ends its worker with an error, and the barrier's timeout ends the others.
    """
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(OPENERS)
    paths = [str(folder / f"{round_}.sqlite") for round_ in range(ROUNDS)]
    workers = [
        context.Process(target=target, args=(paths, barrier))  # type: ignore[arg-type]
        for _ in range(OPENERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return [worker.exitcode for worker in workers]


def test_workers_opening_a_fresh_sessions_file_at_once_all_succeed(tmp_path: Path) -> None:
    assert set(_all_open(_open_sessions, tmp_path)) == {0}


def test_workers_opening_a_fresh_throttle_file_at_once_all_succeed(tmp_path: Path) -> None:
    assert set(_all_open(_open_throttle, tmp_path)) == {0}
