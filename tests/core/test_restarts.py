"""The restart rules: backoff per failure, a sliding window, and giving up on a crash loop."""

from __future__ import annotations

import pytest

from bridge.core.pacing import Backoff
from bridge.core.restarts import GiveUp, Restart, RestartPolicy


def test_each_failure_in_the_window_waits_twice_as_long_up_to_the_cap() -> None:
    policy = RestartPolicy(limit=5, window=60, backoff=Backoff(base=0.5, cap=4))
    delays = [policy.failed(now=float(t)) for t in range(5)]
    assert delays == [
        Restart(delay=0.5, attempt=1, limit=5, window=60),
        Restart(delay=1.0, attempt=2, limit=5, window=60),
        Restart(delay=2.0, attempt=3, limit=5, window=60),
        Restart(delay=4.0, attempt=4, limit=5, window=60),
        Restart(delay=4.0, attempt=5, limit=5, window=60),
    ]
    assert not policy.given_up


def test_one_failure_more_than_the_limit_within_the_window_gives_up_for_good() -> None:
    policy = RestartPolicy(limit=3, window=60)
    for now in (0.0, 1.0, 2.0):
        assert isinstance(policy.failed(now), Restart)
    assert policy.failed(3.0) == GiveUp(failures=4, window=60)
    assert policy.given_up
    assert policy.failed(1000.0) == GiveUp(failures=4, window=60)  # a person must look


def test_failures_older_than_the_window_are_forgotten() -> None:
    policy = RestartPolicy(limit=2, window=10, backoff=Backoff(base=1, cap=8))
    assert policy.failed(0.0) == Restart(delay=1, attempt=1, limit=2, window=10)
    assert policy.failed(5.0) == Restart(delay=2, attempt=2, limit=2, window=10)
    # 0.0 has left the window: two failures in it, not three.
    assert policy.failed(10.0) == Restart(delay=2, attempt=2, limit=2, window=10)
    assert policy.failed(100.0) == Restart(delay=1, attempt=1, limit=2, window=10)


def test_a_process_that_dies_once_a_day_is_restarted_every_time() -> None:
    policy = RestartPolicy()
    for day in range(30):
        assert policy.failed(day * 86400.0) == Restart(delay=0.5, attempt=1, limit=5, window=60)


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (5, 0), (5, -1)])
def test_nonsense_settings_are_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(limit, window)
