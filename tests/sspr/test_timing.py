"""Unknown IDs, accounts without answers and wrong answers take the same time (real cost).

Measured over a few dozen interleaved tries with the production Argon2id parameters; the
medians must agree within a tolerance far below the cost of one verification, so a missing
dummy verification (a third of the work) would fail the test.
"""

from __future__ import annotations

import statistics
import time

import pytest

from bridge.app import create_app
from bridge.config import Config
from bridge.core.challenges import DEFAULT_PARAMS
from bridge.directory.connection import Directory
from bridge.services import Services
from tests.sspr.conftest import ANSWERS, make_person, post

ROUNDS = 12


@pytest.mark.slow
def test_reset_verify_takes_the_same_time_whoever_asks(
    portal_config: Config, directory: Directory, services: Services
) -> None:
    config = portal_config.with_overrides(sspr={"max_failed_attempts": 100})
    app = create_app(config, directory)
    portal = app.extensions["mims.portal"]
    assert portal.params == DEFAULT_PARAMS
    client = app.test_client()
    with_answers = make_person(services, "Mary Tan")
    without = make_person(services, "Ali Tan")
    portal.set_answers(with_answers.id, ANSWERS, None)
    wrong = dict(ANSWERS, favourite_city="London")
    cases = {
        "unknown": ("nobody_here@students.edu.sg", ANSWERS),
        "no answers": (str(without.login_id), ANSWERS),
        "wrong answers": (str(with_answers.login_id), wrong),
    }
    tickets = {
        name: post(client, "reset/start", {"loginId": login})[1]["ticket"]
        for name, (login, _) in cases.items()
    }
    timings: dict[str, list[float]] = {name: [] for name in cases}
    bodies = set()
    for _ in range(ROUNDS):
        for name, (_, answers) in cases.items():
            started = time.perf_counter()
            response = client.post(
                "/sspr/api/reset/verify", json={"ticket": tickets[name], "answers": answers}
            )
            timings[name].append(time.perf_counter() - started)
            bodies.add((response.status_code, response.get_data()))
    assert len(bodies) == 1
    medians = {name: statistics.median(values) for name, values in timings.items()}
    fastest, slowest = min(medians.values()), max(medians.values())
    one_verification = fastest / 3
    # Within a quarter of one Argon2id verification: a skipped dummy verify shows as a third.
    assert slowest - fastest < one_verification / 4, medians
