"""scim2-tester against a real `mims serve` (gunicorn, its own slapd) that keeps clients' names.

scim2-cli's ``scim2 test`` cannot be given example values, and invents passwords the policy
refuses and managers that do not exist; the checks run here through the same scim2-client
(httpx) session the CLI builds, with acceptable examples offered (tests/scim/test_scim2_tester).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient

from tests.support.cli import Served, serving
from tests.support.scim_tester import check


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """Start `mims serve` with ``[scim] usernames = "client"``."""
    with serving('[scim]\nusernames = "client"\n') as running:
        yield running


@pytest.mark.slow
def test_scim2_tester_over_http_finds_nothing(
    served: Served,
) -> None:
    headers = {"Authorization": f"Bearer {served.token}"}
    with httpx2.Client(base_url=f"{served.base}/scim/v2", headers=headers, timeout=30) as session:
        assert check(SyncSCIMClient(session), login_ids=False) == []
