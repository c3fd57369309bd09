"""The browser tests' server: a real `mims serve` a test can add students to; screenshots."""

from __future__ import annotations

import csv
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import MIMS

# The README's screenshots are refreshed only on request (MIMS_SCREENSHOTS=1), so that a
# plain test run leaves the work tree clean; otherwise they go to a temporary folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("MIMS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "mims-screenshots"
)


@dataclass
class Server:
    url: str
    env: dict[str, str]
    data: Path

    def mims(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [*MIMS, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def add_student(self, external_id: str, name: str, level: str = "P5") -> tuple[str, str]:
        """Import one student and give them a temporary password; return login and password."""
        roster = self.data.parent / f"{external_id}.csv"
        with roster.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["external_id", "full_name", "role", "school", "level", "class"])
            writer.writerow([external_id, name, "student", "Clementi Primary", level, "5A"])
        self.mims("import", str(roster))
        login = name.lower().replace(" ", "_") + "@students.edu.sg"
        out = self.mims("user", "reset-password", login)
        return login, out.strip().rsplit(": ", 1)[1]


def shot(page: object, name: str) -> None:
    """Save a full-page screenshot named NAME.png in SCREENSHOTS."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
