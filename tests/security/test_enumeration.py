"""Attack: tell which login IDs exist from what the portal answers, and how fast.

Every portal call that takes a login ID (signing in; starting a reset and checking answers,
also for a new account before its first sign-in) answers an unknown ID as it answers a real
one: the same status, the same body, questions of the same count and order, and the same
time within noise.

Status, body and questions are asked of `mims serve`. The times come from 100 tries of each
kind through the app in this process (the Flask test client, over the session's slapd; the
HTTP server would only add noise of its own), the kinds interleaved in a shuffled order each
round, and compared round by round: the median of each kind's time less a wrong secret's
time in the same round must be within 1 ms, so that load which comes and goes on a shared
machine slows both alike. A comparison that load still spoils is made again, up to five
times: a leak (on main an unknown ID was refused in a fifth of the time of a real one) fails
every time.
"""

from __future__ import annotations

import http.cookiejar
import random
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.core.challenges import FAST_PARAMS, AttemptLimit
from bridge.core.people import PersonChange
from bridge.directory.client import LdapClient
from bridge.services import Services
from tests.support.cli import Served, mims, serving
from tests.support.portal import ANSWERS, GOOD, NEWER, make_person, post
from tests.support.served_portal import WRONG, call, student

TRIES = 100
SLACK_MS = 1.0
ATTEMPTS = 5
# Five questions, three to answer: unknown IDs then get three of five, which shows the choice.
CONFIG = """
[sspr]
rate_limit = "100000 per minute"
address_failures = "100000 per hour"

[[sspr.questions]]
id = "mother_maiden_name"
text = "What is your mother's maiden name?"

[[sspr.questions]]
id = "first_pet"
text = "What was the name of your first pet?"

[[sspr.questions]]
id = "favourite_colour"
text = "What is your favourite colour?"

[[sspr.questions]]
id = "first_school"
text = "What was the name of your first school?"

[[sspr.questions]]
id = "favourite_city"
text = "What is your favourite city?"
"""
CATALOGUE = [
    "mother_maiden_name",
    "first_pet",
    "favourite_colour",
    "first_school",
    "favourite_city",
]
WRONG_ANSWERS = {q: WRONG[q] for q in ANSWERS}
Try = Callable[[], tuple[int, Any]]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(CONFIG) as running:
        yield running


@pytest.fixture
def web(config: Config, directory: LdapClient) -> FlaskClient:
    """The app in this process, without limits by address; cheap answer hashes."""
    # Up to 100 wrong answer sets are counted and checked before reset closes.
    limits = {
        "rate_limit": "100000 per minute",
        "address_failures": "100000 per hour",
        "max_failed_attempts": 100,
    }
    app = create_app(config.with_overrides(sspr=limits), client=directory)
    app.testing = True
    app.extensions["mims.portal"].params = FAST_PARAMS
    return app.test_client()


def opener() -> urllib.request.OpenerDirector:
    """Return a client with its own cookies, as one browser."""
    return urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )


def gaps(kinds: dict[str, Try]) -> dict[str, float]:
    """Run each kind TRIES times, shuffled round by round; return each kind's gap in ms.

    A kind's gap is the median, over the rounds, of its time less the first kind's time in the
    same round: load that comes and goes slows both tries of a round alike, and cancels out.
    Every answer must be the first kind's first answer: one status and body for all.
    """
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    names = list(kinds)
    reference = names[0]
    first = kinds[reference]()  # also warms every path up before anything is timed
    for _ in range(TRIES):
        random.shuffle(names)
        for kind in names:
            start = time.perf_counter()
            answer = kinds[kind]()
            times[kind].append((time.perf_counter() - start) * 1000)
            assert answer == first, (kind, answer, first)
    ref = times[reference]
    return {
        kind: round(statistics.median([a - b for a, b in zip(values, ref, strict=True)]), 2)
        for kind, values in times.items()
    }


def assert_same_time(kinds: dict[str, Try], setup: Callable[[], None] = lambda: None) -> None:
    """Assert every kind's gap to the first is at most SLACK_MS, in one of ATTEMPTS runs.

    ``setup`` runs before each run, untimed.
    """
    runs = []
    for _ in range(ATTEMPTS):
        setup()
        found = gaps(kinds)
        runs.append(found)
        if all(abs(gap) <= SLACK_MS for gap in found.values()):
            return
    raise AssertionError(f"median time gaps in ms to {next(iter(kinds))}: {runs}")


# -- signing in -------------------------------------------------------------------------------


def login(served: Served, login_id: str, password: str) -> Try:
    return lambda: call(served, "login", {"loginId": login_id, "password": password})


def test_unknown_wrong_locked_and_disabled_sign_ins_get_one_answer(served: Served) -> None:
    locked = student(served, "Locked", "Out")
    for _ in range(5):
        assert login(served, locked, "Wrong-guess-123")()[0] == 401
    disabled = student(served, "Gone", "Away")
    assert mims("user", "disable", disabled, env=served.env).returncode == 0
    wrong = login(served, student(served, "Wrong", "Guess"), "Wrong-guess-123")()

    assert login(served, "nobody@students.edu.sg", GOOD)() == wrong
    assert login(served, locked, GOOD)() == wrong
    assert login(served, disabled, GOOD)() == wrong
    status, body = wrong
    assert status == 401 and body["error"] == "wrong_login"
    assert "temporarily locked: try again later or ask your form teacher" in body["detail"]


@pytest.mark.alone  # a 1 ms comparison: the other xdist worker's load swamps it
def test_sign_ins_take_the_same_time_whatever_the_reason(
    web: FlaskClient, services: Services
) -> None:
    # Wrong passwords spread over accounts so that none of them locks (five would).
    wrong = [make_person(services, f"Wrong Guess{chr(97 + n)}") for n in range(26)]
    locked = make_person(services, "Locked Out")
    for _ in range(5):
        assert (
            post(web, "login", {"loginId": str(locked.login_id), "password": "Nope-123"})[0] == 401
        )
    disabled = make_person(services, "Gone Away")
    services.people.update(disabled.id, PersonChange(disabled=True))
    turns = {"wrong": 0, "unknown": 0}

    def attempt(login_id: str, password: str) -> Try:
        return lambda: post(web, "login", {"loginId": login_id, "password": password})

    def next_wrong() -> tuple[int, Any]:
        turns["wrong"] += 1
        return attempt(str(wrong[turns["wrong"] % len(wrong)].login_id), "Wrong-guess-123")()

    def next_unknown() -> tuple[int, Any]:
        turns["unknown"] += 1
        return attempt(f"nobody_{turns['unknown'] % 7}@students.edu.sg", GOOD)()

    assert_same_time(
        {
            "wrong password": next_wrong,
            "unknown": next_unknown,
            "locked, right password": attempt(str(locked.login_id), GOOD),
            "disabled, right password": attempt(str(disabled.login_id), GOOD),
        }
    )


# -- starting a reset -------------------------------------------------------------------------


def questions(served: Served, login_id: str) -> list[str]:
    status, started = call(served, "reset/start", {"loginId": login_id})
    assert status == 200 and set(started) == {"ticket", "questions"}, started
    return [q["id"] for q in started["questions"]]


def answered_backwards(served: Served, given: str, family: str) -> str:
    """Return a student who chose their answers in the reverse of the catalogue's order."""
    login_id = student(served, given, family)
    browser = opener()
    status, signed = call(served, "login", {"loginId": login_id, "password": GOOD}, browser)
    assert status == 200, signed
    current = GOOD
    if signed["next"] == "change_password":
        change = {"currentPassword": GOOD, "newPassword": NEWER}
        assert call(served, "password", change, browser)[0] == 200
        current = NEWER
    backwards = dict(reversed(list(ANSWERS.items())))
    chosen = {"currentPassword": current, "answers": backwards}
    assert call(served, "answers", chosen, browser)[0] == 200
    return login_id


def test_questions_come_in_the_catalogues_order_for_everyone(served: Served) -> None:
    real = answered_backwards(served, "Back", "Wards")
    unknown = [f"nobody_{n}@students.edu.sg" for n in range(20)]

    shown = questions(served, real)

    assert shown == [q for q in CATALOGUE if q in ANSWERS]
    for login_id in unknown:
        decoy = questions(served, login_id)
        assert len(decoy) == len(shown) and decoy == [q for q in CATALOGUE if q in decoy]
        assert questions(served, login_id) == decoy  # stable: asking again tells nothing
    assert len({tuple(questions(served, login_id)) for login_id in unknown}) > 1


# -- checking answers -------------------------------------------------------------------------


@pytest.mark.alone  # a 1 ms comparison: the other xdist worker's load swamps it
def test_answer_checks_take_the_same_time_whatever_the_reason(
    web: FlaskClient, services: Services, directory: LdapClient
) -> None:
    portal = web.application.extensions["mims.portal"]
    open_account = make_person(services, "Open Door")
    portal.set_answers(open_account.id, GOOD, ANSWERS, None)
    closed = make_person(services, "Closed Door")
    portal.set_answers(closed.id, GOOD, ANSWERS, None)
    unset = make_person(services, "Never Answered")  # before the first sign-in: no answers
    ticket = {}
    for person in (open_account, closed, unset):
        ticket[person.id] = post(web, "reset/start", {"loginId": str(person.login_id)})[1]
    unknown = post(web, "reset/start", {"loginId": "nobody_again@students.edu.sg"})[1]
    closing = services.answers.find(closed.login_id)
    assert closing is not None
    services.answers.claim_attempt(closing.key, AttemptLimit(1, timedelta(minutes=15)))
    state = services.answers.find(open_account.login_id)
    assert state is not None

    def check(started: Any, answers: dict[str, str]) -> Try:
        return lambda: post(web, "reset/verify", {"ticket": started["ticket"], "answers": answers})

    assert_same_time(
        {
            "wrong answers": check(ticket[open_account.id], WRONG_ANSWERS),
            "unknown": check(unknown, WRONG_ANSWERS),
            "closed, right answers": check(ticket[closed.id], ANSWERS),
            "new account, no answers": check(ticket[unset.id], WRONG_ANSWERS),
        },
        # Open again before each run: its wrong sets are counted and checked, not refused.
        setup=lambda: services.answers.reopen(state.key),
    )
