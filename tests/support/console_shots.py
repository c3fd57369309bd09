"""Screenshots of the console for docs/console.md (MIMS_SCREENSHOTS=1), or a temporary folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

CONSOLE_SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "console-screenshots"
    if os.environ.get("MIMS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "mims-console-screenshots"
)


def console_shot(page: object, name: str) -> None:
    """Save a full-page screenshot named NAME.png in CONSOLE_SHOTS."""
    CONSOLE_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(CONSOLE_SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
