"""SIGSTOP of the write target for 30 s while SCIM clients keep creating users (issue 21).

A `mims serve` lists both providers with ``[failover] automatic_after`` of 3 s and
``operation_timeout`` of 2 s. Its write target (the first provider) is frozen with SIGSTOP
for 30 s: its port still accepts connections, its answers never come. Writes pause, then
go on on the second provider while the first is still frozen; after SIGCONT the first
catches up, the write target stays the second (`mims failover status`) and both trees are
equal entry by entry. The pause is printed, not asserted beyond "shorter than the freeze".
"""

from __future__ import annotations

import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.cli import mims
from tests.support.ha_bridge import (
    AUTOMATIC,
    ODD_REASON,
    TIMEOUTS,
    Acknowledged,
    ScimClient,
    bridge_env,
    compare_trees,
    people,
    served_bridge,
)
from tests.support.replicas import Pair, wait_in_step
from tests.support.trees import report

pytestmark = pytest.mark.ha

FROZEN_FOR = 30.0  # seconds
GRACE = 1.0  # seconds after the freeze during which an answer the first sent may still arrive
CLIENTS = 2
LETTERS = "abcdefghij"


def spelled(number: int) -> str:
    """Return a number in letters (names with digits would all share one login ID stem)."""
    return "".join(LETTERS[int(digit)] for digit in str(number)).capitalize()


def test_writes_go_on_on_the_other_provider_while_the_target_is_frozen(pair: Pair) -> None:
    first, second = pair.first, pair.second
    acknowledged: list[Acknowledged] = []
    stop = threading.Event()
    lock = threading.Lock()
    odd: list[str] = []

    with served_bridge(pair) as served:

        def load(client: int) -> None:
            scim = ScimClient(served, patience=FROZEN_FOR * 2)
            n = 0
            while not stop.is_set():
                user = scim.post_user(f"frozen-{client}-{n}", f"Go {spelled(client)} {spelled(n)}")
                n += 1
                if user is not None:
                    with lock:
                        acknowledged.append(user)
                time.sleep(0.05)
            with lock:
                odd.extend(scim.odd)

        with ThreadPoolExecutor(CLIENTS) as clients:
            running = [clients.submit(load, client) for client in range(CLIENTS)]
            while len(acknowledged) < 10:
                time.sleep(0.1)
            frozen_at = time.monotonic()
            first.kill(signal.SIGSTOP)
            try:
                time.sleep(FROZEN_FOR)
            finally:
                first.resume()
            thawed_at = time.monotonic()
            time.sleep(3)
            stop.set()
            for future in running:
                future.result()

    writers = {person["id"]: person["writer"] for person in people(second)}
    before = [user for user in acknowledged if user.at < frozen_at]
    moved = [u for u in acknowledged if u.at >= frozen_at and writers.get(u.id) == "second"]
    resumed = min((user.at for user in moved), default=thawed_at)
    assert resumed < thawed_at, "no write went on while the target was frozen"
    pause = resumed - frozen_at
    print(
        f"writes paused {pause:.1f} s (automatic_after {AUTOMATIC['automatic_after']} s, "
        f"operation_timeout {TIMEOUTS['operation_timeout']} s); {len(before)} before, "
        f"{len(acknowledged) - len(before)} from the freeze on"
    )
    # An answer the first sent just before it stopped may arrive just after: allow a grace.
    late = [user for user in acknowledged if user.at >= frozen_at + GRACE]
    assert {writers.get(user.id) for user in late} == {"second"}

    wait_in_step(first, second, timeout=120)
    shown = mims("failover", "status", env=bridge_env(pair, "status")).stdout
    assert re.search(rf"^{re.escape(second.url)}: WRITE TARGET", shown, re.M), shown
    known = compare_trees(first, second)
    assert known == [], report(known)
    assert {writers.get(user.id) for user in before} == {"first"}
    assert None not in {writers.get(user.id) for user in acknowledged}  # every 201 is there
    if odd:
        pytest.xfail(f"{ODD_REASON}: {odd}")
