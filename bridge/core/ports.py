"""What the front doors need from the directory, as small protocols (STYLE.md, habit 2)."""

from __future__ import annotations

from typing import Protocol


class HealthCheck(Protocol):
    """Tell whether the directory answers."""

    def ping(self) -> None:
        """Return when the directory answers; raise DirectoryUnavailable otherwise."""
