"""Add new people at a fixed rate from worker processes, noting when each add was done.

Two kinds of writer, the two sides of the `ha` phase:

- ``bridge``: the bridge's writer, ``PeopleStore.create_entry`` (what SCIM POST and the CLI
  run, minus the groups and the read-back): the checks and mapping, a uidNumber taken from
  the counter entry (one modify), and the add, over ``LdapClient`` (ldaps, service account);
- ``raw``: plain ldap3 adds of the same kind of entries (made by the same ``draft``, their
  uidNumbers taken in one block beforehand), same account, same TLS.

The adds run in worker processes, each with its own connection: 500 bridge writes a second
need more Python than one interpreter has, and the process that watches the replica must not
wait for the GIL behind them. The writers share one schedule (write n is due at start + n /
rate; worker k takes every k-th), start together, and write late rather than skip when behind
(the achieved rate is reported). Times are CLOCK_MONOTONIC, the same in every process.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from dataclasses import dataclass
from typing import Any, Literal

from bench.raw_ldap import Account, RawLdap
from bench.workspace import BenchError
from bridge.config import load_config
from bridge.core.naming import LoginId
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.directory.servers import ClientSettings
from bridge.services import Backend

Kind = Literal["bridge", "raw"]
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
    processes: int = 2


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


class PacedWriter:
    """The worker processes of one plan: ``prepare()`` starts them, ``run()`` lets them write."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._ready = context.Queue()
        self._results = context.Queue()
        self._start = context.Value("d", 0.0)
        self._go = context.Event()
        self._workers = [
            context.Process(
                target=_work,
                args=(plan, k, self._ready, self._results, self._start, self._go),
                daemon=True,
            )
            for k in range(plan.processes)
        ]

    def prepare(self) -> None:
        """Start the workers; return once each is connected and has its entries ready."""
        try:
            for worker in self._workers:
                worker.start()
            for _ in self._workers:
                _expect(self._ready.get(timeout=READY_S))
        except BaseException:
            self.close()
            raise

    def run(self) -> Writes:
        """Start the schedule now; return every add once all are done, in schedule order."""
        try:
            self._start.value = time.monotonic() + 0.01
            self._go.set()
            adds: list[Written] = []
            budget = READY_S + 5 * self.plan.count / self.plan.rate
            for _ in self._workers:
                adds += _expect(self._results.get(timeout=budget))
        except queue.Empty:
            raise BenchError(f"ha: a {self.plan.kind} writer did not finish in time") from None
        finally:
            self.close()
        return Writes(self.plan, self._start.value, sorted(adds, key=lambda w: w.due))

    def close(self) -> None:
        """Wait for the workers to end (kill one that does not; all, if never let go)."""
        for worker in self._workers:
            if worker.pid is None:
                continue
            worker.join(10 if self._go.is_set() else 0)
            if worker.is_alive():
                worker.kill()
                worker.join()


def write(plan: Plan) -> Writes:
    """Prepare the plan's workers, run them to their end and return every add."""
    writer = PacedWriter(plan)
    writer.prepare()
    return writer.run()


def _expect(message: Any) -> Any:
    """Return a worker's message, or raise the error it sent instead."""
    if isinstance(message, str) and message.startswith("error: "):
        raise BenchError(f"ha writer {message}")
    return message


def _work(plan: Plan, k: int, ready: Any, results: Any, start: Any, go: Any) -> None:
    """Write every ``plan.processes``-th person from ``k``; send the adds back."""
    try:
        slots = range(k, plan.count, plan.processes)
        add = _bridge_writer(plan, slots) if plan.kind == "bridge" else _raw_writer(plan, slots)
        ready.put(k)
        go.wait()
        began = start.value
        adds = []
        for n in slots:
            due = began + n / plan.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            entry = add(n)
            adds.append(Written(entry, due, time.monotonic()))
        results.put(adds)
    except Exception as error:  # the parent reports it; a traceback in a worker says nothing
        message = f"error: {plan.kind} {k}: {type(error).__name__}: {error}"
        ready.put(message)
        results.put(message)


def _client(account: Account) -> LdapClient:
    return LdapClient(
        ClientSettings(
            urls=(account.url,),
            bind_dn=account.bind_dn,
            password=account.password,
            suffix=account.suffix,
            ca_file=account.ca_file,
        )
    )


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


def _bridge_writer(plan: Plan, slots: range) -> Any:
    client = _client(plan.account)
    people, domain = _store(client)
    client.connection()  # connect and bind before the clock starts
    return lambda n: people.create_entry(new_person(plan.prefix, n, domain))


def _raw_writer(plan: Plan, slots: range) -> Any:
    client = _client(plan.account)
    people, domain = _store(client)
    numbers = iter(people.ids.allocate("uid", len(slots)))
    entries = {}
    for n in slots:
        draft = people.numbered(people.draft(new_person(plan.prefix, n, domain)), next(numbers))
        entries[n] = people.first_choice(draft)
    client.close()
    raw = RawLdap(plan.account)

    def add(n: int) -> str:
        entry, attributes = entries[n]
        raw.connection.add(entry, attributes=attributes)
        return entry

    return add
