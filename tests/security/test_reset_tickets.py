"""Attack: finish a password reset that should not finish: for a disabled account, with a
reset token copied to another browser, used twice, or kept too long.

The token the right answers earn works once, only in the browser that answered (its cookie),
for ``[sspr] token_minutes``; a disabled account is refused at every step.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import Served, serving
from tests.support.portal import ANSWERS
from tests.support.portal_sessions import Browser, age, scim_replace
from tests.support.served_portal import call, set_up, student, ticket

LIMITS = """
[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
token_minutes = 10
"""
CHOSEN = "Orange8Comet55"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(LIMITS) as running:
        yield running


def answered(served: Served, given: str, family: str) -> tuple[str, str, Browser, str]:
    """A student with answers who answered them right: login, password, browser, token."""
    login = student(served, given, family)
    password = set_up(served, login)
    browser = Browser(served)
    status, body = browser.call(
        "reset/verify", {"ticket": ticket(served, login), "answers": ANSWERS}
    )
    assert status == 200, body
    return login, password, browser, str(body["resetToken"])


def password_is(served: Served, login: str, password: str) -> bool:
    """Tell whether this password signs the person in."""
    return call(served, "login", {"loginId": login, "password": password})[0] == 200


def complete(browser: Browser, token: str) -> tuple[int, str]:
    """Choose CHOSEN with a reset token from this browser; return the status and error code."""
    status, body = browser.call("reset/complete", {"resetToken": token, "newPassword": CHOSEN})
    return status, str(body.get("error", ""))


def test_a_disabled_account_cannot_get_a_reset_token(served: Served) -> None:
    login = student(served, "Rani", "Devi")
    set_up(served, login)
    scim_replace(served, login, "active", False)

    status, body = call(
        served, "reset/verify", {"ticket": ticket(served, login), "answers": ANSWERS}
    )

    assert (status, body["error"]) == (400, "reset_refused")


def test_a_disable_after_the_answers_stops_the_reset(served: Served) -> None:
    login, password, browser, token = answered(served, "Sam", "Wong")
    scim_replace(served, login, "active", False)

    assert complete(browser, token) == (403, "reset_closed")

    scim_replace(served, login, "active", True)
    assert password_is(served, login, password)
    assert not password_is(served, login, CHOSEN)


def test_a_token_works_only_in_the_browser_that_answered(served: Served) -> None:
    login, _, browser, token = answered(served, "Tariq", "Aziz")

    assert complete(Browser(served), token) == (400, "expired")  # copied to another browser
    status, body = call(served, "reset/complete", {"resetToken": token, "newPassword": CHOSEN})
    assert (status, body["error"]) == (400, "expired")  # sent with no cookie at all

    assert complete(browser, token) == (200, "")
    assert password_is(served, login, CHOSEN)


def test_a_token_works_once(served: Served) -> None:
    login, _, browser, token = answered(served, "Uma", "Pillai")
    assert complete(Browser(served), token)[0] == 400
    assert complete(browser, token) == (200, "")

    status, body = browser.call(
        "reset/complete", {"resetToken": token, "newPassword": "Plum4Tiger77"}
    )

    assert (status, body["error"]) == (400, "expired")
    assert password_is(served, login, CHOSEN)


def test_a_token_expires(served: Served) -> None:
    login, password, browser, token = answered(served, "Vijay", "Kumar")
    # Eleven minutes pass (token_minutes = 10).
    assert age(served, "UPDATE reset_grants SET expires = expires - 660") >= 1

    assert complete(browser, token) == (400, "expired")
    assert password_is(served, login, password)
