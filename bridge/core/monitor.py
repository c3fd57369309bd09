"""What a directory server says of itself: the figures /metrics shows from slapd's cn=Monitor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServerFigures:
    """Open connections, operations completed by kind, and connections waiting (read, write)."""

    connections: int
    operations: Mapping[str, int] = field(default_factory=dict)
    waiters: Mapping[str, int] = field(default_factory=dict)
