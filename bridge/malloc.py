"""Make glibc give a worker's large freed blocks back to the system, so its RSS stays flat.

glibc serves a block of at least ``M_MMAP_THRESHOLD`` bytes (128 KiB at first) with its own
``mmap`` and unmaps it on ``free``. But the threshold is dynamic: freeing such a block raises
it to the block's size (up to 32 MiB), so the next blocks of that size come from the thread's
malloc arena and stay there once freed; ``malloc_trim`` cannot give back the middle of an
arena. An Argon2id hash of a challenge answer takes 19 MiB (``core/challenges.py``): a
worker whose threads had each hashed once kept 19 MiB per thread (99 MB -> 176 MB measured,
bench/README.md, "Phase sspr"). Setting the threshold fixes it (no more dynamic raise), so
each such block is mapped and unmapped again. Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# mallopt's parameter number for the threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
# Blocks from 1 MiB up are mapped on their own: an Argon2id hash's 19 MiB, a large response.
MMAP_THRESHOLD_BYTES = 1024 * 1024


def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process and its forks; tell whether it was set."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
    except (ValueError, OSError):  # not glibc: the name is unknown there
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
