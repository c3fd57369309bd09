"""The delivery rules, with in-memory targets and state: no server, no LDAP, no HTTP."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from bridge.core.delivery import Delivery, Stopped
from bridge.core.pacing import Backoff, TokenBucket
from bridge.core.sync import (
    Change,
    DeadLetter,
    Refused,
    TargetReset,
    Unavailable,
    verdict,
)


@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        (200, "ok"),
        (201, "ok"),
        (204, "ok"),
        (400, "refused"),
        (401, "refused"),
        (403, "refused"),
        (404, "missing"),
        (408, "retry"),
        (409, "conflict"),
        (413, "refused"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
    ],
)
def test_what_a_status_means(status: int, meaning: str) -> None:
    assert verdict(status) == meaning


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=10.0)
    assert [backoff.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5, 9)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay(3, rng=lambda: 0.0) == 2.0  # jitter keeps at least half


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate=10, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        bucket.take()
    assert slept == pytest.approx([0.1, 0.1])
    now[0] += 1.0  # a quiet second refills up to the burst, not beyond
    bucket.take()
    bucket.take()
    assert len(slept) == 2


@dataclass
class MemoryState:
    cookies: list[str | None] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    letters: dict[str, DeadLetter] = field(default_factory=dict)

    def cookie(self) -> str | None:
        return self.cookies[-1] if self.cookies else None

    def save_cookie(self, cookie: str | None, pushed: int) -> None:
        self.cookies.append(cookie)

    def record_failure(self, reason: str) -> None:
        self.failures.append(reason)

    def dead_letter(self, change: Change, reason: str) -> None:
        self.letters[change.uuid] = DeadLetter(change.uuid, change.label, reason, None, 1)

    def clear_dead_letter(self, uuid: str) -> None:
        self.letters.pop(uuid, None)

    def dead_letters(self) -> list[DeadLetter]:
        return list(self.letters.values())


class ScriptedTarget:
    """Answers each apply with the next scripted outcome (None: success)."""

    name = "scripted"

    def __init__(self, *outcomes: Exception | None, lost: bool = False) -> None:
        self.outcomes = list(outcomes)
        self.applied: list[Change] = []
        self.flushes = 0
        self.lost = lost

    def apply(self, change: Change) -> None:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.applied.append(change)

    def flush(self) -> None:
        self.flushes += 1

    def lost_data(self) -> bool:
        return self.lost

    def reconcile(self, present: set[str]) -> None:
        pass

    def forget(self) -> None:
        pass

    def close(self) -> None:
        pass


def delivery(target: ScriptedTarget, state: MemoryState, **kwargs: object) -> Delivery:
    return Delivery(target, state, backoff=Backoff(base=0.001, cap=0.001), **kwargs)  # type: ignore[arg-type]


MARY = Change(uuid="u-1", kind="person", attributes={"mail": ("mary_tan@students.edu.sg",)})


def test_a_refused_change_becomes_a_dead_letter_and_the_feed_moves_on() -> None:
    state = MemoryState()
    target = ScriptedTarget(Refused("400 invalidValue userName"))
    run = delivery(target, state)
    run.deliver(MARY)
    assert state.letters["u-1"].reason == "400 invalidValue userName"
    assert state.letters["u-1"].kind == "person:present"
    assert run.refused == 1
    run.deliver(MARY)  # the entry's newer state went through: its letter goes
    assert state.letters == {}


def test_an_unavailable_target_is_waited_for_and_the_change_is_not_skipped() -> None:
    state = MemoryState()
    target = ScriptedTarget(Unavailable("503"), Unavailable("connection refused"))
    run = delivery(target, state)
    run.deliver(MARY)
    assert target.applied == [MARY]
    assert state.failures == ["503"]  # counted once per outage, not per retry
    assert state.letters == {}


def test_a_target_that_lost_its_data_after_an_outage_asks_for_a_full_refresh() -> None:
    target = ScriptedTarget(Unavailable("connection refused"), lost=True)
    with pytest.raises(TargetReset):
        delivery(target, MemoryState()).deliver(MARY)


def test_stopping_while_waiting_leaves_the_cookie_where_it_was() -> None:
    state = MemoryState()
    stop = threading.Event()
    stop.set()
    run = Delivery(ScriptedTarget(Unavailable("down")), state, stop=stop)  # type: ignore[arg-type]
    run.confirmed("cookie-1", force=True)
    with pytest.raises(Stopped):
        run.deliver(MARY)
    assert state.cookies == ["cookie-1"]


def test_the_cookie_is_saved_after_a_flush_and_at_most_every_interval() -> None:
    now = [0.0]
    state = MemoryState()
    target = ScriptedTarget()
    run = delivery(target, state, save_every=1.0, clock=lambda: now[0])
    run.deliver(MARY)
    run.confirmed("c1")
    assert state.cookies == []  # not yet: less than a second since the last save
    now[0] = 1.5
    run.deliver(MARY)
    run.confirmed("c2")
    assert state.cookies == ["c2"]
    assert target.flushes == 1  # the target confirmed everything before the cookie moved
