"""Run operations from K concurrent clients and collect each one's latency.

Each client is a thread with a connection of its own (an HTTP session, an ldap3 connection),
opened before the clock starts. The clients take the next item from one shared list until it
is used up (or a time budget runs out), so a slow client does not hold the others back, and
the rate is items done over the time from the common start to the last client's end.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bench.workspace import BenchError


class Client(Protocol):
    """A connection a client thread owns."""

    def close(self) -> None: ...


C = TypeVar("C", bound=Client)
T = TypeVar("T")


@dataclass(frozen=True)
class Load:
    """What a run of operations took: each latency, and the run's wall time."""

    latencies_s: tuple[float, ...]
    wall_s: float
    clients: int

    @property
    def ops(self) -> int:
        return len(self.latencies_s)

    @property
    def rate(self) -> float:
        """Return operations per second over the whole run."""
        return self.ops / self.wall_s if self.wall_s else 0.0

    def percentile_ms(self, q: float) -> float:
        """Return the latency below which a share ``q`` of the operations fell (nearest rank)."""
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    def as_json(self) -> dict[str, Any]:
        return {
            "ops": self.ops,
            "clients": self.clients,
            "wall_s": round(self.wall_s, 3),
            "rate_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile_ms(0.5), 3),
            "p90_ms": round(self.percentile_ms(0.9), 3),
            "p99_ms": round(self.percentile_ms(0.99), 3),
            "max_ms": round(self.percentile_ms(1.0), 3),
        }


def merged(loads: Sequence[Load]) -> Load:
    """Return several runs as one: all latencies, the summed wall time."""
    return Load(
        tuple(x for load in loads for x in load.latencies_s),
        sum(load.wall_s for load in loads),
        max(load.clients for load in loads),
    )


def drive(
    items: Sequence[T],
    operation: Callable[[C, T], object],
    connect: Callable[[], C],
    clients: int = 1,
    budget_s: float | None = None,
    until: Callable[[], bool] | None = None,
) -> Load:
    """Apply ``operation`` to every item from ``clients`` threads, each with its own client.

    With ``budget_s`` the clients stop taking items once that much time has passed (at least
    one item each is done): for a server so slow that the full list would take too long.
    With ``until`` they stop once it returns True (the same way): a run as long as something
    else that runs beside it.
    Any failure stops every client and is raised as a BenchError: a benchmark whose requests
    fail measures nothing.
    """
    if not items:
        raise BenchError("nothing to measure: no items")
    clients = max(1, min(clients, len(items)))
    taken = itertools.count()  # next() on a count is atomic under the GIL
    start = [0.0]
    # The clock starts when every client is connected (the action runs before any is let go).
    ready = threading.Barrier(clients, action=lambda: start.__setitem__(0, time.perf_counter()))
    failures: list[BaseException] = []
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ended: list[float] = [0.0] * clients

    def client(slot: int) -> None:
        try:
            connection = connect()
        except BaseException as error:  # reported to the caller below
            failures.append(error)
            ready.abort()
            return
        try:
            ready.wait()
            mine = latencies[slot]
            while not failures:
                index = next(taken)
                over = budget_s is not None and time.perf_counter() - start[0] > budget_s
                over = over or (until is not None and until())
                if index >= len(items) or (over and mine):
                    break
                began = time.perf_counter()
                operation(connection, items[index])
                mine.append(time.perf_counter() - began)
            ended[slot] = time.perf_counter()
        except threading.BrokenBarrierError:
            pass
        except BaseException as error:  # reported to the caller below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        error = failures[0]
        raise BenchError(f"an operation failed: {type(error).__name__}: {error}") from error
    wall = max(ended) - start[0]
    return Load(tuple(x for mine in latencies for x in mine), wall, clients)
