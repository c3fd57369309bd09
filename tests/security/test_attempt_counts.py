"""Attack: many wrong answer sets at once, to check more sets than the attempt limit allows.

Each attempt is claimed in the directory (a write asserting the entry's entryCSN) before its
answers are checked, so however many requests arrive together through every gunicorn worker,
no more than the remaining attempts are checked and the counter stops at the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.cli import Served, serving
from tests.support.portal import ANSWERS
from tests.support.served_portal import WRONG, attribute, call, set_up, student, ticket

CONFIG = """
[http]
workers = 4
threads = 4

[sspr]
max_failed_attempts = 5
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
"""


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(CONFIG) as running:
        yield running


def test_twenty_parallel_wrong_sets_check_only_the_attempts_left(served: Served) -> None:
    login = student(served, "Nur", "Aisyah")
    set_up(served, login)
    assert (
        call(served, "reset/verify", {"ticket": ticket(served, login), "answers": WRONG})[0] == 400
    )
    assert attribute(served, login, "mimsSsprFailures") == "1"  # four attempts left

    tickets = [ticket(served, login) for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answered = list(
            pool.map(
                lambda t: call(served, "reset/verify", {"ticket": t, "answers": WRONG}), tickets
            )
        )

    assert {(status, body["error"]) for status, body in answered} == {(400, "reset_refused")}
    assert attribute(served, login, "mimsSsprFailures") == "5"
    assert attribute(served, login, "mimsSsprLockedTime") is not None
    # Closed now: even the right answers are refused, and count nothing more.
    right = call(served, "reset/verify", {"ticket": ticket(served, login), "answers": ANSWERS})
    assert right[0] == 400
    assert attribute(served, login, "mimsSsprFailures") == "5"
