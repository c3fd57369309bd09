"""Reset answers cost the same Argon2id work whoever asks, counted rather than timed.

Every refusal (unknown ID, no answers, closed reset, wrong answers) and the success run exactly
the portal's number of verifications, each at the portal's cost: a skipped dummy verification
or a cheaper dummy hash shows as a different list, on any machine. Wall-clock figures for the
reset are the benchmark's (bench/README.md, phase `sspr`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest
from flask.testing import FlaskClient

from bridge.core import challenges
from bridge.services import Services
from bridge.sspr.service import Portal
from tests.support.portal import ANSWERS, GOOD, Account, make_person, post

WRONG = dict(ANSWERS, favourite_city="London")


@contextmanager
def calls_to(function: Callable[..., Any]) -> Iterator[list[dict[str, Any]]]:
    """Record the arguments of every call to function in this thread, by profiling."""
    calls: list[dict[str, Any]] = []

    def profile(frame: FrameType, event: str, _: object) -> None:
        if event == "call" and frame.f_code is function.__code__:
            calls.append(dict(frame.f_locals))

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield calls
    finally:
        sys.setprofile(previous)


def cost(phc: str) -> tuple[int, int, int]:
    """Return Argon2id's memory, iterations and lanes from a PHC string."""
    match = re.match(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", phc)
    assert match, phc
    return int(match[1]), int(match[2]), int(match[3])


def verifications(web: FlaskClient, login: str, answers: dict[str, str]) -> list[tuple[int, ...]]:
    """Ask for a reset with these answers; return the cost of each Argon2id verification."""
    _, started = post(web, "reset/start", {"loginId": login})
    with calls_to(challenges.verify_phc) as calls:
        post(web, "reset/verify", {"ticket": started["ticket"], "answers": answers})
    return [cost(call["phc"]) for call in calls]


@pytest.fixture
def closed(web: FlaskClient, portal: Portal, services: Services) -> Account:
    """Ali, with answers, after as many wrong answer sets as close his self-service reset."""
    person = make_person(services, "Ali Tan")
    account = Account(person, str(person.login_id), "")
    portal.set_answers(person.id, GOOD, ANSWERS, None)
    for _ in range(portal.config.max_failed_attempts):
        ticket = portal.start_reset(account.login)[0]
        assert post(web, "reset/verify", {"ticket": ticket, "answers": WRONG})[0] == 400
    return account


def test_every_reset_answer_costs_the_same_verifications(
    web: FlaskClient, portal: Portal, ready: Account, closed: Account, services: Services
) -> None:
    without = make_person(services, "Siti Ahmad")
    one = (portal.params.memory_kib, portal.params.iterations, portal.params.lanes)
    expected = [one] * portal.config.answers_required
    cases = {
        "unknown login ID": ("nobody_here@students.edu.sg", ANSWERS),
        "not a login ID": ("not an id at all", ANSWERS),
        "no answers": (str(without.login_id), ANSWERS),
        "reset closed": (closed.login, ANSWERS),
        "wrong answers": (ready.login, WRONG),
        "too few answers": (ready.login, {"favourite_city": "Paris"}),
        "right answers": (ready.login, ANSWERS),
    }
    for case, (login, answers) in cases.items():
        assert verifications(web, login, answers) == expected, case
