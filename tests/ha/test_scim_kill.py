"""kill -9 of the write target while 8 SCIM clients create users over HTTP (issue 21).

A bridge lists both providers (``[directory] urls = [A, B]``) with ``[failover]
automatic_after`` of 3 s and answers SCIM over real HTTP. Eight client threads POST distinct
users, retrying on 503 or a lost connection as a real SCIM client does (a 409 on a retry:
the first attempt landed). A third of the way in the write target (the first provider) is
killed with SIGKILL; the bridge promotes the second and the clients carry on. Every user
the bridge acknowledged with 201 is on the second afterwards, each external ID and login ID
once; the killed provider is started again and, once in step, both trees are equal.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.ha_bridge import (
    ODD_REASON,
    Acknowledged,
    ScimClient,
    compare_trees,
    people,
    repeated,
    served_bridge,
)
from tests.support.replicas import Pair, wait_in_step

pytestmark = pytest.mark.ha

CLIENTS = 8
EACH = 40  # users per client
KILL_AFTER = CLIENTS * EACH // 3  # acknowledged users
LETTERS = "abcdefghij"


def spelled(number: int) -> str:
    """Return a number in letters (names with digits would all share one login ID stem)."""
    return "".join(LETTERS[int(digit)] for digit in str(number)).capitalize()


def test_every_acknowledged_user_survives_a_kill_of_the_write_target(pair: Pair) -> None:
    first, second = pair.first, pair.second
    acknowledged: list[Acknowledged] = []
    enough = threading.Event()
    lock = threading.Lock()
    odd: list[str] = []

    with served_bridge(pair) as served:

        def load(client: int) -> None:
            scim = ScimClient(served)
            for n in range(EACH):
                user = scim.post_user(f"kill-{client}-{n}", f"Load {spelled(client)} {spelled(n)}")
                with lock:
                    if user is not None:
                        acknowledged.append(user)
                    if len(acknowledged) >= KILL_AFTER:
                        enough.set()
            with lock:
                odd.extend(scim.odd)

        with ThreadPoolExecutor(CLIENTS) as clients:
            running = [clients.submit(load, client) for client in range(CLIENTS)]
            assert enough.wait(300), "the load never got a third of the way"
            killed_at = len(acknowledged)
            first.kill()
            for future in running:
                future.result()

    held = people(second)
    assert repeated([person["external_id"] for person in held]) == []
    assert repeated([person["login"] for person in held]) == []
    after_kill = {user.id for user in acknowledged[killed_at + CLIENTS :]}
    assert after_kill, "nothing was acknowledged after the kill"
    assert {p["writer"] for p in held if p["id"] in after_kill} == {"second"}
    missing = {user.id for user in acknowledged} - {person["id"] for person in held}

    first.start()
    wait_in_step(first, second, timeout=120)
    compare_trees(first, second)
    assert missing == set()
    if odd:  # those users may or may not be there; everything else holds
        pytest.xfail(f"{ODD_REASON}: {odd}")
    assert len(held) == CLIENTS * EACH  # every user the clients sent, once
