"""The attack suite's target: one `mims serve` (real gunicorn, its own slapd) for the package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import Served, serving

# A SCIM limit below the 1 MB default, so the suite also proves the setting is obeyed.
SCIM_LIMIT = 524_288


@pytest.fixture(scope="package")
def scim_limit() -> int:
    """The ``[scim] max_payload_bytes`` the suite's `mims serve` runs with."""
    return SCIM_LIMIT


@pytest.fixture(scope="package")
def served() -> Iterator[Served]:
    with serving(f"[scim]\nmax_payload_bytes = {SCIM_LIMIT}\n") as running:
        yield running
