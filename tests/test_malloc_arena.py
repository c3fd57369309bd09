"""`mims serve`'s workers share one glibc malloc arena among their threads (bridge/serve.py).

Each case runs in a fresh Python: four threads allocate, then glibc's ``malloc_stats()`` prints
one "Arena N:" block per arena on stderr.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

PROGRAM = """
import ctypes, sys, threading
from bridge.serve import one_malloc_arena
took = one_malloc_arena() if sys.argv[1] == "one" else None
print(took)

def allocate():
    kept = [bytes(1000) for _ in range(2000)]  # over 512 bytes: glibc's malloc, not Python's
    del kept

threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
sys.stdout.flush()
ctypes.CDLL(None).malloc_stats()
"""


def arenas(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    """Run the program; return what one_malloc_arena returned and how many arenas glibc made."""
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip(), done.stderr.count("Arena ")


@pytest.fixture(autouse=True)
def glibc() -> None:
    if getattr(ctypes.CDLL(None), "malloc_stats", None) is None:
        pytest.skip("not glibc: there is no malloc arena to share")


def test_threads_share_one_arena() -> None:
    assert arenas("one") == ("True", 1)


def test_without_it_threads_get_arenas_of_their_own() -> None:
    _, made = arenas("default")

    assert made > 1  # the control: what one_malloc_arena prevents


def test_the_operators_malloc_arena_max_wins() -> None:
    took, made = arenas("one", env=os.environ | {"MALLOC_ARENA_MAX": "3"})

    assert took == "False"
    assert 1 < made <= 3
