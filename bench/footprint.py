"""What the bridge and slapd hold: their memory during each phase, and the database on disk.

Issue 22: the bridge's RSS stays under 150 MB whatever the size. The target row holds the
largest of its processes (gunicorn's master and each worker): how many workers run is a setting
(``[http] workers``), and summed RSS counts the pages the forked workers share with their
master once per process. The sum and PSS (shared pages divided among the sharers: what the
processes really cost together) are recorded beside it. slapd's RSS and its database's size
are reported for each size. Both servers are the populated directory's (bench.population):
phases that start their own bridges (observability, ha) are not covered.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from ldap3 import SUBTREE
from ldap3.core.exceptions import LDAPException

from bench.memory import PeakSampler, ProcessTree, rss_mb
from bench.population import Population
from bench.report import Measurement, Samples

TARGET_BRIDGE_MB = 150.0
INTERVAL_S = 0.25  # a phase's peak lasts seconds; a quieter sampler leaves the timings alone
REFRESH_S = 30.0  # gunicorn's workers rarely change, and a /proc scan holds the GIL ~5 ms
MONITOR_DATABASES = "cn=Databases,cn=Monitor"
MDB_FIGURES = [
    "namingContexts",
    "olmMDBPagesMax",
    "olmMDBPagesUsed",
    "olmMDBPagesFree",
    "olmMDBEntries",
]


class PhaseMemory:
    """Sample the populated bridge's and slapd's RSS while one phase runs, and make its row."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self._tree: ProcessTree | None = None
        self.bridge = PeakSampler(self._bridge_mb, INTERVAL_S)
        self.bridge_process = PeakSampler(self._bridge_process_mb, INTERVAL_S)
        self.slapd = PeakSampler(self._slapd_mb, INTERVAL_S)

    def __enter__(self) -> PhaseMemory:
        self.bridge.__enter__()
        self.bridge_process.__enter__()
        self.slapd.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.slapd.__exit__(kind, error, traceback)
        self.bridge_process.__exit__(kind, error, traceback)
        self.bridge.__exit__(kind, error, traceback)

    def rows(self, phase: str) -> list[Measurement]:
        """Return the phase's row (the bridge's peak, slapd's beside it); none without a bridge."""
        if self.bridge.peak == 0:
            return []
        row = Measurement(
            "memory",
            f"bridge RSS during {phase}, largest process: peak",
            Samples((self.bridge_process.peak,)),
            Samples((self.slapd.peak,)),
            "slapd RSS",
            unit="MB",
            max_value=TARGET_BRIDGE_MB,
            extra={
                "during": phase,
                "bridge_rss": self.bridge.as_json(),  # master + workers, summed
                "bridge_largest_process_rss": self.bridge_process.as_json(),
                "slapd_rss": self.slapd.as_json(),
                # RSS counts the pages gunicorn's forked workers share with their master once
                # per process; PSS divides them among the sharers: what the three really cost.
                "bridge_pss_mb_after": round(self._bridge_pss_mb(), 1),
            },
        )
        return [row]

    def _bridge_mb(self) -> float:
        served = self.population.served()
        pid = served.bridge.pid() if served else None
        if pid is None:
            return 0.0
        if self._tree is None or self._tree.pid != pid:
            self._tree = ProcessTree(pid, REFRESH_S)
        return self._tree.rss_mb()

    def _bridge_process_mb(self) -> float:
        return self._tree.largest_rss_mb() if self._tree else 0.0

    def _bridge_pss_mb(self) -> float:
        total = 0.0
        for pid in self._tree.pids() if self._tree else []:
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:  # gone, or not ours to read
                continue
            total += (
                sum(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
                / 1024
            )
        return total

    def _slapd_mb(self) -> float:
        served = self.population.served()
        pid = served.slapd.pid() if served else None
        return rss_mb(pid) if pid is not None else 0.0


def database(population: Population) -> dict[str, Any] | None:
    """Return slapd's RSS and its database's size on disk, or None if none is running."""
    served = population.served()
    if served is None:
        return None
    pid = served.slapd.pid()
    try:
        files = [(p.name, p.stat()) for p in served.slapd.layout.db_dir.iterdir() if p.is_file()]
    except OSError:  # a phase failed and took the directory with it: nothing to report
        return None
    if pid is None:
        return None
    return {
        "people": len(served.people),
        "slapd_rss_mb": round(rss_mb(pid), 1),
        # du: the blocks the files take (LMDB's map is sparse); apparent: their lengths.
        "db_du_mb": round(sum(st.st_blocks * 512 for _, st in files) / 2**20, 1),
        "db_apparent_mb": round(sum(st.st_size for _, st in files) / 2**20, 1),
        "db_files": sorted(name for name, _ in files),
        "mdb": _mdb_monitor(population),
    }


def shown(facts: dict[str, Any]) -> str:
    """Return one line about slapd's memory and disk, for the table and the progress."""
    line = (
        f"slapd at {facts['people']:,} people: RSS {facts['slapd_rss_mb']:,.0f} MB, database "
        f"{facts['db_du_mb']:,.0f} MB on disk (du)"
    )
    mdb = facts.get("mdb")
    if mdb:
        line += f", {mdb['used_mb']:,.0f} MB in use by mdb ({mdb['entries']:,} entries)"
    return line


def _mdb_monitor(population: Population) -> dict[str, Any] | None:
    """Return back-mdb's own figures from cn=Monitor (pages used, free, the map's maximum)."""
    served = population.served()
    if served is None:
        return None
    try:
        raw = served.local_ldap()
    except LDAPException:
        return None
    try:
        raw.connection.search(
            MONITOR_DATABASES, "(olmMDBPagesUsed=*)", SUBTREE, attributes=MDB_FIGURES
        )
        entries = [e for e in raw.connection.response if e.get("type") == "searchResEntry"]
    except LDAPException:
        return None
    finally:
        raw.close()
    suffix = served.account.suffix.lower()
    for entry in entries:
        found = {k: [bytes(v).decode() for v in vs] for k, vs in entry["raw_attributes"].items()}
        if suffix in (n.lower() for n in found.get("namingContexts", [])):
            page = os.sysconf("SC_PAGE_SIZE")  # LMDB's page is the OS page
            used, free, most = (
                int(found[name][0])
                for name in ("olmMDBPagesUsed", "olmMDBPagesFree", "olmMDBPagesMax")
            )
            return {
                "entries": int(found["olmMDBEntries"][0]),
                "pages_used": used,
                "pages_free": free,
                "pages_max": most,
                "page_bytes": page,
                "used_mb": round(used * page / 2**20, 1),
                "map_mb": round(most * page / 2**20, 1),
                "source": f"{entry['dn']} (olmMDBPages*)",
            }
    return None
