"""Attack: keep using a portal cookie copied from a child's browser after it should be over.

Sessions are kept on the server (``sessions.sqlite`` in the data folder); every request reads
the account again. A cookie copied before sign-out, a new password (portal, SCIM, `mims`), a
disable, a lock or a sign-in elsewhere in the same browser answers 401 after it, and no
session outlives its idle timeout or its absolute lifetime.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator

import pytest

from tests.support.cli import Served, mims, serving
from tests.support.portal import NEWER
from tests.support.portal_sessions import (
    Browser,
    age,
    person_id,
    scim_replace,
    sessions_file,
    signed_in,
)
from tests.support.served_portal import call, set_up, student

LIMITS = """
[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
session_minutes = 60
session_idle_minutes = 10
"""
LATEST = "Orange8Comet55"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(LIMITS) as running:
        yield running


def victim(served: Served, given: str, family: str) -> tuple[str, str, Browser, str]:
    """A student who has set up her account and signed in: login, password, browser, cookie."""
    login = student(served, given, family)
    password = set_up(served, login)
    browser = Browser(served)
    browser.sign_in(login, password)
    stolen = browser.cookie()
    assert signed_in(served, stolen)
    return login, password, browser, stolen


def test_sign_out_ends_the_copied_cookie(served: Served) -> None:
    _, _, browser, stolen = victim(served, "Ann", "Lee")
    assert browser.call("logout", {})[0] == 200
    assert not signed_in(served, stolen)


def test_sign_out_ends_every_session_of_the_person(served: Served) -> None:
    login, password, browser, _ = victim(served, "Bala", "Krishnan")
    other = Browser(served)
    other.sign_in(login, password)
    assert browser.call("logout", {})[0] == 200
    assert not signed_in(served, other.cookie())


def test_a_password_change_in_the_portal_ends_the_copied_cookie(served: Served) -> None:
    _, password, browser, stolen = victim(served, "Chen", "Wei")
    status, body = browser.call("password", {"currentPassword": password, "newPassword": LATEST})
    assert status == 200, body
    assert not signed_in(served, stolen)
    assert signed_in(served, browser.cookie())  # the browser that changed it goes on


def test_a_password_change_through_scim_ends_the_session(served: Served) -> None:
    login, _, _, stolen = victim(served, "Devi", "Nair")
    other = student(served, "Mei", "Ong")
    scim_replace(served, other, "password", NEWER)
    assert signed_in(served, stolen)  # another person's new password ends nothing here
    scim_replace(served, login, "password", LATEST)
    assert not signed_in(served, stolen)


def test_a_disable_through_scim_ends_the_session(served: Served) -> None:
    login, _, _, stolen = victim(served, "Eng", "Soon")
    scim_replace(served, login, "active", False)
    assert not signed_in(served, stolen)
    scim_replace(served, login, "active", True)
    assert not signed_in(served, stolen)  # over for good, not only while disabled


def test_a_lock_ends_the_session(served: Served) -> None:
    login, password, _, stolen = victim(served, "Farah", "Aziz")
    for _ in range(5):
        assert call(served, "login", {"loginId": login, "password": "Wrong-guess-123"})[0] == 401
    # Locked: the right password is refused, answered as a wrong one (no enumeration).
    assert call(served, "login", {"loginId": login, "password": password})[0] == 401
    assert not signed_in(served, stolen)


def test_an_administrators_reset_ends_the_session(served: Served) -> None:
    login, _, _, stolen = victim(served, "Gopal", "Raj")
    reset = mims("user", "reset-password", login, env=served.env)
    assert reset.returncode == 0, reset.stderr
    assert not signed_in(served, stolen)


def test_a_new_sign_in_gets_a_new_session_id(served: Served) -> None:
    login, password, browser, before = victim(served, "Hui", "Min")
    browser.sign_in(login, password)
    after = browser.cookie()
    assert after != before
    assert signed_in(served, after)
    assert not signed_in(served, before)


def test_an_idle_session_ends(served: Served) -> None:
    login, _, _, stolen = victim(served, "Irfan", "Ali")
    # Eleven minutes pass without a request (session_idle_minutes = 10).
    changed = age(
        served,
        "UPDATE sessions SET seen = seen - 660, started = started - 660 WHERE person_id = ?",
        person_id(served, login),
    )
    assert changed >= 1
    assert not signed_in(served, stolen)


def test_a_session_in_use_still_ends_at_its_lifetime(served: Served) -> None:
    login, _, _, stolen = victim(served, "Jia", "Hui")
    # Sixty-one minutes since sign-in (session_minutes = 60), used a moment ago.
    age(
        served,
        "UPDATE sessions SET started = started - 3660 WHERE person_id = ?",
        person_id(served, login),
    )
    assert not signed_in(served, stolen)


def test_the_sessions_file_is_private(served: Served) -> None:
    victim(served, "Kumar", "Das")
    assert stat.S_IMODE(sessions_file(served).stat().st_mode) == 0o600
