"""The lease keeper's rules, over an in-memory lease with a clock the test moves: no LDAP."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from bridge.core.sync import Lease
from bridge.core.sync_lease import LeaseHeld, LeaseKeeper, held_line
from bridge.errors import DirectoryUnavailable

START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class MemoryLease:
    """The lease part of SyncState, kept in memory; ``down`` makes it raise as a lost LDAP."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lease = Lease()
        self.down = False
        self.closed = 0

    def take_lease(self, holder: str, seconds: float) -> Lease:
        if self.down:
            raise DirectoryUnavailable("the directory is down")
        if self.lease.held_by(holder) or self.lease.expired(self.clock()):
            self.lease = Lease(holder, self.clock() + timedelta(seconds=seconds))
        return self.lease

    def renew_lease(self, holder: str, seconds: float) -> Lease:
        if self.down:
            raise DirectoryUnavailable("the directory is down")
        if self.lease.held_by(holder):
            self.lease = Lease(holder, self.clock() + timedelta(seconds=seconds))
        return self.lease

    def release_lease(self, holder: str) -> None:
        if self.lease.held_by(holder):
            self.lease = Lease()

    def close(self) -> None:
        self.closed += 1


def keeper(
    state: MemoryLease, holder: str, seconds: float = 0.03, said: list[str] | None = None
) -> LeaseKeeper:
    return LeaseKeeper(
        state,  # type: ignore[arg-type]
        "zoom",
        seconds,
        stop=threading.Event(),
        report=(said if said is not None else []).append,
        holder=holder,
        clock=state.clock,
    )


def test_the_line_names_the_target_host_and_pid_not_the_random_part() -> None:
    lease = Lease("web2:4242:9f3a", START)
    assert held_line("zoom", lease) == (
        "another sync process holds zoom (web2:4242) until 2026-12-05 12:00:00Z"
    )


def test_a_free_lease_is_taken_and_given_back_at_a_clean_exit() -> None:
    state = MemoryLease(Clock())
    mine = keeper(state, "a:1:x")
    assert mine.acquire(wait=False)
    assert state.lease.held_by("a:1:x") and mine.holding()
    mine.release()
    assert state.lease == Lease()
    assert state.closed == 1  # the renewing thread closed its connections


def test_once_refuses_a_held_lease_and_a_waiter_says_so_once_then_takes_it_on_expiry() -> None:
    clock = Clock()
    state = MemoryLease(clock)
    state.lease = Lease("b:2:y", START + timedelta(seconds=0.2))
    with pytest.raises(LeaseHeld, match=r"holds zoom \(b:2\) until"):
        keeper(state, "a:1:x").acquire(wait=False)

    said: list[str] = []
    waiter = keeper(state, "a:1:x", seconds=0.3, said=said)
    waiting = threading.Thread(target=waiter.acquire)
    waiting.start()
    deadline = time.monotonic() + 5
    while not said and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not state.lease.held_by("a:1:x")
    clock.now = START + timedelta(seconds=1)  # the holder did not renew: it died
    waiting.join(5)
    assert not waiting.is_alive()
    assert state.lease.held_by("a:1:x")
    assert said == ["another sync process holds zoom (b:2) until 2026-12-05 12:00:00Z; waiting"]
    waiter.release()


def test_a_holder_whose_lease_was_taken_over_stops() -> None:
    clock = Clock()
    state = MemoryLease(clock)
    mine = keeper(state, "a:1:x")
    assert mine.acquire()
    state.lease = Lease("b:2:y", START + timedelta(seconds=60))  # taken over meanwhile
    assert mine.stop.wait(5)
    assert mine.lost == "b:2 took over the lease"
    assert not mine.holding()
    mine.release()
    assert state.lease.held_by("b:2:y")  # a lost lease is not released


def test_a_lease_that_runs_out_while_the_directory_is_down_is_lost() -> None:
    clock = Clock()
    state = MemoryLease(clock)
    mine = keeper(state, "a:1:x")
    assert mine.acquire()
    state.down = True
    clock.now = START + timedelta(seconds=1)
    assert mine.stop.wait(5)
    assert mine.lost == "the lease ran out before it could be renewed"
    mine.release()
