"""A `mims serve` worker's memory after challenge answers are hashed on all its threads.

An Argon2id hash of an answer takes 19 MiB. A worker whose 4 threads hashed at once used to
peak at 4 x 19 MiB over one hash, and kept 19 MiB per thread afterwards (glibc's dynamic mmap
threshold): 99 MB -> 176 MB. Now hashes run on HASHES_AT_ONCE threads of their own, which keep
and reuse one 19 MiB block each. Read from /proc (VmHWM: the peak; VmRSS: now), no timing.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bridge.core.hashers import HASHES_AT_ONCE
from tests.support.attacks import worker_pids
from tests.support.cli import Served, serving
from tests.support.served_portal import set_up, student

ONE_WORKER = """
[http]
workers = 1
threads = 4
[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
"""
HASH_MB = 19  # Argon2id's memory cost (core/challenges.py DEFAULT_PARAMS)
AT_ONCE = 4


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(ONE_WORKER) as running:
        yield running


def memory_mb(pid: int) -> dict[str, float]:
    """Return a process's VmHWM (peak) and VmRSS (now) in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            figures[name] = int(value.split()[0]) / 1024
    return figures


def test_answers_hashed_on_every_thread_are_bounded_and_go_back(served: Served) -> None:
    logins = [student(served, "Mei", f"Tan{chr(ord('a') + i)}") for i in range(AT_ONCE + 1)]
    set_up(served, logins[0])  # one first-login set-up: 3 answers hashed, the worker warm
    workers = [pid for pid in worker_pids(served.pid) if memory_mb(pid)]
    before = {pid: memory_mb(pid) for pid in workers}

    with ThreadPoolExecutor(AT_ONCE) as clients:
        list(clients.map(lambda login: set_up(served, login), logins[1:]))

    assert before, "no worker found"
    for pid, was in before.items():
        now = memory_mb(pid)
        # The warm-up held one hash's block; 4 at once may add HASHES_AT_ONCE - 1 more (the
        # old way: 3 more, one per request thread, kept afterwards).
        grown = (HASHES_AT_ONCE - 0.5) * HASH_MB
        assert now["VmHWM"] - was["VmHWM"] < grown, (was, now)
        assert now["VmRSS"] - was["VmRSS"] < grown, (was, now)
