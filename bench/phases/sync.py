"""Phase "sync": propagation lag to a SCIM target, and catch-up after the target's outage.

The sync runner (``bridge.provisioning.runner``, what ``mims sync run`` runs) follows the
populated directory and pushes into scim2-server (bench.peer_server). It runs in this process,
around the real SCIM target, with a thin wrapper that notes when each change got its 2xx.

- **Lag at 100 changes per second.** A writer replaces one person's ``displayName`` every
  10 ms over raw ldap3 (as a sysadmin's tool would) for ``LAG_SECONDS``; each value is
  numbered. A write counts as arrived when the target confirmed that value or a later one of
  the same person (syncprov may fold two changes of one entry into one message). Lag is from
  the end of the LDAP modify to the target's 2xx for it: p50 and p99. The baseline row is a
  direct PUT of the same kind of document to the peer, one client: what the target alone costs.
- **Catch-up after an outage.** The peer is frozen (SIGSTOP on its gunicorn processes: its
  requests time out and its in-memory store is kept; a SIGKILL would empty it, which the tests
  cover) while the writer goes on at 100 changes per second; then it is thawed (SIGCONT). The
  catch-up rate is the backlog divided by the time from the first success after the thaw to
  the last change of the backlog confirmed; the wait before that first success (the runner's
  backoff, capped) is reported on its own. The issue asks for a 10-minute outage; this phase
  freezes the target for ``outage_seconds`` (60 s from 10,000 people up, less below, at least
  10 s), since the backlog grows linearly with the outage at a fixed write rate and the
  catch-up rate is what carries over; the row and its details say how long it was.

The runner starts from "now" (a cookie with the directory's current contextCSN), so the
populated people are not all pushed first; the peer is seeded with one user so that the
runner's start-up probe does not take it for a target that lost its data.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from ldap3 import BASE, MODIFY_REPLACE

from bench.peer_server import PeerServer, worker_pids
from bench.phases.context import Context, PhaseResult
from bench.population import Populated, Someone
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bridge.config import load_config
from bridge.core.sync import Change
from bridge.directory import settings as directory_settings
from bridge.directory.client import LdapClient
from bridge.directory.sync_state import SyncStateStore
from bridge.provisioning.runner import Runner, build_target
from bridge.services import Backend

RATE = 100.0  # changes per second, the figure
LAG_SECONDS = 30.0
TARGET_NAME = "bench"
TOKEN_ENV = "MIMS_BENCH_PEER_TOKEN"
REQUEST_TIMEOUT_S = 2.0
ARRIVAL_TIMEOUT_S = 300.0
LABEL = "direct PUT to scim2-server"
PREFIX = "sync-bench-"
STATUS_RUNS = 5
STATUS_TARGET_S = 1.0  # issue 22: `mims sync status` under 1 s at 500,000 people (past start-up)
EVERYTHING = "rid=000,csn=20000101000000.000000Z#000000#000#000000"  # before any entry


def outage_seconds(people: int) -> float:
    """Return how long the target is frozen: 60 s from 10,000 people up, at least 10 s."""
    return max(10.0, min(60.0, people / 10_000 * 60.0))


class Arrivals:
    """A target wrapper that notes when each change of a person got the target's 2xx."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.lock = threading.Lock()
        self.seen: dict[str, list[tuple[int, float]]] = {}

    def apply(self, change: Change) -> None:
        self.inner.apply(change)
        done = time.monotonic()
        value = change.first("displayName") or ""
        if value.startswith(PREFIX):
            with self.lock:
                self.seen.setdefault(change.uuid, []).append((int(value[len(PREFIX) :]), done))

    def arrival(self, uuid: str, index: int) -> float | None:
        """Return when write ``index`` of this person (or a later one) was confirmed."""
        with self.lock:
            times = [t for i, t in self.seen.get(uuid, []) if i >= index]
        return min(times) if times else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Writer:
    """Replace displayName at a fixed rate; remember when each write was done."""

    def __init__(self, pop: Populated, people: list[Someone]) -> None:
        self.raw = pop.ldap()
        self.people = people
        self.writes: list[tuple[str, int, float]] = []  # (uuid, index, done)
        self.index = 0

    def run(self, seconds: float) -> None:
        start = time.monotonic()
        count = int(seconds * RATE)
        for n in range(count):
            due = start + n / RATE
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            person = self.people[self.index % len(self.people)]
            self.raw.connection.modify(
                person.dn, {"displayName": [(MODIFY_REPLACE, [f"{PREFIX}{self.index}"])]}
            )
            self.writes.append((person.id, self.index, time.monotonic()))
            self.index += 1

    def close(self) -> None:
        self.raw.connection.unbind()


def run(ctx: Context) -> PhaseResult:
    """Start the peer and the runner, then measure lag and catch-up."""
    pop = ctx.population.ready(ctx)
    peer = PeerServer(ctx.workspace.root / "sync-peer", workers=1, threads=4, progress=ctx.progress)
    ctx.workspace.on_close(peer.stop)
    peer.start()
    try:
        result = _measure(ctx, pop, peer)
        rows, status = _status(ctx, pop, peer)
        result.measurements.extend(rows)
        result.details["status"] = status
        return result
    finally:
        peer.stop()


def _measure(ctx: Context, pop: Populated, peer: PeerServer) -> PhaseResult:
    os.environ[TOKEN_ENV] = peer.token
    settings = {
        "kind": "scim",
        "url": peer.base_url,
        "token_env": TOKEN_ENV,
        "rate": 10_000,
        "timeout": REQUEST_TIMEOUT_S,
        "groups": False,
    }
    config = load_config(env=pop.bridge.env).with_overrides(
        sync={"targets": {TARGET_NAME: settings}}
    )
    seed = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "seed@x.example"}
    assert peer.call("POST", "Users", seed)[0] == 201
    directory = LdapClient(directory_settings.client_settings(config))
    _start_from_now(pop, directory, config.directory.suffix)
    arrivals = Arrivals(build_target(TARGET_NAME, config.sync.targets[TARGET_NAME]))
    stop = threading.Event()
    backend = Backend(config, directory)
    runner = Runner(
        config,
        TARGET_NAME,
        backend.sync_state,
        backend.change_feed,
        stop=stop,
        target=arrivals,  # type: ignore[arg-type]
        report=lambda message: ctx.progress(f"sync runner: {message}"),
    )
    follower = threading.Thread(target=_follow, args=(runner, directory), daemon=True)
    follower.start()
    people = pop.sample(min(len(pop.people), 20_000), seed=9)
    writer = Writer(pop, people)
    try:
        ctx.progress(f"sync: {RATE:.0f} changes/s for {LAG_SECONDS:.0f} s")
        writer.run(LAG_SECONDS)
        lag = _wait_all(arrivals, writer.writes, ctx)
        outage = outage_seconds(len(pop.people))
        ctx.progress(f"sync: target frozen for {outage:.0f} s while writes go on")
        before = len(writer.writes)
        pids = [peer.pid(), *worker_pids(peer.pid())]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            writer.run(outage)
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        thawed = time.monotonic()
        backlog = writer.writes[before:]
        arrived = _wait_all(arrivals, backlog, ctx)
    finally:
        stop.set()
        follower.join(30)
        writer.close()
        directory.close()
    direct = _direct_puts(peer, 500)
    return _rows(lag, arrived, backlog, thawed, outage, direct, runner)


def _status(
    ctx: Context, pop: Populated, peer: PeerServer
) -> tuple[list[Measurement], dict[str, Any]]:
    """Time `mims sync status --json` as a sysadmin runs it: caught up, then behind by all.

    Each is a whole process (Python's start-up and imports included), against the populated
    directory, with the target the phase synced. "Behind by everything" stores a cookie older
    than any entry, so every person and group waits: the status must still answer from the
    target's stored entry and a bounded count (bridge/directory/sync_state.py), not a read of
    them all. The baseline is `mims --version`, run in turn with it: the same process start,
    doing nothing. The target is on the difference (at most 1 s): start-up does not grow with
    the directory, and on a loaded machine it alone can take seconds.
    """
    overlay = Path(pop.bridge.env["MIMS_CONFIG"]).read_text()
    config_file = ctx.workspace.root / "sync-status.toml"
    config_file.write_text(
        f'{overlay}\n[sync.targets.{TARGET_NAME}]\nkind = "scim"\n'
        f'url = "{peer.base_url}"\ntoken_env = "{TOKEN_ENV}"\n'
    )
    env = pop.bridge.env | {"MIMS_CONFIG": str(config_file)}
    config = load_config(env=env)
    directory = LdapClient(directory_settings.client_settings(config))
    backend = Backend(config, directory)
    state = SyncStateStore(directory, config.directory.suffix, TARGET_NAME)
    kept = state.cookie()
    rows: list[Measurement] = []
    details: dict[str, Any] = {}
    try:
        for case, cookie in (("caught up", kept), ("behind by every entry", EVERYTHING)):
            state.save_cookie(cookie, 0)
            start_up, runs, cpu = [], [], []
            for _ in range(STATUS_RUNS):
                version = _run_mims(ctx, env, "--version")
                status = _run_mims(ctx, env, "sync", "status", "--json")
                start_up.append(version[0])
                runs.append(status[:2])
                cpu.append(status[2] - version[2])
            inside = []
            for _ in range(STATUS_RUNS):
                began = time.perf_counter()
                backend.sync_status(TARGET_NAME)
                inside.append(time.perf_counter() - began)
            shown = runs[-1][1][0]
            ctx.progress(
                f"sync status, {case}: {statistics.median(t for t, _ in runs):.2f} s a process, "
                f"{1000 * statistics.median(inside):.0f} ms of it the status itself; "
                f"pending {shown['pending_changes']}{'+' if shown.get('pending_capped') else ''}"
            )
            details[case] = {
                "process_s": [round(t, 3) for t, _ in runs],
                "start_up_s": [round(t, 3) for t in start_up],
                # CPU seconds of the status process less those of `mims --version`: what the
                # status itself cost, whatever else the machine was doing.
                "cpu_beyond_start_up_s": [round(t, 3) for t in cpu],
                "in_process_ms": [round(1000 * t, 2) for t in inside],
                "pending_changes": shown["pending_changes"],
                "pending_capped": shown.get("pending_capped"),
            }
            rows.append(
                Measurement(
                    "sync",
                    f"sync: `mims sync status` at {len(pop.people):,} people, {case}: a process",
                    Samples(tuple(t for t, _ in runs)),
                    Samples(tuple(start_up)),
                    "`mims --version` (start-up alone)",
                    unit="s",
                    max_delta=STATUS_TARGET_S,
                    extra={
                        "in_process_ms": round(1000 * statistics.median(inside), 2),
                        "cpu_beyond_start_up_s": round(statistics.median(cpu), 3),
                    },
                )
            )
    finally:
        state.save_cookie(kept, 0)
        directory.close()
    return rows, details


def _run_mims(ctx: Context, env: dict[str, str], *args: str) -> tuple[float, Any, float]:
    """Run `mims ARGS`; return its wall time, its output as JSON (None: not JSON), CPU time."""
    log = ctx.workspace.root / "sync-status.log"
    run = ctx.workspace.check(ctx.workspace.run(ctx.mims(*args), log, env), f"mims {args[0]}")
    try:
        return run.wall_s, json.loads(log.read_text()), run.cpu_s
    except ValueError:
        return run.wall_s, None, run.cpu_s


def _follow(runner: Runner, directory: LdapClient) -> None:
    try:
        runner.run()
    finally:
        directory.discard()


def _start_from_now(pop: Populated, directory: LdapClient, suffix: str) -> None:
    """Store a cookie at the directory's current contextCSN: follow from now on."""
    raw = pop.ldap()
    try:
        raw.connection.search(suffix, "(objectClass=*)", BASE, attributes=["contextCSN"])
        csns = [v.decode() for v in raw.connection.response[0]["raw_attributes"]["contextCSN"]]
    finally:
        raw.connection.unbind()
    state = SyncStateStore(directory, suffix, TARGET_NAME)
    state.ensure()
    state.save_cookie(f"rid=000,csn={';'.join(csns)}", 0)


def _wait_all(
    arrivals: Arrivals, writes: list[tuple[str, int, float]], ctx: Context
) -> list[tuple[float, float]]:
    """Wait until every write arrived; return (write done, arrival) pairs."""
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        pairs = [(done, arrivals.arrival(uuid, index)) for uuid, index, done in writes]
        missing = sum(1 for _done, at in pairs if at is None)
        if not missing:
            return [(done, at) for done, at in pairs if at is not None]
        if time.monotonic() > deadline:
            raise RuntimeError(f"sync: {missing} of {len(writes)} changes never arrived")
        time.sleep(0.5)


def _direct_puts(peer: PeerServer, count: int) -> list[float]:
    """Time direct PUTs of a user document to the peer, one client (the target's own cost)."""
    client = ScimClient(peer.base_url, peer.headers)
    user = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "put@x.example"}
    ident = client.post("/Users", user).expect(201)["id"]
    times = []
    try:
        for n in range(count):
            started = time.monotonic()
            client.request("PUT", f"/Users/{ident}", user | {"displayName": f"put {n}"}).expect(200)
            times.append(time.monotonic() - started)
    finally:
        client.close()
    return times


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _rows(
    lag: list[tuple[float, float]],
    arrived: list[tuple[float, float]],
    backlog: list[tuple[str, int, float]],
    thawed: float,
    outage: float,
    direct: list[float],
    runner: Runner,
) -> PhaseResult:
    lags_ms = [(at - done) * 1000 for done, at in lag]
    direct_ms = [t * 1000 for t in direct]
    first = min(at for _done, at in arrived if at >= thawed) if arrived else thawed
    last = max(at for _done, at in arrived)
    catch_up = len(backlog) / max(last - first, 1e-6)
    direct_rate = len(direct) / sum(direct)
    rows = [
        Measurement(
            "sync",
            f"sync: lag directory write -> target 2xx at {RATE:.0f} changes/s: p50",
            Samples((_percentile(lags_ms, 0.5),)),
            Samples((_percentile(direct_ms, 0.5),)),
            LABEL,
            unit="ms",
            extra={"changes": len(lags_ms)},
        ),
        Measurement(
            "sync",
            f"sync: lag directory write -> target 2xx at {RATE:.0f} changes/s: p99",
            Samples((_percentile(lags_ms, 0.99),)),
            Samples((_percentile(direct_ms, 0.99),)),
            LABEL,
            unit="ms",
        ),
        Measurement(
            "sync",
            f"sync: catch-up after a {outage:.0f} s target outage (issue: 10 min), "
            f"{len(backlog):,} changes: changes/s",
            Samples((catch_up,)),
            Samples((direct_rate,)),
            "direct PUTs/s, 1 client",
            unit="/s",
            extra={"resume_delay_s": round(first - thawed, 2)},
        ),
    ]
    details = {
        "rate": RATE,
        "lag_seconds": LAG_SECONDS,
        "lag_ms": {
            "p50": round(_percentile(lags_ms, 0.5), 2),
            "p90": round(_percentile(lags_ms, 0.9), 2),
            "p99": round(_percentile(lags_ms, 0.99), 2),
            "max": round(max(lags_ms), 2),
            "mean": round(statistics.fmean(lags_ms), 2),
        },
        "outage_s": outage,
        "outage_note": "the issue's 10-minute outage scaled to 60 s at 10,000 people and up "
        "(people / 10,000 x 60 s below, at least 10 s); the peer is frozen with SIGSTOP",
        "backlog": len(backlog),
        "resume_delay_s": round(first - thawed, 2),
        "catch_up_per_s": round(catch_up, 1),
        "delivered": runner.delivery.pushed,
        "full_refreshes": runner.resets,
    }
    return PhaseResult(rows, details)
