"""A real `mims serve` on free ports and Debian's Chromium driven by Playwright.

Never `playwright install`: the browser is Debian's `chromium` (`make test` installs it via
`scripts/ensure-system chromium`). Tests are skipped when it is missing.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.directory.slapd import free_port
from tests.test_cli import MIMS, wait_for

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--headless=new",
]
# The README's screenshots are refreshed only on request (MIMS_SCREENSHOTS=1), so that a
# plain test run leaves the work tree clean; otherwise they go to a temporary folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("MIMS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "mims-screenshots"
)

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium missing")


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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium missing")
    root = tmp_path_factory.mktemp("portal")
    data = root / "data"
    site = root / "site.toml"
    site.write_text('[sspr]\nrate_limit = "1000 per minute"\n')
    http_port, ldap_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
        "HOME": str(root),
        "MIMS_DATA_DIR": str(data),
        "MIMS_LDAP_PORT": str(ldap_port),
        "MIMS_HTTP_PORT": str(http_port),
        "MIMS_CONFIG": str(site),
    }
    log = (root / "serve.log").open("w")
    process = subprocess.Popen([*MIMS, "serve"], stdout=log, stderr=log, env=env)
    try:
        assert wait_for(f"http://127.0.0.1:{http_port}/readyz", timeout=60) == 200
        yield Server(f"http://127.0.0.1:{http_port}", env, data)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
