"""``bench/table``: the project README's performance table, made from one record of bench/run.

The README shows every row with a target at the record's largest size, and of the rows that
come many to a kind (the bridge's memory per phase, the sizes compared) the one nearest its
target or furthest past it. README.md names the record between two markers, and
tests/test_bench_scale.py checks that the table between them is what this prints for it, so
the README cannot drift from the record: `bench/table --readme README.md RESULT.json` rewrites
it from a new one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.report import Measurement, Samples, table

ROOT = Path(__file__).resolve().parent.parent
SUMMARISED = ("memory", "scale")  # a row per phase, or per figure: the README shows the worst
BEGIN = "<!-- bench/table {} -->"
END = "<!-- end of bench/table -->"
_BLOCK = re.compile(r"<!-- bench/table (\S+) -->\n(?:.*?\n)?<!-- end of bench/table -->", re.S)


class RecordError(Exception):
    """The file is not a record bench/run wrote; the message says what is wrong."""


def readme_table(document: dict[str, Any], name: str) -> str:
    """Return the Markdown table of ``document`` and a line saying where it comes from."""
    try:
        settings, results = document["settings"], document["results"]
        largest = settings["people"]
        sizes = settings.get("sizes", [largest])
        when = datetime.fromisoformat(document["started"]).date().isoformat()
        rows = [
            _measurement(row)
            for row in results
            if row.get("met") is not None and row.get("people", largest) == largest
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise RecordError(f"not a record of bench/run ({type(error).__name__}: {error})") from None
    shown = [m for m in rows if m.phase not in SUMMARISED]
    for phase in SUMMARISED:
        kind = [m for m in rows if m.phase == phase]
        if kind:
            worst = max(kind, key=_strain)
            operation = f"{worst.operation} (worst of {len(kind)})" if len(kind) > 1 else None
            shown.append(replace(worst, operation=operation) if operation else worst)
    cores = document.get("machine", {}).get("cores")
    caption = (
        f"From [{name}]({name}) ({when}, {' and '.join(f'{n:,}' for n in sizes)} people"
        + (f", {cores} cores" if cores else "")
        + "): each row with a target; [bench/README.md](bench/README.md) explains them."
    )
    held = [one["footprint"] for one in document.get("sizes", [document]) if one.get("footprint")]
    if held:
        caption += (
            " slapd "
            + "; ".join(
                f"at {one['people']:,} people: RSS {one['slapd_rss_mb']:,.0f} MB, "
                f"database {one['db_du_mb']:,.0f} MB on disk"
                for one in held
            )
            + "."
        )
    return f"{table(shown, padded=False)}\n\n{caption}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/table",
        description="Print the README's performance table made from a record of bench/run.",
    )
    parser.add_argument("record", type=Path, help="a JSON file of bench/results/")
    parser.add_argument(
        "--readme", type=Path, help="rewrite the table in this file (README.md) instead"
    )
    args = parser.parse_args(argv)
    name = _shown_path(args.record)
    try:
        document = json.loads(args.record.read_text())
        if not isinstance(document, dict):
            raise RecordError("not a record of bench/run (not a JSON object)")
        made = readme_table(document, name)
        if args.readme is None:
            print(made)
            return 0
        text = args.readme.read_text()
        if not _BLOCK.search(text):
            raise RecordError(f"{args.readme} has no {BEGIN.format('FILE')} ... {END} block")
        block = f"{BEGIN.format(name)}\n{made}\n{END}"
        args.readme.write_text(_BLOCK.sub(lambda _: block, text, count=1))
    except (OSError, ValueError, RecordError) as error:
        print(f"bench/table: {args.record}: {_reason(error)}", file=sys.stderr)
        return 1
    return 0


def _measurement(row: dict[str, Any]) -> Measurement:
    """Return a row of a record as the Measurement it was (format 1 has fewer target keys)."""
    return Measurement(
        row["phase"],
        row["operation"],
        Samples(tuple(row["bridge"]["samples"])),
        Samples(tuple(row["raw"]["samples"])),
        row["raw_label"],
        unit=row["unit"],
        max_ratio=row.get("target_max_ratio"),
        min_ratio=row.get("target_min_ratio"),
        max_delta=row.get("target_max_delta"),
        max_value=row.get("target_max_value"),
    )


def _strain(m: Measurement) -> float:
    """Return how near a row is to its target (1: on it; above 1: past it)."""
    if m.max_ratio is not None:
        return m.ratio / m.max_ratio
    if m.min_ratio is not None:
        return m.min_ratio / m.ratio if m.ratio else float("inf")
    if m.max_value is not None:
        return m.bridge.median / m.max_value if m.max_value else float("inf")
    if m.max_delta:
        return m.delta / m.max_delta
    return 0.0


def _shown_path(path: Path) -> str:
    """Return the record's path as the README links it: from the repository's root."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _reason(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON (line {error.lineno})"
    return str(error)
