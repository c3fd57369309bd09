"""Phase "peer": the same lookups, POSTs and walk against scim2-server, at the same N.

scim2-server (PyPI, python-scim's reference server) runs under the same gunicorn with as many
request threads as the bridge (bench.peer_server: one gthread worker, because its store is
the worker's memory). It is seeded with the same people the bridge serves (login ID as
``userName`` and work e-mail, external ID, names), through its ``/Bulk`` endpoint, 1,000 users
a request; the seeding time is reported, not compared (the bridge's is the import phase).

Then, with the same clients and the same people as the bridge phases:

- lookups by ``userName``, ``externalId`` and ``emails[type eq "work"].value``, one client,
  p50. The peer indexes single-valued ``eq`` filters in memory (built on the first search,
  untimed here) and scans every user for ``emails[...]`` (seconds at 100,000), so its e-mail
  lookups run within a time budget;
- the same lookups with 8 clients (the lookup phase's half of those people): throughput;
- the walk of every user in pages of 100 and of 1,000, with its memory. The peer sorts all its
  users again for every page, so a page costs the same anywhere in the walk; a walk that would
  exceed its time budget is cut short and projected from the mean page cost (said in the row);
- then POSTs of new people, 8 clients (last, so that both walks saw the same N).

The bridge's side of each row is its figure from the lookup, write and walk phases of the same
run (so the slow part is not paid twice), or is measured here when those did not run.

Targets (issue 8): p50 lookups no slower than the peer's for ``userName`` and ``externalId``
(ratio <= 1) and at least 100x faster for ``emails[...]`` (<= 0.01); POST rate at least the
peer's (>= 1), and those without a password (no Argon2 in slapd) at least 1.5x (issue 22).
Issue 22: each lookup with 8 clients at least twice the peer's throughput.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench.load import Load, drive, merged
from bench.memory import ProcessTree
from bench.peer_server import PeerServer
from bench.phases import lookup, walk, write
from bench.phases.context import Context, PhaseResult
from bench.population import Populated, Someone
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.workspace import BenchError

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_SIZE = 1000  # the peer's maxOperations
POST_PLAIN_TARGET = 1.5  # issue 22: POSTs without a password, 1.5x the peer's rate
LOOKUP_TARGETS = {"userName": 1.0, "externalId": 1.0, "emails": 0.01}
CONCURRENT_TARGET = 2.0  # issue 22: lookups with 8 clients at least twice the peer's rate
SCAN_BUDGET_S = 15.0  # for lookups the peer answers by scanning every user
WALK_BUDGET_S = 20.0
LABEL = "scim2-server"


def run(ctx: Context) -> PhaseResult:
    """Seed the peer with the bridge's people, then compare lookups, POSTs and walks."""
    pop = ctx.population.ready(ctx)
    settings = pop.bridge.settings
    peer = PeerServer(
        ctx.workspace.root / "peer",
        workers=settings["workers"],
        threads=settings["threads"],
        progress=ctx.progress,
    )
    ctx.workspace.on_close(peer.stop)
    peer.start()
    try:
        return _compare(ctx, pop, peer)
    finally:
        peer.stop()


def _compare(ctx: Context, pop: Populated, peer: PeerServer) -> PhaseResult:
    details: dict[str, Any] = {
        "server": f"scim2-server under gunicorn, 1 gthread worker x {peer.threads} threads",
        "start_s": round(peer.start_seconds or 0, 2),
    }
    details["seed"] = _seed(ctx, pop, peer)

    def client() -> ScimClient:
        return ScimClient(peer.base_url, peer.headers)

    rows: list[Measurement] = []
    people = lookup.chosen(pop)
    _index(client, people[0])
    details["lookups"] = []
    for kind in lookup.LOOKUPS:
        ours: Load = pop.remember(
            lookup.figure(kind, 1), partial(drive, people, lookup.scim_lookup(kind), pop.scim)
        )
        budget = SCAN_BUDGET_S if kind.name == "emails" else None
        theirs = drive(people, lookup.scim_lookup(kind), client, budget_s=budget)
        ctx.progress(
            f"peer: lookup {kind.name}: p50 bridge {ours.percentile_ms(0.5):.2f} ms, "
            f"peer {theirs.percentile_ms(0.5):.2f} ms ({theirs.ops} lookups)"
        )
        details["lookups"].append(
            {"lookup": kind.name, "bridge": ours.as_json(), "peer": theirs.as_json()}
        )
        rows.append(
            Measurement(
                "peer",
                f"peer: lookup {lookup.FILTER_TEXT[kind.name]}, 1 client: p50",
                Samples((ours.percentile_ms(0.5),)),
                Samples((theirs.percentile_ms(0.5),)),
                LABEL,
                unit="ms",
                max_ratio=LOOKUP_TARGETS[kind.name],
                extra={"bridge_lookups": ours.ops, "peer_lookups": theirs.ops},
            )
        )

    rows += _concurrent_lookups(ctx, pop, client, people, details)

    details["walks"] = []
    tree = ProcessTree(peer.pid())
    for size in walk.SIZES:
        ours_walk = pop.remember(walk.figure(size), partial(walk.bridge_walk, ctx, pop, size))
        theirs_walk = walk.walk_server(ctx, "peer", client(), tree.rss_mb, size, WALK_BUDGET_S)
        details["walks"].append({"page_size": size, "bridge": ours_walk, "peer": theirs_walk})
        projected = (
            ""
            if theirs_walk["complete"]
            else f" (peer projected from {theirs_walk['pages']} pages)"
        )
        rows.append(
            Measurement(
                "peer",
                f"peer: walk all {theirs_walk['users']:,} users, pages of {size:,}{projected}",
                Samples((ours_walk["total_s"],)),
                Samples((theirs_walk["total_s"],)),
                LABEL,
            )
        )
        rows.append(
            Measurement(
                "peer",
                f"peer: walk, pages of {size:,}: RSS growth",
                Samples((max(ours_walk["rss_growth_mb"], 0.1),)),
                Samples((max(theirs_walk["rss_growth_mb"], 0.1),)),
                LABEL,
                unit="MB",
                extra={
                    "bridge_rss_at_rest_mb": ours_walk["rss_at_rest_mb"],
                    "peer_rss_at_rest_mb": theirs_walk["rss_at_rest_mb"],
                },
            )
        )

    ours_post: Load = pop.remember(write.FIGURE, lambda: write.bridge_posts(pop))
    ours_plain: Load = pop.figures[write.FIGURE_PLAIN]
    posts = write.new_people(pop, "peer_post", write.operations(len(pop.people)))
    plain = [one for one in posts if "password" not in one.body]
    theirs_plain = drive(plain, write.post_one, client, write.CLIENTS)
    rest = [one for one in posts if "password" in one.body]
    theirs_post = merged([theirs_plain, drive(rest, write.post_one, client, write.CLIENTS)])
    ctx.progress(f"peer: POST bridge {ours_post.rate:.0f}/s, peer {theirs_post.rate:.0f}/s")
    details["post"] = {"bridge": ours_post.as_json(), "peer": theirs_post.as_json()}
    details["post_without_password"] = {
        "bridge": ours_plain.as_json(),
        "peer": theirs_plain.as_json(),
    }
    rows.append(
        Measurement(
            "peer",
            f"peer: SCIM POST /Users, {write.CLIENTS} clients",
            Samples((ours_post.rate,)),
            Samples((theirs_post.rate,)),
            LABEL,
            unit="/s",
            min_ratio=1.0,
        )
    )
    rows.append(
        Measurement(
            "peer",
            f"peer: SCIM POST /Users without a password, {write.CLIENTS} clients",
            Samples((ours_plain.rate,)),
            Samples((theirs_plain.rate,)),
            LABEL,
            unit="/s",
            min_ratio=POST_PLAIN_TARGET,
        )
    )
    return PhaseResult(rows, details)


def _concurrent_lookups(
    ctx: Context,
    pop: Populated,
    client: Callable[[], ScimClient],
    people: list[Someone],
    details: dict[str, Any],
) -> list[Measurement]:
    """Compare lookup throughput with 8 clients (issue 22: at least 2x the peer's)."""
    clients = max(lookup.CONCURRENCY)
    some = people[: round(len(people) * lookup.SHARE[clients])]
    rows = []
    details["concurrent_lookups"] = []
    for kind in lookup.LOOKUPS:
        ours: Load = pop.remember(
            lookup.figure(kind, clients),
            partial(drive, some, lookup.scim_lookup(kind), pop.scim, clients),
        )
        budget = SCAN_BUDGET_S if kind.name == "emails" else None
        theirs = drive(some, lookup.scim_lookup(kind), client, clients, budget_s=budget)
        ctx.progress(
            f"peer: lookup {kind.name}, {clients} clients: bridge {ours.rate:,.0f}/s, "
            f"peer {theirs.rate:,.0f}/s"
        )
        details["concurrent_lookups"].append(
            {"lookup": kind.name, "bridge": ours.as_json(), "peer": theirs.as_json()}
        )
        rows.append(
            Measurement(
                "peer",
                f"peer: lookup {lookup.FILTER_TEXT[kind.name]}, {clients} clients: throughput",
                Samples((ours.rate,)),
                Samples((theirs.rate,)),
                LABEL,
                unit="/s",
                min_ratio=CONCURRENT_TARGET,
            )
        )
    return rows


def _seed(ctx: Context, pop: Populated, peer: PeerServer) -> dict[str, Any]:
    """Give the peer the bridge's people by Bulk POSTs; return how long it took."""
    names = _names(ctx.workspace.root / "roster.csv")
    documents = [_user(person, names.get(person.external_id)) for person in pop.people]
    client = ScimClient(peer.base_url, peer.headers)
    began = last_said = time.monotonic()
    try:
        for first in range(0, len(documents), BULK_SIZE):
            batch = documents[first : first + BULK_SIZE]
            operations = [
                {"method": "POST", "path": "/Users", "bulkId": f"u{first + i}", "data": doc}
                for i, doc in enumerate(batch)
            ]
            done = client.post("/Bulk", {"schemas": [BULK], "Operations": operations})
            failed = [
                op for op in done.expect(200)["Operations"] if not str(op["status"]).startswith("2")
            ]
            if failed:
                raise BenchError(f"the peer refused {len(failed)} users, e.g. {failed[0]}")
            if time.monotonic() - last_said > 15:
                ctx.progress(f"peer: seeded {first + len(batch):,}/{len(documents):,} users")
                last_said = time.monotonic()
    finally:
        client.close()
    seconds = time.monotonic() - began
    ctx.progress(
        f"peer: seeded {len(documents):,} users in {seconds:.1f} s "
        f"({len(documents) / seconds:,.0f}/s, Bulk of {BULK_SIZE:,})"
    )
    return {"users": len(documents), "seconds": round(seconds, 1), "bulk_size": BULK_SIZE}


def _names(roster: Path) -> dict[str, dict[str, str]]:
    """Return the roster's names by external ID."""
    with roster.open(newline="", encoding="utf-8") as handle:
        return {row["external_id"]: row for row in csv.DictReader(handle)}


def _user(person: Someone, row: dict[str, str] | None) -> dict[str, Any]:
    """Return the peer's User for a person: the attributes the bridge also serves."""
    full = (row or {}).get("full_name") or person.login_id.partition("@")[0]
    name = {"formatted": full}
    for key, column in (("givenName", "given_name"), ("familyName", "family_name")):
        if row and row.get(column):
            name[key] = row[column]
    return {
        "schemas": [USER],
        "userName": person.login_id,
        "externalId": person.external_id,
        "name": name,
        "displayName": full,
        "emails": [{"type": "work", "value": person.login_id, "primary": True}],
        "active": True,
    }


def _index(client: Callable[[], ScimClient], person: Someone) -> None:
    """Have the peer build its in-memory indexes (on the first eq search of each), untimed."""
    peer = client()
    try:
        for kind in lookup.LOOKUPS[:2]:
            peer.get("/Users", {"filter": kind.scim(person)}).expect(200)
    finally:
        peer.close()
