"""What the administrator sees and does about the write target (`mims failover`, issue 21).

The directory implements the port (``bridge/directory/failover.py``); the CLI reaches it
through ``bridge.services``. Which provider is the target, and why, is the directory's
business (``bridge/directory/write_target.py``); this module only names the shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ServerState:
    """One configured server as ``mims failover status`` shows it."""

    url: str
    reachable: bool
    epoch: int | None = None  # None: no write-target entry on this server
    target: str | None = None  # the provider its copy names
    context_csn: tuple[str, ...] = ()
    heartbeat_age: float | None = None  # seconds since a bridge renewed the target's heartbeat
    is_target: bool = False  # the write target, confirmed by its own copy


@dataclass(frozen=True)
class Promotion:
    """What ``mims failover promote`` did, in the order it did it."""

    url: str
    epoch: int
    steps: tuple[str, ...]


@dataclass(frozen=True)
class AttributeDifference:
    """One attribute of an entry both providers hold, with the values only one side has.

    ``hidden``: a secret's values (answer and token hashes), never shown, only said to differ.
    """

    name: str
    first: tuple[str, ...]
    second: tuple[str, ...]
    hidden: bool = False


@dataclass(frozen=True)
class EntryDifference:
    """An entry the two providers hold differently: on one side only, or with other values."""

    entry: str  # its distinguished name
    only_on: str | None = None  # the URL that alone holds it; None: both do
    attributes: tuple[AttributeDifference, ...] = ()


@dataclass(frozen=True)
class TreeComparison:
    """Two providers' trees compared entry by entry (``mims failover compare``).

    ``differences`` lists at most the limit asked for; ``different`` counts them all.
    ``settled`` counts entries that differed on the first read but agreed when read again
    (written while the trees were read, then replicated).
    """

    first: str
    second: str
    entries: tuple[int, int]
    differences: tuple[EntryDifference, ...]
    different: int
    settled: int = 0

    @property
    def equal(self) -> bool:
        """Return whether both providers hold the same entries with the same values."""
        return self.different == 0


Progress = Callable[[str], None]


class Failover(Protocol):
    """The write target of a replicated directory: shown, and moved to another provider."""

    def status(self) -> list[ServerState]:
        """Return every configured server's state, in configured order."""
        ...

    def promote(self, url: str, force: bool = False) -> Promotion:
        """Make ``url`` the write target; refuse one that is behind unless ``force``."""
        ...

    def compare(self, first: str, second: str, limit: int, progress: Progress) -> TreeComparison:
        """Compare two providers' trees; list up to ``limit`` differences, count them all."""
        ...
