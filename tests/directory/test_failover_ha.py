"""Automatic failover of the write target: kill -9 and SIGSTOP of it (issue 21; `make test-ha`).

Bridges with ``[failover] automatic_after`` of 3 s renew the target's heartbeat every 0.5 s;
when the target dies or freezes, writes pause, then a bridge promotes the other provider
and every write lands there (read from each entry's entryCSN serverID). Long: marked `ha`.
"""

from __future__ import annotations

import itertools
import re
import signal
import time
from collections.abc import Iterator

import pytest

from bridge.directory.client import LdapClient
from bridge.errors import DirectoryUnavailable
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection
from tests.support.write_pair import Pair, add_entry, replicated_pair, written_by

pytestmark = pytest.mark.ha

AUTOMATIC = {"automatic_after": 3.0, "heartbeat_seconds": 0.5, "quarantine_seconds": 60.0}
PAUSE_LIMIT = 30.0  # seconds: generous; the rule needs automatic_after plus a few checks
names = (f"entry-{n}" for n in itertools.count())


@pytest.fixture
def pair() -> Iterator[Pair]:
    with replicated_pair() as made:
        yield made


def beating(pair: Pair, *bridges: LdapClient) -> None:
    """Write through each bridge for a second (heartbeats renewed), until both providers agree."""
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        for bridge in bridges:
            assert written_by(pair.first.slapd, add_entry(bridge, next(names))) == "first"
        time.sleep(0.1)
    pair.wait_in_step()


def first_write_that_lands(bridge: LdapClient) -> str:
    """Write with fresh names until one is taken (the pause); return its DN."""
    end = time.monotonic() + PAUSE_LIMIT
    while time.monotonic() < end:
        try:
            return add_entry(bridge, next(names))
        except DirectoryUnavailable:
            time.sleep(0.2)
    raise AssertionError(f"no write was taken within {PAUSE_LIMIT} s")


def status(pair: Pair) -> str:
    done = mims("failover", "status", env=pair.env())
    return done.stdout


def test_writes_move_to_the_other_provider_after_a_kill_and_stay_there(pair: Pair) -> None:
    one, two = pair.bridge(**AUTOMATIC), pair.bridge(**AUTOMATIC)
    beating(pair, one, two)

    pair.first.signal(signal.SIGKILL)

    assert written_by(pair.second.slapd, first_write_that_lands(one)) == "second"
    assert written_by(pair.second.slapd, first_write_that_lands(two)) == "second"

    pair.first.start()  # the old target comes back and catches up; the target stays
    pair.wait_in_step()
    assert re.search(rf"^{re.escape(pair.second.url)}: WRITE TARGET", status(pair), re.M)
    # A bridge that reaches only the old target: its copy names the second, which this
    # bridge cannot confirm, and it hears the second's heartbeat: it never writes there.
    blind = pair.bridge(**AUTOMATIC | {"quarantine_seconds": 600.0})
    add_entry(blind, next(names))
    blind.servers.failed(pair.second.url)
    refused = []
    end = time.monotonic() + 2 * AUTOMATIC["automatic_after"]
    while time.monotonic() < end:
        assert written_by(pair.second.slapd, add_entry(one, next(names))) == "second"
        name = next(names)
        with pytest.raises(DirectoryUnavailable):
            add_entry(blind, name)
        refused.append(name)
        time.sleep(0.2)
    with admin_connection(pair.first.slapd) as admin:
        for name in refused:
            assert not admin.search(SUFFIX, f"(cn={name})", attributes=["cn"])


def test_a_frozen_target_times_out_and_writes_move_then_it_catches_up(pair: Pair) -> None:
    bridge = pair.bridge(**AUTOMATIC | {"operation_timeout": 1.0, "connect_timeout": 1.0})
    beating(pair, bridge)

    pair.first.signal(signal.SIGSTOP)
    try:
        moved = first_write_that_lands(bridge)
    finally:
        pair.first.signal(signal.SIGCONT)

    assert written_by(pair.second.slapd, moved) == "second"
    pair.wait_in_step()  # the frozen one caught up, and took nothing since
    assert written_by(pair.first.slapd, moved) == "second"
    shown = status(pair)
    assert re.search(rf"^{re.escape(pair.second.url)}: WRITE TARGET", shown, re.M)
    assert re.search(
        rf"^{re.escape(pair.first.url)}: provider, names {re.escape(pair.second.url)}", shown, re.M
    )
    assert written_by(pair.second.slapd, add_entry(bridge, next(names))) == "second"
