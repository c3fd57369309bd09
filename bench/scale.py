"""The sizes one record measures, and the rows that compare the largest size with the smallest.

Issue 22: `bench/run --people 500000` measures every phase at 500,000 people and at 100,000 (the
size of the earlier records) in one run, and holds lookups, walks and writes at the larger size
within 10% of the smaller. A single size up to 100,000 stays one size, so quick checks stay
quick; a comma-separated list names the sizes outright.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

from bench.report import Measurement, Samples, table

REFERENCE = 100_000  # a single larger size is measured against this one as well
COMPARED = ("lookup", "walk", "write")  # the phases whose figures should not grow with size
MAX_RATIO = 1.1  # "within 10%": at most 1.1x the time, at least 1/1.1 of the rate
PER_USERS = 1000  # a walk's total grows with the people: compared per 1,000 users walked
# Rows whose "bridge" side is not the bridge: raw ldaps against ldapi, in the lookup phase.
NOT_THE_BRIDGE = ("TLS cost",)
_NUMBER = re.compile(r"\d[\d,]*")


def sizes(text: str) -> list[int]:
    """Return the sizes ``--people`` names, smallest first (argparse's ``type``)."""
    try:
        given = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or a list of numbers: {text!r}") from None
    if not given or min(given) < 1:
        raise argparse.ArgumentTypeError("each size must be at least 1")
    if len(given) == 1 and given[0] > REFERENCE:
        given.append(REFERENCE)
    return sorted(set(given))


def rows(
    small: int, small_rows: Sequence[Measurement], large: int, large_rows: Sequence[Measurement]
) -> list[Measurement]:
    """Return a row per figure of COMPARED phases: the bridge at ``large`` against ``small``.

    Rows are paired by phase and operation with the numbers left out ("walk all 1,500 users"
    and "walk all 3,000 users" are the same walk), in the order the phase made them. p99 and
    memory rows are left out: a tail on two shared cores is noise, and memory has its own
    target (bench.footprint).
    """
    earlier = dict(_keyed(small_rows))
    found = []
    for key, m in _keyed(large_rows):
        before = earlier.get(key)
        if before is None:
            continue
        bridge, then, unit = m.bridge, before.bridge, m.unit
        raw, raw_then = m.raw.median, before.raw.median
        operation = m.operation
        if m.unit == "s":  # a total over everyone: per 1,000 users, in ms
            bridge, then = _per_users(m, m.bridge), _per_users(before, before.bridge)
            raw, raw_then = _per_users(m, m.raw).median, _per_users(before, before.raw).median
            operation, unit = f"{m.operation}, per {PER_USERS:,} users", "ms"
        rate = unit == "/s"
        target = not m.operation.startswith(NOT_THE_BRIDGE)
        found.append(
            Measurement(
                "scale",
                f"{operation}: {large:,} vs {small:,} people",
                bridge,
                then,
                f"at {small:,} people",
                unit=unit,
                max_ratio=MAX_RATIO if target and not rate else None,
                min_ratio=round(1 / MAX_RATIO, 3) if target and rate else None,
                extra={
                    "compared_with": small,
                    "of_phase": m.phase,
                    # The raw side's own change with size: slapd's share of any slowdown.
                    "raw_ratio": round(raw / raw_then, 3) if raw_then else None,
                },
            )
        )
    return found


def _compared(m: Measurement) -> bool:
    if m.phase not in COMPARED or m.unit not in ("ms", "/s", "s"):
        return False
    return not m.operation.endswith("p99") and (m.unit != "s" or "users" in m.extra)


def _keyed(measurements: Sequence[Measurement]) -> list[tuple[tuple[str, str, int], Measurement]]:
    """Return the compared rows, each keyed by phase, operation without numbers, and its turn."""
    seen: dict[tuple[str, str], int] = {}
    keyed = []
    for m in measurements:
        if _compared(m):
            name = (m.phase, _NUMBER.sub("N", m.operation))
            seen[name] = seen.get(name, 0) + 1
            keyed.append(((*name, seen[name]), m))
    return keyed


def _per_users(m: Measurement, samples: Samples) -> Samples:
    users = int(m.extra["users"]) or 1
    return Samples(tuple(1000 * value * PER_USERS / users for value in samples.values))


def combined(
    records: Sequence[tuple[dict[str, Any], list[Measurement]]],
) -> tuple[dict[str, Any], str]:
    """Return one record of several sizes (smallest first) and the scale rows' table, headed.

    It reads as a one-size record of the largest size (its settings, population, phases and
    footprint where they always were), with every size's rows in ``results``, each naming its
    ``people``, then the scale rows; ``sizes`` holds each size's details.
    """
    documents = [document for document, _ in records]
    first, last = documents[0], documents[-1]
    people = [document["settings"]["people"] for document in documents]
    compared = (
        rows(people[0], records[0][1], people[-1], records[-1][1]) if len(records) > 1 else []
    )
    shown = f"{people[-1]:,} against {people[0]:,} people:\n\n{table(compared)}" if compared else ""
    record = {
        **last,
        "settings": {**last["settings"], "sizes": people},
        "machine": {
            **last["machine"],
            "load_average_start": first["machine"]["load_average_start"],
            "source_digest_start": first["machine"]["source_digest_start"],
        },
        "results": [
            {**row, "people": n}
            for n, document in zip(people, documents, strict=True)
            for row in document["results"]
        ]
        + [{**m.as_json(), "people": people[-1]} for m in compared],
        "table": "\n\n".join(
            [f"{n:,} people:\n\n{d['table']}" for n, d in zip(people, documents, strict=True)]
            + ([shown] if shown else [])
        ),
        "sizes": [
            {"people": n}
            | {
                key: document[key]
                for key in ("population", "phases", "footprint", "failed")
                if key in document
            }
            for n, document in zip(people, documents, strict=True)
        ],
    }
    failed = [document["failed"] for document in documents if "failed" in document]
    if failed:
        record["failed"] = failed[0]
    return record, shown
