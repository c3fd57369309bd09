"""What the administrator sees and does about the write target (`mims failover`, issue 21).

The directory implements the port (``bridge/directory/failover.py``); the CLI reaches it
through ``bridge.services``. Which provider is the target, and why, is the directory's
business (``bridge/directory/write_target.py``); this module only names the shapes.
"""

from __future__ import annotations

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


class Failover(Protocol):
    """The write target of a replicated directory: shown, and moved to another provider."""

    def status(self) -> list[ServerState]:
        """Return every configured server's state, in configured order."""
        ...

    def promote(self, url: str, force: bool = False) -> Promotion:
        """Make ``url`` the write target; refuse one that is behind unless ``force``."""
        ...
