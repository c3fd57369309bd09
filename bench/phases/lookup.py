"""Phase "lookup": SCIM ``GET /Users?filter=...`` against a raw ldap3 search for the same person.

The three lookups Entra ID and Okta make before every create or update, by ``userName``,
``externalId`` and ``emails[type eq "work"].value``, for the same 2,000 randomly chosen people
with one client, then for 1,000 of them with 8 concurrent clients (threads, each with its own
HTTP connection or its own ldap3 connection). The raw side binds as the bridge's service
account over TCP and asks for the same entry with the same filter and attributes the bridge
reads (bench.raw_ldap). The sides alternate in rounds over the people, so that a burst of load from
elsewhere hits both, and the spread over rounds shows the noise.

The TLS row (issue 17): the same raw userName lookup, one client, over ldaps (what GCDS, SSO
tools and SSSD on other machines use) against the ldapi socket (what the bridge uses with the
managed slapd), in alternating rounds: what TLS costs a lookup.

Target (issue 22; 2 ms in issues 5 and 8): with one client, the bridge's p50 within 0.5 ms of
the raw p50 for each of these indexed filters. The 8-client rows are informative: with 8
requests in flight on two cores their latency is mostly queueing, i.e. throughput.

With ``--profile``, each lookup is then run once more with one client while py-spy samples
the bridge's workers (untimed, bench.server_profile): ``profile_split`` in the JSON says how
much of a request each layer took (HTTP, SCIM, core, LDAP client, slapd).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import server_profile
from bench.load import Load, drive, merged
from bench.memory import ProcessTree
from bench.phases.context import Context, PhaseResult
from bench.population import Populated, Someone
from bench.raw_ldap import RawLdap
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.workspace import BenchError, slapd_cpu_s

TARGET_DELTA_MS = 0.5
CONCURRENCY = (1, 8)
ROUNDS = 4
# With 8 clients the rows are informative (throughput, mostly): half the people are enough.
SHARE = {1: 1.0, 8: 0.5}
SEED = 8


@dataclass(frozen=True)
class Lookup:
    """One kind of lookup: its SCIM filter and the LDAP attribute the raw search uses."""

    name: str
    scim: Callable[[Someone], str]
    attribute: str
    value: Callable[[Someone], str]


def _eq(path: str, value: str) -> str:
    return f"{path} eq {json.dumps(value)}"  # a SCIM filter string is a JSON string


LOOKUPS = (
    Lookup("userName", lambda p: _eq("userName", p.login_id), "mail", lambda p: p.login_id),
    Lookup(
        "externalId",
        lambda p: _eq("externalId", p.external_id),
        "mimsExternalId",
        lambda p: p.external_id,
    ),
    Lookup(
        "emails",
        lambda p: _eq('emails[type eq "work"].value', p.login_id),
        "mail",
        lambda p: p.login_id,
    ),
)
FILTER_TEXT = {
    "userName": 'userName eq "X"',
    "externalId": 'externalId eq "X"',
    "emails": 'emails[type eq "work"].value eq "X"',
}


def figure(lookup: Lookup, clients: int) -> str:
    """Return the name under which the bridge's lookups are kept for the peer phase."""
    return f"lookup {lookup.name}, {clients} clients"


def sample_size(people: int) -> int:
    """Return how many people to look up: 2,000 (issue 8), fewer in small directories."""
    return max(100, min(2000, people // 5))


def scim_lookup(lookup: Lookup) -> Callable[[ScimClient, Someone], None]:
    """Return an operation that finds one person through SCIM and checks it found one."""

    def operation(client: ScimClient, person: Someone) -> None:
        found = client.get("/Users", {"filter": lookup.scim(person)}).expect(200)
        if found.get("totalResults") != 1:
            raise BenchError(f"{lookup.scim(person)} found {found.get('totalResults')} people")

    return operation


def raw_lookup(lookup: Lookup) -> Callable[[RawLdap, Someone], None]:
    """Return an operation that finds one person with one ldap3 search and checks it."""

    def operation(raw: RawLdap, person: Someone) -> None:
        found = raw.find_person(lookup.attribute, lookup.value(person))
        if len(found) != 1:
            raise BenchError(f"({lookup.attribute}={lookup.value(person)}) found {len(found)}")

    return operation


def rounds(items: Sequence[Someone], count: int) -> list[Sequence[Someone]]:
    """Split the people into ``count`` rounds of about the same size."""
    return [items[i::count] for i in range(count)]


def chosen(pop: Populated) -> list[Someone]:
    """Return the people to look up (the same in every phase that looks people up)."""
    return pop.sample(sample_size(len(pop.people)), SEED)


def run(ctx: Context) -> PhaseResult:
    """Look up the same people through the bridge and raw, 1 and 8 clients, in rounds."""
    pop = ctx.population.ready(ctx)
    people = chosen(pop)
    warm_up(pop, people)
    measurements: list[Measurement] = []
    details: dict[str, Any] = {"people": len(people), "rounds": ROUNDS, "runs": []}
    for clients in CONCURRENCY:
        some = people[: round(len(people) * SHARE[clients])]
        for lookup in LOOKUPS:
            bridge: list[Load] = []
            raw: list[Load] = []
            for chunk in rounds(some, ROUNDS):
                bridge.append(drive(chunk, scim_lookup(lookup), pop.scim, clients))
                raw.append(drive(chunk, raw_lookup(lookup), pop.ldap, clients))
            whole_bridge, whole_raw = merged(bridge), merged(raw)
            pop.figures[figure(lookup, clients)] = whole_bridge
            ctx.progress(
                f"lookup {lookup.name}, {clients} client(s): p50 bridge "
                f"{whole_bridge.percentile_ms(0.5):.2f} ms, raw {whole_raw.percentile_ms(0.5):.2f}"
                f" ms; p99 {whole_bridge.percentile_ms(0.99):.1f} / "
                f"{whole_raw.percentile_ms(0.99):.1f} ms"
            )
            measurements += _rows(lookup, clients, bridge, raw)
            details["runs"].append(
                {
                    "lookup": lookup.name,
                    "filter": FILTER_TEXT[lookup.name],
                    "clients": clients,
                    "bridge": whole_bridge.as_json(),
                    "raw": whole_raw.as_json(),
                    "bridge_rounds": [load.as_json() for load in bridge],
                    "raw_rounds": [load.as_json() for load in raw],
                }
            )
    measurements.append(tls_cost(ctx, pop, people, details))
    if ctx.profile:
        details["profile_split"] = profile_split(ctx, pop, people)
    return PhaseResult(measurements, details)


def profile_split(ctx: Context, pop: Populated, people: Sequence[Someone]) -> dict[str, Any]:
    """Profile each lookup with one client (py-spy on the bridge, untimed): time by layer."""
    pid = pop.bridge.pid()
    if pid is None:
        raise BenchError("the bridge is not running: nothing to profile")
    found: dict[str, Any] = {}
    stacks: dict[str, list[str]] = {}
    for lookup in LOOKUPS:
        raw = ctx.workspace.root / f"lookup-{lookup.name}.raw.txt"
        slapd_before = slapd_cpu_s(pop.slapd)
        bridge_pids = ProcessTree(pid).pids()
        bridge_before = server_profile.cpu_s(bridge_pids)
        with server_profile.ServerSpy(pid, raw) as spy:
            load = drive(people, scim_lookup(lookup), pop.scim, clients=1)
        bridge_cpu = server_profile.cpu_s(bridge_pids) - bridge_before
        lines = spy.lines()
        mean_ms = 1000 * sum(load.latencies_s) / load.ops
        split = server_profile.split(lines, spy.wall_s, load.ops, mean_ms)
        split["slapd_cpu_ms_per_request"] = round(
            1000 * (slapd_cpu_s(pop.slapd) - slapd_before) / load.ops, 3
        )
        # The workers' CPU: what the bridge spends, whatever the machine's load (py-spy reads
        # their memory from its own process, so it adds none).
        split["bridge_cpu_ms_per_request"] = round(1000 * bridge_cpu / load.ops, 3)
        split["p50_ms_under_profile"] = round(load.percentile_ms(0.5), 3)
        found[FILTER_TEXT[lookup.name]] = split
        stacks[lookup.name] = lines
        ctx.progress(
            f"lookup profile {lookup.name}: "
            + ", ".join(f"{k} {v} ms" for k, v in split["ms_per_request"].items())
            + f", outside {split['outside_ms']} ms (mean {mean_ms:.2f} ms)"
        )
    out = ctx.results_dir / f"{ctx.stem}-lookup.folded.gz"
    server_profile.keep_folded(stacks, out)
    return {"stacks": out.name, "method": "bench/server_profile.py", "by_lookup": found}


def tls_cost(
    ctx: Context, pop: Populated, people: Sequence[Someone], details: dict[str, Any]
) -> Measurement:
    """Measure raw userName lookups over ldaps against the same over ldapi, one client."""
    lookup = raw_lookup(LOOKUPS[0])
    drive(people[:100], lookup, pop.local_ldap, clients=1)  # warm the socket's path too
    ldaps: list[Load] = []
    ldapi: list[Load] = []
    for chunk in rounds(people, ROUNDS):
        ldaps.append(drive(chunk, lookup, pop.ldap, clients=1))
        ldapi.append(drive(chunk, lookup, pop.local_ldap, clients=1))
    over_tls, local = merged(ldaps), merged(ldapi)
    ctx_line = (
        f"p50 ldaps {over_tls.percentile_ms(0.5):.2f} ms, ldapi {local.percentile_ms(0.5):.2f} ms"
    )
    details["tls"] = {"ldaps": over_tls.as_json(), "ldapi": local.as_json(), "summary": ctx_line}
    return Measurement(
        "lookup",
        "TLS cost: raw lookup userName, 1 client, ldaps vs ldapi: p50",
        Samples(tuple(load.percentile_ms(0.5) for load in ldaps)),
        Samples(tuple(load.percentile_ms(0.5) for load in ldapi)),
        "ldapi",
        unit="ms",
    )


def warm_up(pop: Populated, people: Sequence[Someone]) -> None:
    """Open every gunicorn thread's LDAP connection and fill the token cache, untimed."""
    some = list(people[:200])
    drive(some, scim_lookup(LOOKUPS[0]), pop.scim, clients=8)
    drive(some, raw_lookup(LOOKUPS[0]), pop.ldap, clients=8)


def _rows(lookup: Lookup, clients: int, bridge: list[Load], raw: list[Load]) -> list[Measurement]:
    label = f"lookup {FILTER_TEXT[lookup.name]}, {clients} client{'s' if clients > 1 else ''}"
    rows = []
    for q, name in ((0.5, "p50"), (0.99, "p99")):
        target = TARGET_DELTA_MS if (q == 0.5 and clients == 1) else None
        rows.append(
            Measurement(
                "lookup",
                f"{label}: {name}",
                Samples(tuple(load.percentile_ms(q) for load in bridge)),
                Samples(tuple(load.percentile_ms(q) for load in raw)),
                "ldap3",
                unit="ms",
                max_delta=target,
                extra={
                    "bridge_all_ms": round(merged(bridge).percentile_ms(q), 3),
                    "raw_all_ms": round(merged(raw).percentile_ms(q), 3),
                },
            )
        )
    return rows
