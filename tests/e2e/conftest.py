"""A real `mims serve` on free ports and Debian's Chromium driven by Playwright.

Never `playwright install`: the browser is Debian's `chromium` (`make test` installs it via
`scripts/ensure-system chromium`). Tests are skipped when it is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.browser import Server
from tests.support.cli import MIMS, wait_for
from tests.support.ports import free_port

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
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium missing")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium missing")
    root = tmp_path_factory.mktemp("portal")
    data = root / "data"
    site = root / "site.toml"
    http_port, ldap_port = free_port(), free_port()
    site.write_text(
        '[sspr]\nrate_limit = "1000 per minute"\naddress_failures = "1000 per hour"\n'
        f'portal_url = "http://127.0.0.1:{http_port}/sspr/"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
        "HOME": str(root),
        "MIMS_DATA_DIR": str(data),
        "MIMS_LDAP_PORT": str(ldap_port),
        "MIMS_LDAPS_PORT": str(free_port()),
        "MIMS_HTTP_PORT": str(http_port),
        "MIMS_PASSWORD_PORT": str(free_port()),
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
