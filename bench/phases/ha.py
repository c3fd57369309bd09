"""Phase "ha": two providers replicating both ways (issue 21): lag, catch-up, failover.

A pair made as a user makes it (bench.replica_pair: `mims slapd init`, then the code of
`mims slapd init-replica`): A and B, plain syncrepl both ways over ldaps. Every write goes to
A; B is watched with the bridge's change feed (bench.replica_watch).

- **Replication lag at 100 and 500 writes/s.** New people added on A at a paced rate for
  ``ha_lag_seconds`` (bench.paced_writer): the bridge's writer (``PeopleStore.create_entry``:
  a uidNumber from the counter entry, then the add), then the same rate of plain ldap3 adds
  (the raw side). Lag is from the entry's ``entryCSN`` (the time A stamped the add with) to
  its arrival in B's syncrepl stream: p50 and p99. (Lag from the writer's noting of A's
  answer is in the JSON too; on a busy machine the writer process is often scheduled after
  B's copy has already arrived.)
- **Catch-up after B was down.** B is killed (SIGKILL), A takes new people at 100/s for
  ``ha_down_seconds``, B is started again; the time from starting B until both contextCSNs
  agree gives entries per second. Once for a backlog written by the bridge, once by ldap3.
- **Failover pause** over ``ha_kills`` kills (SIGKILL) of the write target
  (bench.failover_pause): the bridge's ``LdapClient`` with both URLs and a small
  ``[failover] automatic_after`` against plain ldap3's ``ServerPool`` (no write target):
  the time from the kill to the next successful write, p50 and p99. If it fails, the JSON
  says why and the lag and catch-up figures are kept.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from ldap3 import BASE
from ldap3.core.exceptions import LDAPException, LDAPNoSuchObjectResult

from bench import failover_pause
from bench.paced_writer import Kind, Plan, WriterPool, Writes, add_one
from bench.phases.context import Context, PhaseResult
from bench.raw_ldap import RawLdap
from bench.replica_pair import ReplicaPair, wait_quiet
from bench.replica_watch import ReplicaWatch
from bench.report import Measurement, Samples
from bench.workspace import BenchError
from bridge.errors import BridgeError

RATES = (100.0, 500.0)  # writes per second, the figures
BACKLOG_RATE = 100.0  # writes per second while B is down
PROCESSES = 4  # writer processes: 500 bridge writes/s need more than one interpreter
ARRIVAL_S = 120.0
IN_STEP_S = 600.0
SIDES: tuple[tuple[Kind, str], ...] = (("bridge", "b"), ("raw", "r"))
RAW_LABEL = "ldap3 adds"
WRITERS = {
    "bridge": "PeopleStore.create_entry over LdapClient (ldaps, service account): "
    "the checks and mapping, a uidNumber from the counter entry (one modify), the add",
    "raw": "plain ldap3 add of the same kind of entry (built by the same draft, uidNumbers "
    "taken beforehand in one block), same account, same TLS",
}
POOL_LABEL = "ldap3 ServerPool"


def run(ctx: Context) -> PhaseResult:
    """Make the pair, then measure lag, catch-up and (when possible) failover."""
    ctx.progress("ha: making the pair (mims slapd init, init-replica)")
    pair = ReplicaPair(ctx.workspace)
    details: dict[str, Any] = {
        "pair": "two providers made by `mims slapd init` and init-replica's code: "
        "syncrepl both ways over ldaps, serverIDs 1 and 2; writes on A, watched on B",
        "writers": WRITERS,
        "writer_processes": PROCESSES,
        "watch": "the bridge's change feed (syncrepl refreshAndPersist) on B, "
        "in the benchmark's process",
    }
    writers = WriterPool(PROCESSES)
    try:
        rows = _lag(ctx, pair, writers, details)
        rows += _catch_up(ctx, pair, writers, details)
    finally:
        writers.close()
    rows += _failover(ctx, pair, details)
    return PhaseResult(rows, details)


# -- lag --------------------------------------------------------------------------------------


def _lag(
    ctx: Context, pair: ReplicaPair, writers: WriterPool, details: dict[str, Any]
) -> list[Measurement]:
    watch = ReplicaWatch(pair.account(pair.second))
    watch.start()
    try:
        _first_arrival(pair, watch)
        rows: list[Measurement] = []
        details["lag"] = []
        for rate in RATES:
            count = max(1, round(rate * ctx.ha_lag_seconds))
            lags: dict[str, list[float]] = {}
            record: dict[str, Any] = {"rate": rate, "seconds": ctx.ha_lag_seconds}
            # Neither side may inherit the other's leftovers: each starts on providers in
            # step and idle, and the order alternates with the rate (bridge first, then
            # ldap3 first). Twice the side run second at 500/s lagged seconds; with these
            # guards the providers were idle at once and the swing stayed: it is the load.
            for kind, letter in SIDES if RATES.index(rate) % 2 == 0 else SIDES[::-1]:
                pair.wait_in_step(IN_STEP_S)
                record.setdefault("quiet_wait_s", {})[kind] = round(wait_quiet(pair, IN_STEP_S), 1)
                account = pair.account(pair.first)
                writers.prepare(Plan(kind, account, f"ha{letter}{rate:.0f}", count, rate))
                writes = writers.run()
                arrived = watch.arrivals([w.dn for w in writes.adds], ARRIVAL_S)
                lags[kind] = [(at.wall - at.csn) * 1000 for at in arrived]
                answered = [
                    (at.monotonic - w.done) * 1000
                    for at, w in zip(arrived, writes.adds, strict=True)
                ]
                record[kind] = _lag_json(writes, lags[kind], answered)
                ctx.progress(
                    f"ha: lag at {rate:.0f}/s, {kind}: {writes.achieved_rate:.0f}/s done, "
                    f"p50 {_pct(lags[kind], 0.5):.1f} ms, p99 {_pct(lags[kind], 0.99):.1f} ms"
                )
            details["lag"].append(record)
            for share, name in ((0.5, "p50"), (0.99, "p99")):
                rows.append(
                    Measurement(
                        "ha",
                        f"ha: replication lag A -> B at {rate:.0f} writes/s: {name}",
                        Samples((_pct(lags["bridge"], share),)),
                        Samples((_pct(lags["raw"], share),)),
                        RAW_LABEL,
                        unit="ms",
                        extra={
                            "writes": count,
                            "bridge_achieved_per_s": record["bridge"]["achieved_per_s"],
                            "raw_achieved_per_s": record["raw"]["achieved_per_s"],
                        },
                    )
                )
        return rows
    finally:
        watch.close()


def _first_arrival(pair: ReplicaPair, watch: ReplicaWatch) -> None:
    """Wait until a first add on A reaches B: B's syncrepl may still be in its first retry."""
    watch.arrivals([add_one(pair.account(pair.first), "hawarm")], ARRIVAL_S)


def _lag_json(writes: Writes, lags_ms: list[float], answered_ms: list[float]) -> dict[str, Any]:
    return {
        "writes": len(lags_ms),
        "achieved_per_s": round(writes.achieved_rate, 1),
        "max_behind_schedule_s": round(writes.max_late_s, 3),
        "lag_ms": _spread(lags_ms),
        # From the writer's noting of A's answer instead: negative when B's copy reached the
        # watch before the writer process was scheduled again to note the answer.
        "lag_from_answer_ms": _spread(answered_ms),
    }


def _spread(values: list[float], digits: int = 2) -> dict[str, Any]:
    return {
        "p50": round(_pct(values, 0.5), digits),
        "p90": round(_pct(values, 0.9), digits),
        "p99": round(_pct(values, 0.99), digits),
        "max": round(max(values), digits),
        "mean": round(statistics.fmean(values), digits),
        "samples": len(values),
    }


# -- catch-up ---------------------------------------------------------------------------------


def _catch_up(
    ctx: Context, pair: ReplicaPair, writers: WriterPool, details: dict[str, Any]
) -> list[Measurement]:
    count = max(1, round(BACKLOG_RATE * ctx.ha_down_seconds))
    rates: dict[str, float] = {}
    details["catch_up"] = {
        "kill": "SIGKILL",
        "write_rate": BACKLOG_RATE,
        "down_seconds": ctx.ha_down_seconds,
    }
    for kind, letter in SIDES:
        plan = Plan(kind, pair.account(pair.first), f"hadown{letter}", count, BACKLOG_RATE)
        writers.prepare(plan)  # before the kill: B is down only while they write
        pair.wait_in_step(IN_STEP_S)
        ctx.progress(f"ha: B killed, {count:,} {kind} writes on A at {BACKLOG_RATE:.0f}/s")
        pair.kill(pair.second)
        killed = time.monotonic()
        writes = writers.run()
        wait = killed + ctx.ha_down_seconds - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        starting = time.monotonic()
        pair.start(pair.second)
        answering = time.monotonic()
        agreed = pair.wait_in_step(IN_STEP_S)
        _check_present(pair, [writes.adds[0].dn, writes.adds[-1].dn])
        rates[kind] = count / (agreed - starting)
        details["catch_up"][kind] = {
            "backlog": count,
            "down_s": round(starting - killed, 2),
            "start_s": round(answering - starting, 3),
            "in_step_after_s": round(agreed - starting, 3),
            "per_s": round(rates[kind], 1),
        }
        ctx.progress(
            f"ha: catch-up of {count:,} {kind} writes: {agreed - starting:.2f} s, "
            f"{rates[kind]:.0f}/s"
        )
    return [
        Measurement(
            "ha",
            f"ha: catch-up of B after {ctx.ha_down_seconds:g} s down (kill -9), "
            f"{count:,} people written at {BACKLOG_RATE:.0f}/s: people/s",
            Samples((rates["bridge"],)),
            Samples((rates["raw"],)),
            RAW_LABEL,
            unit="/s",
        )
    ]


# -- failover ---------------------------------------------------------------------------------


def _failover(ctx: Context, pair: ReplicaPair, details: dict[str, Any]) -> list[Measurement]:
    ctx.progress(f"ha: failover, {ctx.ha_kills} kill(s) of the write target")
    try:
        found = failover_pause.measure(pair, ctx.ha_kills, ctx.progress)
    except (BenchError, LDAPException, BridgeError) as error:
        reason = f"not measured: {type(error).__name__}: {error}"
        details["failover"] = {"measured": False, "reason": reason, "kills": ctx.ha_kills}
        ctx.progress(f"ha: failover {reason}")
        return []
    pauses = found["pauses"]
    details["failover"] = {
        "measured": True,
        "kills": ctx.ha_kills,
        "kill": "SIGKILL of the write target (A); then A restarted, in step, promoted back",
        "bridge": "LdapClient, [directory] urls = A, B, automatic failover (settings below)",
        "raw": "plain ldap3, ServerPool([A, B], FIRST): moves to B at once, no write target",
        "pause_s": {side: _spread(values, 3) for side, values in pauses.items()},
        **{k: v for k, v in found.items() if k != "pauses"},
    }
    automatic = found["settings"]["automatic_after"]
    return [
        Measurement(
            "ha",
            f"ha: failover pause, kill -9 of the write target, {ctx.ha_kills} kills "
            f"(automatic_after {automatic:g} s): {name}",
            Samples((_pct(pauses["bridge"], share),)),
            Samples((_pct(pauses["raw"], share),)),
            POOL_LABEL,
            unit="s",
            extra={"automatic_after_s": automatic},
        )
        for share, name in ((0.5, "p50"), (0.99, "p99"))
    ]


def _check_present(pair: ReplicaPair, entries: list[str]) -> None:
    """Fail unless B has the backlog's first and last entries (agreeing CSNs should mean so)."""
    raw = RawLdap(pair.account(pair.second))
    try:
        for entry in entries:
            try:
                raw.connection.search(entry, "(objectClass=*)", BASE, attributes=["1.1"])
            except LDAPNoSuchObjectResult:
                raise BenchError(f"ha: B agrees with A but lacks {entry}") from None
    finally:
        raw.close()


def _pct(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]
