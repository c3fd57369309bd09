"""The highest ``_N`` in use per login-ID head: a namesake's next suffix without reading them all.

An import meets the same names again and again. Reading every earlier namesake from the
directory for each new one costs time that grows with the directory (issue 22: 2.3 ms of the
importer's CPU per person at 500,000 against 1.1 ms at 100,000), so the importers remember, per
head, the highest suffix they have seen. The answer is the one ``PeopleStore._next_suffix``
reads from the directory: one past the highest ``n`` for which ``with_suffix(base, n)`` is in
use. It is only where to start: the directory's atomic add still decides who gets a uid.
"""

from __future__ import annotations

import re

from bridge.core import naming

_SUFFIXED = re.compile(r"^(?P<head>.+)_(?P<n>[1-9]\d*)$")
LONGEST_SUFFIX = 7  # digits of the largest suffix number looked for


class HighestSuffixes:
    """The highest suffix of each ``head_N`` uid recorded, by head and number of digits."""

    def __init__(self) -> None:
        """Start with nothing recorded."""
        self._highest: dict[tuple[str, int], int] = {}

    def add(self, uid: str) -> None:
        """Record a uid in use (one without a ``_N`` ending is left out)."""
        match = _SUFFIXED.match(uid.lower())
        if match:
            key = (match["head"], len(match["n"]))
            self._highest[key] = max(self._highest.get(key, 0), int(match["n"]))

    def highest(self, base: str, rules: naming.NamingRules) -> int | None:
        """Return the highest suffix recorded for a base (0: none), None if only a scan can tell.

        None when a recorded ``head_N`` is not ``with_suffix(base, N)``: a base that ends in
        ``_N`` itself is cut one more for that suffix (never seen in practice).
        """
        stem = naming.with_suffix(base, 1, rules).rsplit("_", 1)[0]
        highest = 0
        for digits in range(1, LONGEST_SUFFIX + 1):
            head = naming.with_suffix(base, 10 ** (digits - 1), rules).rsplit("_", 1)[0]
            found = self._highest.get((head, digits), 0)
            if head != stem or not found:
                continue
            if naming.with_suffix(base, found, rules) != f"{head}_{found}":
                return None
            highest = max(highest, found)
        return highest
