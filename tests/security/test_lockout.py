"""Attack: lock a child out with ten anonymous requests (five wrong passwords, five wrong sets).

Both locks now lift themselves (the policy's ``lockout_seconds``, default 15 minutes, and
``[sspr] lockout_minutes``, default 15), and `mims user unlock` lifts both at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import ldap3
import pytest

from bridge.directory.mapping import to_generalized_time
from tests.support.cli import Served, mims, serving
from tests.support.directory import SUFFIX
from tests.support.portal import ANSWERS
from tests.support.served_portal import (
    WRONG,
    attribute,
    call,
    directory_of,
    replace_attribute,
    set_up,
    student,
    ticket,
)

LIMITS = """
[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
"""
MIMS_POLICY = f"cn=mims,ou=policies,{SUFFIX}"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(LIMITS) as running:
        yield running


def lock_password(served: Served, login: str) -> None:
    """Sign in with five wrong passwords."""
    for _ in range(5):
        assert call(served, "login", {"loginId": login, "password": "Wrong-guess-123"})[0] == 401


def lock_answers(served: Served, login: str) -> None:
    """Send five wrong answer sets."""
    for _ in range(5):
        assert (
            call(served, "reset/verify", {"ticket": ticket(served, login), "answers": WRONG})[0]
            == 400
        )


def locked_out(served: Served, login: str, password: str) -> bool:
    """Tell whether the right password is refused (as a wrong one is) and slapd has a lock."""
    refused = call(served, "login", {"loginId": login, "password": password})[0] == 401
    return refused and attribute(served, login, "pwdAccountLockedTime") is not None


def answers_accepted(served: Served, login: str) -> bool:
    """Tell whether the right answers earn a reset token."""
    status, body = call(
        served, "reset/verify", {"ticket": ticket(served, login), "answers": ANSWERS}
    )
    return status == 200 and "resetToken" in body


def policy_value(served: Served, name: str) -> str:
    with directory_of(served) as connection:
        connection.search(MIMS_POLICY, "(objectClass=pwdPolicy)", ldap3.BASE, attributes=[name])
        return str(connection.entries[0][name].value)


def test_a_password_lock_lasts_fifteen_minutes_by_default(served: Served) -> None:
    assert policy_value(served, "pwdLockoutDuration") == "900"
    login = student(served, "Wei", "Ling")
    password = set_up(served, login)
    lock_password(served, login)
    assert locked_out(served, login, password)


def test_a_data_folder_with_locks_for_good_gets_the_new_length(served: Served) -> None:
    with directory_of(served) as connection:
        connection.modify(MIMS_POLICY, {"pwdLockoutDuration": [(ldap3.MODIFY_REPLACE, ["0"])]})
    assert policy_value(served, "pwdLockoutDuration") == "0"
    assert mims("policy", "sync", env=served.env).returncode == 0
    assert policy_value(served, "pwdLockoutDuration") == "900"
    # Every command writes the policies as it starts, not only `mims policy sync`.
    with directory_of(served) as connection:
        connection.modify(MIMS_POLICY, {"pwdLockoutDuration": [(ldap3.MODIFY_REPLACE, ["0"])]})
    assert mims("user", "list", env=served.env).returncode == 0
    assert policy_value(served, "pwdLockoutDuration") == "900"


def test_a_closed_reset_opens_again_after_its_time(served: Served) -> None:
    login = student(served, "Arun", "Kumar")
    set_up(served, login)
    lock_answers(served, login)
    assert not answers_accepted(served, login)
    # Sixteen minutes pass: the lock was stamped that long ago.
    earlier = to_generalized_time(datetime.now(UTC) - timedelta(minutes=16))
    replace_attribute(served, login, "mimsSsprLockedTime", [earlier])
    assert answers_accepted(served, login)
    assert attribute(served, login, "mimsSsprFailures") is None


def test_mims_user_unlock_lifts_both_locks_at_once(served: Served) -> None:
    login = student(served, "Siti", "Rahman")
    password = set_up(served, login)
    lock_password(served, login)
    lock_answers(served, login)
    assert locked_out(served, login, password)
    assert not answers_accepted(served, login)

    unlocked = mims("user", "unlock", login, env=served.env)

    assert unlocked.returncode == 0, unlocked.stderr
    assert call(served, "login", {"loginId": login, "password": password})[0] == 200
    assert answers_accepted(served, login)


def test_a_policy_lock_of_seconds_lifts_itself() -> None:
    config = LIMITS + "\n[policies.mims]\nmin_length = 12\nlockout_seconds = 2\n"
    with serving(config) as served:
        login = student(served, "Mei", "Chen")
        password = set_up(served, login)
        lock_password(served, login)
        assert locked_out(served, login, password)
        time.sleep(3)  # the lock's length, and a second more
        assert call(served, "login", {"loginId": login, "password": password})[0] == 200


def test_lockout_zero_keeps_the_lock_until_the_school_lifts_it() -> None:
    config = (
        LIMITS + "\nlockout_minutes = 0\n[policies.mims]\nmin_length = 12\nlockout_seconds = 0\n"
    )
    with serving(config) as served:
        assert policy_value(served, "pwdLockoutDuration") == "0"
        login = student(served, "Hui", "Min")
        set_up(served, login)
        lock_answers(served, login)
        earlier = to_generalized_time(datetime.now(UTC) - timedelta(days=30))
        replace_attribute(served, login, "mimsSsprLockedTime", [earlier])
        assert not answers_accepted(served, login)
        assert mims("user", "unlock", login, env=served.env).returncode == 0
        assert answers_accepted(served, login)
