"""Counts what the schemathesis run sent, and says so at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

CASES: Counter[str] = Counter()


@pytest.fixture
def cases() -> Counter[str]:
    """Count one case per request sent, by operation."""
    return CASES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CASES:
        statuses = sum(CASES.values())
        terminalreporter.write_line(f"schemathesis: {statuses} cases over {len(CASES)} operations")
