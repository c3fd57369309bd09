"""Phase "walk": every user through SCIM pages, as sync clients read, against a raw paged search.

One client walks ``GET /Users?startIndex=S&count=C`` from 1 to the end with pages of 100 and
then of 1,000, in the bridge's default order (by login ID, sorted by slapd: what Okta's and
GCDS-style imports get when they send no ``sortBy``), every attribute, as clients ask. The raw
side reads the same entries with the same attributes by a simple paged search (RFC 2696) of
the same page size, bound as the bridge's service account: the cheapest way LDAP offers to read
everyone, unsorted.

Reported: the total time of each walk; the cost of a page at the start, the middle and the end
of the walk (medians of 5 pages), which shows whether a later page costs more than an early
one (issue 5: slapd must not sort everything again for each page); and the bridge's memory
(gunicorn master + workers, sampled every ~100 ms) at its peak during each walk against
its memory at rest just before.

Target (issue 8): the bridge's peak RSS grows by less than 50 MB during a walk.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.memory import PeakSampler, at_rest
from bench.phases import Context, PhaseResult
from bench.population import Populated
from bench.raw_ldap import RawLdap
from bench.report import Measurement, Samples
from bench.scim_client import ScimClient
from bench.workspace import BenchError

SIZES = (100, 1000)
TARGET_RSS_MB = 50.0
WINDOW = 5  # pages per start / middle / end median
PROGRESS_S = 15.0


def scim_walk(
    client: ScimClient, size: int, progress: Callable[[str], None] | None = None
) -> list[float]:
    """Walk every user in pages of ``size``; return each page's seconds. Check the count."""
    seconds: list[float] = []
    start, total, seen = 1, None, 0
    last_said = time.monotonic()
    while total is None or start <= total:
        began = time.perf_counter()
        page = client.get("/Users", {"startIndex": start, "count": size}).expect(200)
        seconds.append(time.perf_counter() - began)
        total = int(page["totalResults"])
        got = len(page.get("Resources", []))
        if got == 0:
            break
        seen += got
        start += got
        if progress and time.monotonic() - last_said > PROGRESS_S:
            progress(f"{seen:,}/{total:,}")
            last_said = time.monotonic()
    if seen != total:
        raise BenchError(f"the walk saw {seen} users but totalResults was {total}")
    return seconds


def raw_walk(raw: RawLdap, size: int) -> tuple[list[float], int]:
    """Read every person by a paged search; return each page's seconds and the entries seen."""
    seconds: list[float] = []
    seen = 0
    pages = raw.pages(size)
    while True:
        began = time.perf_counter()
        try:
            page = next(pages)
        except StopIteration:
            break
        seconds.append(time.perf_counter() - began)
        seen += len(page)
    return seconds, seen


def window_ms(seconds: list[float], where: str) -> float:
    """Return the median page cost in ms of WINDOW pages at the start, middle or end."""
    n = len(seconds)
    first = {"start": 0, "middle": max(0, n // 2 - WINDOW // 2), "end": max(0, n - WINDOW)}[where]
    return 1000 * statistics.median(seconds[first : first + WINDOW])


def run(ctx: Context) -> PhaseResult:
    """Walk with pages of 100 and of 1,000 through the bridge and raw; watch the bridge's RSS."""
    pop = ctx.population.ready(ctx)
    measurements: list[Measurement] = []
    details: dict[str, Any] = {"people": len(pop.people), "walks": []}
    for size in SIZES:
        walk = _walk(ctx, pop, size)
        details["walks"].append(walk)
        pages = walk["bridge"]["pages"]
        n = f"{pages:,} page{'s' if pages > 1 else ''} of {size:,}"
        measurements.append(
            Measurement(
                "walk",
                f"walk all {walk['users']:,} users, {n}",
                Samples((walk["bridge"]["total_s"],)),
                Samples((walk["raw"]["total_s"],)),
                "ldap3 paged",
                extra={"users": walk["users"], "page_size": size},
            )
        )
        if size == SIZES[0]:
            for where in ("start", "middle", "end"):
                measurements.append(
                    Measurement(
                        "walk",
                        f"walk, pages of {size:,}: a page at the {where} (median of {WINDOW})",
                        Samples((walk["bridge"]["page_ms"][where],)),
                        Samples((walk["raw"]["page_ms"][where],)),
                        "ldap3 paged",
                        unit="ms",
                    )
                )
        measurements.append(
            Measurement(
                "walk",
                f"walk, pages of {size:,}: bridge RSS peak vs at rest",
                Samples((walk["rss"]["peak_mb"],)),
                Samples((walk["rss_at_rest_mb"],)),
                "at rest",
                unit="MB",
                max_delta=TARGET_RSS_MB,
                extra={"rss": walk["rss"]},
            )
        )
    return PhaseResult(measurements, details)


def _walk(ctx: Context, pop: Populated, size: int) -> dict[str, Any]:
    rest = at_rest(pop.bridge.rss_mb)
    client = pop.scim()
    ctx.progress(f"walk: pages of {size:,} through the bridge (RSS at rest {rest:.0f} MB)")
    began = time.perf_counter()
    try:
        with PeakSampler(pop.bridge.rss_mb) as sampler:
            bridge = scim_walk(client, size, lambda said: ctx.progress(f"walk: {said}"))
    finally:
        client.close()
    bridge_s = time.perf_counter() - began
    raw_client = pop.ldap()
    began = time.perf_counter()
    try:
        raw, seen = raw_walk(raw_client, size)
    finally:
        raw_client.close()
    raw_s = time.perf_counter() - began
    users = len(pop.people)
    if seen != users:
        raise BenchError(f"the raw walk saw {seen} people, the directory has {users}")
    ctx.progress(
        f"walk: pages of {size:,}: bridge {bridge_s:.1f} s, raw {raw_s:.1f} s; "
        f"RSS {rest:.0f} -> peak {sampler.peak:.0f} MB"
    )
    return {
        "page_size": size,
        "users": users,
        "rss_at_rest_mb": round(rest, 1),
        "rss": sampler.as_json(),
        "bridge": _pages(bridge, bridge_s),
        "raw": _pages(raw, raw_s),
    }


def _pages(seconds: list[float], total_s: float) -> dict[str, Any]:
    return {
        "total_s": round(total_s, 3),
        "pages": len(seconds),
        "first_page_ms": round(1000 * seconds[0], 2),
        "page_ms": {w: round(window_ms(seconds, w), 2) for w in ("start", "middle", "end")},
        "all_pages_ms": [round(1000 * s, 1) for s in seconds],
    }
