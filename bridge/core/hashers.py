"""The threads every Argon2id hash of a challenge answer runs on: ``HASHES_AT_ONCE`` per process.

An Argon2id hash takes its memory cost (19 MiB) from the allocator of the thread that runs it.
glibc keeps a freed block that size in that thread's arena (its mmap threshold rises to the
block's size on the first free), so a `mims serve` worker whose 4 request threads hashed kept
4 x 19 MiB (99 MB -> 176 MB measured; bench/README.md, "Phase sspr"). Here, hashes run on at
most ``HASHES_AT_ONCE`` thread(s) of their own: a worker holds that many blocks, reused by every
later hash without new page faults. Giving the block back after each hash instead (a fixed
mmap threshold) made each hash twice as slow: 4,900 page faults to map 19 MiB again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["HASHES_AT_ONCE", "run"]

# One per process: `mims serve` runs a worker per core ([http] workers), so the workers' hashing
# threads keep the cores busy while clients spread over the workers (0.96-1.04x raw answer
# checks at 10,000 people; 0.63x when one worker held most connections: they stick to the
# worker that accepted them). Two held 38 MiB: about 155 MB after the writes, over the 150.
HASHES_AT_ONCE = 1

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def run(work: Callable[[], T]) -> T:
    """Run work on one of this process's hashing threads; return its result or raise its error."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(HASHES_AT_ONCE, thread_name_prefix="argon2id")
        pool = _pool
    return pool.submit(work).result()


def _forget_pool() -> None:
    """Start without threads in a forked child: the parent's are not there (gunicorn forks)."""
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)
