"""A set of 8-byte fingerprints at 8 bytes each: what the roster reader keeps per row.

The reader spots an external ID used twice in a file by its 8-byte BLAKE2b fingerprint. In a
Python ``set`` each one is a bytes object and a table slot: 37 MB for 500,000 rows, a quarter
of the 150 MB an import may take (issue 22). Here new fingerprints wait in a small set and are
merged, RECENT at a time, into one sorted array of 64-bit integers searched by bisection:
4 MB for 500,000, and a merge of the whole array every RECENT rows (7 for 500,000).
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from bisect import bisect_left

RECENT = 65_536  # fingerprints kept in a plain set before they join the sorted array


class Fingerprints:
    """The fingerprints of the keys added so far; tells whether a key came before."""

    def __init__(self, recent: int | None = None) -> None:
        """Start empty; ``recent``: how many wait in the set before a merge (RECENT)."""
        self._recent_limit = RECENT if recent is None else recent
        self._recent: set[int] = set()
        self._sorted = array("Q")

    def add(self, key: str) -> bool:
        """Add a key; return whether a key of the same fingerprint was added before."""
        value = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
        if value in self._recent or self._in_sorted(value):
            return True
        self._recent.add(value)
        if len(self._recent) >= self._recent_limit:
            self._sorted = array("Q", heapq.merge(self._sorted, sorted(self._recent)))
            self._recent.clear()
        return False

    def _in_sorted(self, value: int) -> bool:
        at = bisect_left(self._sorted, value)
        return at < len(self._sorted) and self._sorted[at] == value
