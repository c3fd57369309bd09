"""Phase "mixed": a school day's mix of requests against one `mims serve`, at rising concurrency.

Over the populated directory, K concurrent clients (``--mixed-clients``, default 8, 32, 128)
each take the next operation of one endless plan whose share of each kind is fixed
(``WEIGHTS``, shuffled in a repeating block of 100):

- ``sign-in`` (30): ``POST /sspr/api/login`` with a right password (the portal's JSON API: an
  LDAP bind, Argon2 in slapd); the people were given known passwords before (untimed);
- ``lookup`` (45): an IdP's ``GET /scim/v2/Users?filter=userName eq "..."``;
- ``patch`` (15): an IdP's ``PATCH /scim/v2/Users/{id}`` Replace of ``displayName``;
- ``search`` (10): the console's ``GET /admin/api/people?q=...`` (3-6 letters of a name) as a
  signed-in MIMS administrator (one session, shared by the clients).

And the nightly-import burst: a third into each level, `mims import` of a delta roster (a few
hundred rows of students moved to another class of their level: person and class-group
writes) runs beside the clients, as the SIS's nightly job would, with the bridge's own
settings (service account over ldaps). The level lasts ``level_seconds`` and at least until
the import is over plus a tail, so the whole import meets the load.

Per level the JSON records throughput, p50/p99 and errors per operation, the import's time and
summary, and the CPU seconds of the bridge (gunicorn's master and workers), of slapd, of the
import and of the benchmark's own client threads (all on the same cores). Errors are counted,
not fatal: the row "failed requests" has the target 0. The bench's `mims serve` has the
portal's per-address rate limit raised (bench/bridge_server.py): every client is 127.0.0.1;
the limit on wrong passwords per address stays as configured (no sign-in here is wrong).
"""

from __future__ import annotations

import csv
import http.client
import os
import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import charts
from bench.load import Load, drive
from bench.memory import descendants
from bench.phases import console
from bench.phases.context import Context, PhaseResult
from bench.population import Populated, Someone
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.workspace import BenchError, slapd_cpu_s
from bridge.config import load_config
from bridge.core.administration import AllSchools
from bridge.core.naming import LoginId
from bridge.errors import PolicyViolation
from bridge.services import Backend

LEVELS = (8, 32, 128)
WEIGHTS = {"sign-in": 30, "lookup": 45, "patch": 15, "search": 10}
SEED = 22
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
TAIL_S = 2.0  # the load goes on this long after the import ends
_TICKS = os.sysconf("SC_CLK_TCK")


def level_seconds(people: int) -> float:
    """Return how long each level runs: 30 s, less in small directories (3 s at least)."""
    return max(3.0, min(30.0, people / 400))


def changed_rows(people: int) -> int:
    """Return the rows of the nightly delta roster: 300, fewer in small directories."""
    return max(10, min(300, people // 30))


def sign_in_people(people: int) -> int:
    """Return how many people get a known password for the sign-ins: 200, fewer when small."""
    return max(10, min(200, people // 20))


class Plan(Sequence[tuple[str, int]]):
    """An endless-enough list of (kind, n): the weights' block of 100, shuffled once, repeated."""

    def __init__(self, weights: dict[str, int], seed: int, length: int = 10_000_000) -> None:
        block = [kind for kind, weight in weights.items() for _ in range(weight)]
        random.Random(seed).shuffle(block)
        self.block = block
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> tuple[str, int]:  # type: ignore[override]
        return self.block[index % len(self.block)], index


@dataclass(frozen=True)
class Cast:
    """Who the operations use: disjoint people for sign-ins, PATCHes and the administrator."""

    signers: list[tuple[str, str]]  # login ID, password
    lookups: list[Someone]
    patches: list[Someone]
    fragments: tuple[str, ...]
    admin_headers: dict[str, str]


class Day:
    """One client's connections: SCIM with the token, the portal, the console's session."""

    def __init__(self, pop: Populated, cast: Cast) -> None:
        self.cast = cast
        self.scim = pop.scim()
        self.portal = ScimClient(pop.bridge.url("/sspr/api"), {"Accept": "application/json"})
        self.console = ScimClient(pop.bridge.url("/admin/api"), cast.admin_headers)

    def sign_in(self, n: int) -> None:
        login, password = self.cast.signers[n % len(self.cast.signers)]
        self.portal.post("/login", {"loginId": login, "password": password}).expect(200)

    def lookup(self, n: int) -> None:
        person = self.cast.lookups[n % len(self.cast.lookups)]
        found = self.scim.get("/Users", {"filter": f'userName eq "{person.login_id}"'})
        if found.expect(200).get("totalResults") != 1:
            raise BenchError(f"userName eq found {found.body.get('totalResults')} people")

    def patch(self, n: int) -> None:
        person = self.cast.patches[n % len(self.cast.patches)]
        change = {"op": "Replace", "path": "displayName", "value": f"Day {n}"}
        self.scim.patch(
            f"/Users/{person.id}", {"schemas": [PATCH_OP], "Operations": [change]}
        ).expect(200)

    def search(self, n: int) -> None:
        text = self.cast.fragments[n % len(self.cast.fragments)]
        self.console.get("/people", {"q": text, "count": console.PAGE}).expect(200)

    def close(self) -> None:
        for client in (self.scim, self.portal, self.console):
            client.close()


class Tally:
    """Each operation's latency and outcome, from every client thread (appends are atomic)."""

    def __init__(self) -> None:
        self.taken: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.first_errors: dict[str, str] = {}

    def run(self, day: Day, item: tuple[str, int]) -> None:
        kind, n = item
        began = time.perf_counter()
        try:
            getattr(day, kind.replace("-", "_"))(n)
        except (BenchError, OSError, http.client.HTTPException, ValueError) as error:
            self.errors[kind] += 1
            self.first_errors.setdefault(kind, f"{type(error).__name__}: {str(error)[:200]}")
            return
        self.taken[kind].append(time.perf_counter() - began)


def run(ctx: Context) -> PhaseResult:
    """Run the mix at each level of concurrency, with a nightly import in each; chart it."""
    pop = ctx.population.ready(ctx)
    levels = ctx.mixed_clients or LEVELS
    seconds = level_seconds(len(pop.people))
    cast, deltas = _prepare(ctx, pop, len(levels))
    ctx.progress(
        f"mixed: {len(cast.signers)} people with passwords, {len(deltas[0][1])} import rows, "
        f"{seconds:.0f} s per level at {','.join(map(str, levels))} clients"
    )
    done = [
        _level(ctx, pop, cast, clients, seconds, delta)
        for clients, delta in zip(levels, deltas, strict=True)
    ]
    portal = load_config(env=pop.bridge.env).sspr
    details: dict[str, Any] = {
        "weights": WEIGHTS,
        # What the bench's serve allows one address (all clients are 127.0.0.1): said, not hidden.
        "portal_limits": {
            "rate_limit": portal.rate_limit,
            "address_failures": portal.address_failures,
        },
        "level_seconds": seconds,
        "sign_in_people": len(cast.signers),
        "levels": done,
    }
    chart = ctx.results_dir / f"{ctx.stem}-mixed.png"
    title = (
        f"mims serve, a school day's mix, {len(pop.people):,} people "
        f"({os.cpu_count()} cores, load average {done[0]['load_average_start']}"
        f"-{done[-1]['load_average_start']})"
    )
    details["chart"] = charts.mixed_chart(done, title, chart).name
    return PhaseResult(_rows(done), details)


def _prepare(ctx: Context, pop: Populated, rounds: int) -> tuple[Cast, list[tuple[Path, list]]]:
    """Give people passwords and an administrator a grant; write one delta roster per level."""
    roster = _read_roster(ctx.workspace.root / "roster.csv")
    count = sign_in_people(len(pop.people))
    picked = pop.sample(2 * count + 1, SEED)
    admin, signers, patches = picked[0], picked[1 : count + 1], picked[count + 1 :]
    config = load_config(env=pop.bridge.env)
    passwords: list[tuple[str, str]] = []
    # Four writers, a Backend each: slapd hashes each password (Argon2), ~0.1 s apiece.
    drive(
        signers,
        lambda backend, one: passwords.append(
            (one.login_id, _give_password(backend, one.login_id))
        ),
        lambda: Backend(config),
        clients=4,
    )
    backend = Backend(config)
    try:
        backend.grants.grant(LoginId.parse(admin.login_id), [AllSchools()])
        admin_password = _give_password(backend, admin.login_id)
    finally:
        backend.close()
    role = console.Role("MIMS administrator", admin.login_id, (), admin_password)
    session = console.signed_in(pop, role)
    headers = dict(session.headers)
    session.close()
    names = [row["full_name"] for row in roster[:2000]]
    taken = {one.external_id for one in picked}
    movable = movable_students(roster, taken)[: changed_rows(len(pop.people))]
    if not movable:
        raise BenchError("the roster has no student in a level with two classes to move")
    deltas = []
    for i in range(rounds):
        path = ctx.workspace.root / f"nightly-{i + 1}.csv"
        deltas.append((path, write_delta(path, movable, i)))
    cast = Cast(
        signers=passwords,
        lookups=pop.sample(2000, SEED + 1),
        patches=patches,
        fragments=console.fragments(names, 200, SEED),
        admin_headers=headers,
    )
    return cast, deltas


def _give_password(backend: Backend, login: str) -> str:
    person = backend.services.people.find_login(LoginId.parse(login))
    if person is None:
        raise BenchError(f"no person {login} to give a password")
    for _ in range(5):  # a random one may hold part of the person's name: the policy says no
        password = "Bench-7" + secrets.token_urlsafe(18)  # a digit for every role's policy
        try:
            backend.services.passwords.set_password(person, password)
        except PolicyViolation:
            continue
        return password
    raise BenchError(f"the password policy refused five random passwords for {login}")


def _read_roster(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise BenchError(f"no roster at {path} to make the nightly delta from")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def movable_students(
    roster: list[dict[str, str]], taken: set[str]
) -> list[tuple[dict[str, str], str]]:
    """Return students (not in ``taken``) with another class of their school and level."""
    classes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in roster:
        if row["role"] == "student" and row["class"]:
            classes[(row["school"], row["level"])].add(row["class"])
    found = []
    for row in roster:
        others = sorted(classes.get((row["school"], row["level"]), set()) - {row["class"]})
        if row["role"] == "student" and row["class"] and others and row["external_id"] not in taken:
            found.append((row, others[0]))
    random.Random(SEED).shuffle(found)
    return found


def write_delta(path: Path, movable: list[tuple[dict[str, str], str]], round_: int) -> list:
    """Write the rows moved to their other class (even rounds) or back (odd): all changed."""
    rows = [{**row, "class": other if round_ % 2 == 0 else row["class"]} for row, other in movable]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _level(
    ctx: Context,
    pop: Populated,
    cast: Cast,
    clients: int,
    seconds: float,
    delta: tuple[Path, list],
) -> dict[str, Any]:
    """Run the mix at one level with the import a third of the way in; return its figures."""
    tally = Tally()
    over = threading.Event()
    burst: dict[str, Any] = {}

    def nightly() -> None:
        began = time.monotonic()
        if over.wait(seconds / 3):
            return
        path, rows = delta
        log = ctx.workspace.root / f"{path.stem}.log"
        command = ctx.mims("import", str(path), "--workers", str(ctx.workers))
        burst.update(rows=len(rows), started_s=round(time.monotonic() - began, 1))
        try:
            done = ctx.workspace.run(command, log, env=pop.bridge.env)
            lines = log.read_text(errors="replace").splitlines()
            said = [line for line in lines if " rows: " in line]
            burst.update(summary=said[-1] if said else None, returncode=done.returncode)
            burst.update(done.as_json())
        finally:
            over.wait(max(TAIL_S, seconds - (time.monotonic() - began)))
            over.set()

    load_average = round(os.getloadavg()[0], 1)
    cpu_before = _cpu(pop)
    import_thread = threading.Thread(target=nightly, name="nightly-import", daemon=True)
    import_thread.start()
    try:
        plan = Plan(WEIGHTS, SEED + clients)
        load = drive(plan, tally.run, lambda: Day(pop, cast), clients, until=over.is_set)
    finally:
        over.set()
        import_thread.join()
    cpu = {k: round(v - cpu_before[k], 2) for k, v in _cpu(pop).items()}
    cpu["import"] = burst.get("cpu_s", 0.0)
    if burst.get("returncode") != 0:
        tally.errors["import"] += 1
        tally.first_errors.setdefault("import", f"mims import exit {burst.get('returncode')}")
    by_operation = {}
    for kind in WEIGHTS:
        taken = tally.taken.get(kind, [])
        summary = Load(tuple(taken), load.wall_s, clients).as_json() if taken else {"ops": 0}
        by_operation[kind] = summary | {"errors": tally.errors[kind]}
    ops = sum(len(t) for t in tally.taken.values())
    errors = sum(tally.errors.values())
    figures = {
        "clients": clients,
        "wall_s": round(load.wall_s, 2),
        "ops": ops,
        "rate_per_s": round(ops / load.wall_s, 1),
        "errors": errors,
        "first_errors": tally.first_errors,
        "by_operation": by_operation,
        "import": burst,
        "cpu_s": cpu,
        # CPU per operation moves little with the machine's other load; throughput does not.
        "cpu_ms_per_op": {
            side: round(1000 * cpu[side] / ops, 2) if ops else None for side in ("bridge", "slapd")
        },
        "load_average_start": load_average,
    }
    ctx.progress(
        f"mixed {clients} clients: {figures['rate_per_s']}/s, {errors} errors, p99 "
        + ", ".join(f"{k} {v.get('p99_ms', '-')} ms" for k, v in by_operation.items())
        + f"; import of {burst.get('rows')} rows {burst.get('wall_s')} s; CPU s bridge "
        f"{cpu['bridge']}, slapd {cpu['slapd']}"
    )
    return figures


def _cpu(pop: Populated) -> dict[str, float]:
    """Return CPU seconds so far: the bridge's processes, slapd, this process (the clients)."""
    pid = pop.bridge.pid()
    bridge = sum(_process_cpu(each) for each in ([pid, *descendants(pid)] if pid else []))
    return {
        "bridge": bridge,
        "slapd": slapd_cpu_s(pop.slapd),
        "clients": time.process_time(),
    }


def _process_cpu(pid: int) -> float:
    """Return a process's CPU seconds, its reaped children's included (a worker that died)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return sum(int(x) for x in fields[11:15]) / _TICKS


def _rows(levels: Sequence[dict[str, Any]]) -> list[Measurement]:
    first = levels[0]
    rows = []
    for level in levels:
        k = level["clients"]
        rows += [
            Measurement(
                "mixed",
                f"mixed school day, {k} clients: operations/s",
                Samples((level["rate_per_s"],)),
                Samples((first["rate_per_s"],)),
                f"{first['clients']} clients",
                unit="/s",
            ),
            Measurement(
                "mixed",
                f"mixed school day, {k} clients: failed requests",
                Samples((float(level["errors"]),)),
                Samples((float(level["ops"] + level["errors"]),)),
                "sent",
                unit="requests",
                max_value=0,
            ),
            Measurement(
                "mixed",
                f"mixed school day, {k} clients: CPU, bridge (gunicorn) / slapd",
                Samples((level["cpu_s"]["bridge"],)),
                Samples((level["cpu_s"]["slapd"],)),
                "slapd",
                unit="CPU s",
                extra={"cpu_ms_per_op": level["cpu_ms_per_op"]},
            ),
        ]
    return rows
