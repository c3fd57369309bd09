"""Add new people at a fixed rate from worker processes, noting when each add was done.

Two kinds of writer, the two sides of the `ha` phase:

- ``bridge``: the bridge's writer, ``PeopleStore.create_entry`` (what SCIM POST and the CLI
  run, minus the groups and the read-back): the checks and mapping, a uidNumber taken from
  the counter entry (one modify), and the add, over ``LdapClient`` (ldaps, service account);
- ``raw``: plain ldap3 adds of the same kind of entries (made by the same ``draft``, their
  uidNumbers taken in one block beforehand), same account, same TLS.

The adds run in worker processes (a ``WriterPool``, started once and given one plan after
another), each with its own connection: 500 bridge writes a second need more Python than one
interpreter has, and the process that watches the replica must not wait for the GIL behind
them. The writers share one schedule (write n is due at start + n / rate; worker k takes every
k-th), start together, and write late rather than skip when behind (the achieved rate is
reported). Times are CLOCK_MONOTONIC, the same in every process.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bench.raw_ldap import Account, RawLdap
from bench.workspace import BenchError
from bridge.config import load_config
from bridge.core.naming import LoginId
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.services import Backend

Kind = Literal["bridge", "raw"]
Writer = tuple[Callable[[int], str], Callable[[], None]]  # add the n-th person; close
READY_S = 120.0  # worker start-up: a spawned interpreter imports the bridge, on a busy machine
NAMES = [("Wei Ling", "Tan"), ("Arjun", "Pillai"), ("Nur Aisyah", "Rahman"), ("Jia Hao", "Lim")]


@dataclass(frozen=True)
class Plan:
    """What to write: ``count`` new people named ``prefix_N`` at ``rate`` per second."""

    kind: Kind
    account: Account
    prefix: str
    count: int
    rate: float


@dataclass(frozen=True)
class Written:
    """One add: its entry, when it was due and when slapd answered it (time.monotonic())."""

    dn: str
    due: float
    done: float


@dataclass(frozen=True)
class Writes:
    """Every add of a plan, in the order they were due."""

    plan: Plan
    started: float
    adds: list[Written]

    @property
    def achieved_rate(self) -> float:
        """Return the adds per second from the common start to the last answer."""
        last = max(w.done for w in self.adds)
        return len(self.adds) / max(last - self.started, 1e-6)

    @property
    def max_late_s(self) -> float:
        """Return how far behind its schedule the writer fell at worst."""
        return max(w.done - w.due for w in self.adds)


class WriterPool:
    """Worker processes that write plans: ``prepare(plan)``, then ``run()``, as often as wanted.

    Started once (a spawned interpreter takes a second or more to import the bridge); each
    plan is split over all of them. ``close()`` ends them.
    """

    def __init__(self, processes: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._outbox = context.Queue()
        self._inboxes = [context.Queue() for _ in range(processes)]
        self._workers = [
            context.Process(target=_work, args=(k, processes, inbox, self._outbox), daemon=True)
            for k, inbox in enumerate(self._inboxes)
        ]
        self._plan: Plan | None = None
        for worker in self._workers:
            worker.start()

    def prepare(self, plan: Plan) -> None:
        """Have every worker connect and make its share of the plan's entries; wait for them."""
        self._plan = plan
        for inbox in self._inboxes:
            inbox.put(("prepare", plan))
        self._collect(READY_S, "start")

    def run(self) -> Writes:
        """Start the prepared plan's schedule now; return every add, in schedule order."""
        plan = self._plan
        if plan is None:
            raise BenchError("ha: a writer was run before it was given a plan")
        self._plan = None
        start = time.monotonic() + 0.02  # every worker gets the message before it is due
        for inbox in self._inboxes:
            inbox.put(("go", start))
        adds: list[Written] = []
        for share in self._collect(READY_S + 5 * plan.count / plan.rate, "finish"):
            adds += share
        return Writes(plan, start, sorted(adds, key=lambda w: w.due))

    def close(self) -> None:
        """End the workers (kill one that does not end)."""
        for inbox in self._inboxes:
            inbox.put(None)
        for worker in self._workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
                worker.join()

    def _collect(self, timeout: float, what: str) -> list[Any]:
        messages = []
        try:
            for _ in self._workers:
                message = self._outbox.get(timeout=timeout)
                if isinstance(message, str):
                    raise BenchError(f"ha: writer {message}")
                messages.append(message)
        except queue.Empty:
            raise BenchError(f"ha: a writer did not {what} in time") from None
        return messages


def add_one(account: Account, prefix: str) -> str:
    """Add one person with plain ldap3, in this process; return its DN (a warm-up write)."""
    plan = Plan("raw", account, prefix, 1, 1.0)
    [(entry, attributes)] = _raw_entries(plan, range(1)).values()
    raw = RawLdap(account)
    try:
        raw.connection.add(entry, attributes=attributes)
    finally:
        raw.close()
    return entry


def _store(client: LdapClient) -> tuple[PeopleStore, str]:
    config = load_config(env={"HOME": "/nonexistent"})
    return Backend(config, client).people, config.naming.domains["student"]


def new_person(prefix: str, n: int, domain: str) -> NewPerson:
    """Return the n-th new student of a run: a login ID given, as a SCIM client gives one."""
    given, family = NAMES[n % len(NAMES)]
    return NewPerson(
        role="student",
        login_id=LoginId(f"{prefix}_{n:06d}", domain),
        full_name=f"{family} {given}",
        given_name=given,
        family_name=family,
        display_name=f"{family} {given}",
        external_id=f"HA-{prefix.upper()}-{n:06d}",
    )


def _bridge_writer(plan: Plan, slots: range) -> Writer:
    client = plan.account.bridge_client()
    people, domain = _store(client)
    client.connection()  # connect and bind before the clock starts
    return (lambda n: people.create_entry(new_person(plan.prefix, n, domain))), client.close


def _raw_entries(plan: Plan, slots: range) -> dict[int, tuple[str, dict[str, list[str]]]]:
    """Return the entries the bridge would add for these slots, uidNumbers taken in one block."""
    client = plan.account.bridge_client()
    try:
        people, domain = _store(client)
        numbers = iter(people.ids.allocate("uid", len(slots)))
        entries = {}
        for n in slots:
            new = new_person(plan.prefix, n, domain)
            entries[n] = people.first_choice(people.numbered(people.draft(new), next(numbers)))
        return entries
    finally:
        client.close()


def _raw_writer(plan: Plan, slots: range) -> Writer:
    entries = _raw_entries(plan, slots)
    raw = RawLdap(plan.account)

    def add(n: int) -> str:
        entry, attributes = entries[n]
        raw.connection.add(entry, attributes=attributes)
        return entry

    return add, raw.close


def _work(k: int, processes: int, inbox: Any, outbox: Any) -> None:
    """Serve plans: write every ``processes``-th person from ``k``; send the adds back."""
    writer: Writer | None = None
    slots = range(0)
    while True:
        message = inbox.get()
        if message is None:
            return
        try:
            if message[0] == "prepare":
                plan: Plan = message[1]
                slots = range(k, plan.count, processes)
                make = _bridge_writer if plan.kind == "bridge" else _raw_writer
                writer = make(plan, slots)
                outbox.put(k)
            else:
                assert writer is not None
                add, close = writer
                try:
                    outbox.put(_write(add, slots, plan.rate, message[1]))
                finally:
                    writer = None
                    close()
        except Exception as error:  # the parent reports it; a traceback here says nothing
            outbox.put(f"{k}: {type(error).__name__}: {error}")


def _write(add: Callable[[int], str], slots: range, rate: float, start: float) -> list[Written]:
    adds = []
    for n in slots:
        due = start + n / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        entry = add(n)
        adds.append(Written(entry, due, time.monotonic()))
    return adds
