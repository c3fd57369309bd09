"""Attack: one address spreads its tries over many workers and many accounts.

The portal's limits per client address are counted in the data folder, shared by every
gunicorn worker: a burst from one address gets exactly the rate limit through, and once an
address has used up its wrong tries (``[sspr] address_failures``) it is refused before its
tries reach any account's own counter, so it cannot go on locking accounts.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.cli import serving
from tests.support.served_portal import attribute, call, student

WORKERS = """
[http]
workers = 4
threads = 4
"""


def test_a_burst_over_every_worker_gets_the_rate_limit_through_and_no_more() -> None:
    config = WORKERS + '[sspr]\nrate_limit = "10 per minute"\naddress_failures = "1000 per hour"\n'
    with serving(config) as served:
        with ThreadPoolExecutor(max_workers=15) as pool:
            statuses = list(
                pool.map(
                    lambda n: call(served, "reset/start", {"loginId": f"nobody{n}"})[0], range(45)
                )
            )
    assert sorted(statuses) == [200] * 10 + [429] * 35


def test_an_address_out_of_wrong_tries_locks_no_more_accounts() -> None:
    config = WORKERS + '[sspr]\nrate_limit = "1000 per minute"\naddress_failures = "10 per hour"\n'
    with serving(config) as served:
        victims = [student(served, "Pupil", name) for name in ("Ang", "Bala", "Chua", "Das")]
        answers = [
            call(served, "login", {"loginId": login, "password": "Wrong-guess-123"})
            for login in victims
            for _ in range(5)
        ]
        statuses = [status for status, _ in answers]
        assert statuses == [401] * 10 + [429] * 10
        assert answers[-1][1]["error"] == "too_many_tries"
        locked = [attribute(served, login, "pwdAccountLockedTime") is not None for login in victims]
        failures = [attribute(served, login, "pwdFailureTime") for login in victims[2:]]
    assert locked == [True, True, False, False]
    assert failures == [None, None]
