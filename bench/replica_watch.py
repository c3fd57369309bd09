"""Note when each entry appears on a replica: the bridge's change feed (syncrepl) on it.

``bridge.directory.feed.Feed`` runs a refreshAndPersist search (RFC 4533) on the replica, so
slapd pushes each entry the moment it has applied it: no polling, and no poll interval in the
measured lag. The feed runs in a thread of the benchmark's process, which does nothing else
while the writers (other processes) write.

For each entry it keeps when it arrived (wall clock and monotonic) and its ``entryCSN``: the
time the provider stamped the change with, to the microsecond, on the same machine's clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.raw_ldap import Account
from bench.workspace import BenchError
from bridge.core.sync import Change
from bridge.directory.feed import Feed


@dataclass(frozen=True)
class Arrival:
    """When an entry reached the replica, and when its provider stamped it."""

    wall: float  # time.time()
    monotonic: float  # time.monotonic()
    csn: float  # the entryCSN's time, as time.time() counts


def csn_time(csn: str) -> float:
    """Return the time of a CSN (``20261205204254.271732Z#000000#001#000000``) in seconds."""
    stamp = datetime.strptime(csn.split("#", 1)[0], "%Y%m%d%H%M%S.%fZ")
    return stamp.replace(tzinfo=UTC).timestamp()


class ReplicaWatch:
    """Follow a replica from its current state; remember when each entry's DN first arrived."""

    def __init__(self, account: Account) -> None:
        self.client = account.bridge_client()
        self.stop = threading.Event()
        self.feed = Feed(self.client, ["uid", "entryCSN"], self.stop)
        self.lock = threading.Lock()
        self.arrived: dict[str, Arrival] = {}
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._follow, name="replica-watch", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        """Start following; return once the refresh of what is there already is done."""
        self.thread.start()
        if not self.ready.wait(timeout):
            raise BenchError(f"ha: the replica's change feed did not start: {self.failure}")

    def close(self) -> None:
        """Stop following and close the connections."""
        self.stop.set()
        self.thread.join(10)
        self.client.close()

    def arrivals(self, entries: Iterable[str], timeout: float) -> list[Arrival]:
        """Wait until every entry has arrived; return when each did, in the given order."""
        wanted = [entry.lower() for entry in entries]
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                times = [self.arrived.get(entry) for entry in wanted]
            missing = sum(1 for t in times if t is None)
            if not missing:
                return [t for t in times if t is not None]
            if self.failure is not None or time.monotonic() > deadline:
                raise BenchError(
                    f"ha: {missing} of {len(wanted)} entries never reached the replica "
                    f"({self.failure or 'timed out'})"
                )
            time.sleep(0.05)

    # -- the feed's handler ------------------------------------------------------------------

    def change(self, change: Change) -> None:
        wall, now = time.time(), time.monotonic()
        if not self.ready.is_set():
            return  # the refresh: entries there before the watch began
        entry = change.attributes.get("dn", ("",))[0].lower()
        csn = change.attributes.get("entrycsn", ("",))[0]
        with self.lock:
            if entry not in self.arrived:
                self.arrived[entry] = Arrival(wall, now, csn_time(csn))

    def cookie(self, cookie: str) -> None:
        pass

    def refreshed(self, present: set[str] | None) -> None:
        self.ready.set()

    def _follow(self) -> None:
        try:
            self.feed.run(None, self)
        except BaseException as error:  # noted; arrivals() reports it
            self.failure = error
