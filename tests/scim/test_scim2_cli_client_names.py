"""scim2-tester against a real `mims serve` (gunicorn, its own slapd) that keeps clients' names.

scim2-cli's ``scim2 test`` cannot be given example values, and invents passwords the policy
refuses and managers that do not exist; the checks run here through the same scim2-client
(httpx) session the CLI builds, with acceptable examples offered (tests/scim/test_scim2_tester).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient

from bridge.directory.slapd import free_port
from tests.support.cli import MIMS, mims, wait_for
from tests.support.scim_tester import check


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, str]]:
    """Start `mims serve` with ``[scim] usernames = "client"``; yield its URL and a token."""
    # The system's temp folder: pytest's paths are too long for slapd's ldapi socket.
    home = Path(tempfile.mkdtemp(prefix="mims-serve-"))
    (home / "mims.toml").write_text('[scim]\nusernames = "client"\n')
    http_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | {
        "HOME": str(home),
        "MIMS_CONFIG": str(home / "mims.toml"),
        "MIMS_DATA_DIR": str(home / "d"),
        "MIMS_LDAP_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [*MIMS, "serve", "--port", str(http_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{http_port}"
        assert wait_for(f"{base}/readyz", timeout=30) == 200
        made = mims("token", "create", "--name", "tester", env=env)
        assert made.returncode == 0, made.stderr
        yield base, made.stdout.strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
def test_scim2_tester_over_http_finds_nothing(
    served: tuple[str, str],
) -> None:
    base, token = served
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=f"{base}/scim/v2", headers=headers, timeout=30) as session:
        assert check(SyncSCIMClient(session), login_ids=False) == []
