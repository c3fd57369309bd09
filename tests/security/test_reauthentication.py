"""Attack: with only a copied portal cookie, choose new answers (or a recovery e-mail), then
reset the child's password with them.

Changing answers or the recovery e-mail takes the current password again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import Served, serving
from tests.support.portal import ANSWERS
from tests.support.portal_sessions import Browser, with_cookie
from tests.support.served_portal import WRONG, attribute, call, set_up, student, ticket

LIMITS = """
[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
"""
THIEFS = {"mother_maiden_name": "Evil", "favourite_colour": "Black", "favourite_city": "Mordor"}


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(LIMITS) as running:
        yield running


def stolen_session(served: Served, given: str, family: str) -> tuple[str, str, str]:
    """A student with answers, signed in; return login, password and the copied cookie."""
    login = student(served, given, family)
    password = set_up(served, login)
    browser = Browser(served)
    browser.sign_in(login, password)
    return login, password, browser.cookie()


def answers_work(served: Served, login: str, answers: dict[str, str]) -> bool:
    """Tell whether a set of answers earns a reset token."""
    status, _ = call(served, "reset/verify", {"ticket": ticket(served, login), "answers": answers})
    return status == 200


def test_a_cookie_alone_cannot_choose_new_answers(served: Served) -> None:
    login, _, cookie = stolen_session(served, "Nadia", "Hassan")
    before = attribute(served, login, "mimsChallengeSetTime")

    status, body = with_cookie(served, cookie, "answers", {"answers": THIEFS})

    assert status == 400 and body["error"] == "bad_request", body
    assert attribute(served, login, "mimsChallengeSetTime") == before
    assert not answers_work(served, login, THIEFS)
    assert answers_work(served, login, ANSWERS)


def test_a_cookie_and_a_guessed_password_cannot_either(served: Served) -> None:
    login, _, cookie = stolen_session(served, "Omar", "Said")

    status, body = with_cookie(
        served, cookie, "answers", {"answers": THIEFS, "currentPassword": "Guess-it-123"}
    )

    assert (status, body["error"]) == (400, "wrong_current_password")
    assert not answers_work(served, login, THIEFS)


def test_a_recovery_email_takes_the_current_password_too(served: Served) -> None:
    login, password, cookie = stolen_session(served, "Priya", "Menon")
    new = {"mother_maiden_name": "Wong", "favourite_colour": "Green", "favourite_city": "Oslo"}
    change = {"answers": new, "recoveryEmail": "thief@example.org"}

    assert with_cookie(served, cookie, "answers", change)[0] == 400
    assert attribute(served, login, "mimsRecoveryEmail") is None

    # The child, who knows her password, can.
    change = {"answers": new, "recoveryEmail": "mum@example.org", "currentPassword": password}
    assert with_cookie(served, cookie, "answers", change) == (200, {"next": "done"})
    assert attribute(served, login, "mimsRecoveryEmail") == "mum@example.org"
    assert answers_work(served, login, new)
    assert not answers_work(served, login, WRONG)
