"""One record at several sizes, the rows comparing them, and the README's table made from a record.

How fast anything is never is a test's business: these check the bookkeeping on made-up rows.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import scale
from bench.report import Measurement, Samples

ROOT = Path(__file__).resolve().parent.parent
TABLE = [sys.executable, str(ROOT / "bench" / "table")]


@pytest.mark.parametrize(
    ("given", "sizes"),
    [
        ("500000", [100_000, 500_000]),  # one large size is also measured at the reference
        ("100000", [100_000]),
        ("10000", [10_000]),  # a quick check stays one size
        ("20000,5000", [5_000, 20_000]),
        ("3000,1500,3000", [1_500, 3_000]),
    ],
)
def test_people_names_the_sizes_of_one_record_smallest_first(given: str, sizes: list[int]) -> None:
    assert scale.sizes(given) == sizes


def rows_at(people: int, lookup_ms: float, post_per_s: float) -> list[Measurement]:
    def row(phase: str, operation: str, value: float, unit: str, **extra: int) -> Measurement:
        return Measurement(
            phase, operation, Samples((value,)), Samples((1.0,)), "raw", unit, extra=extra
        )

    return [
        row("import", f"import {people:,} people", people / 100, "s"),
        row("lookup", 'lookup userName eq "X", 1 client: p50', lookup_ms, "ms"),
        row("lookup", 'lookup userName eq "X", 1 client: p99', 9 * lookup_ms, "ms"),
        row("lookup", "TLS cost: raw lookup userName, 1 client, ldaps vs ldapi: p50", 1.0, "ms"),
        row(
            "walk",
            f"walk all {people:,} users, {people // 100:,} pages of 100",
            people / 1000,
            "s",
            users=people,
        ),
        row(
            "walk",
            f"walk all {people:,} users, {people // 1000:,} pages of 1,000",
            people / 500,
            "s",
            users=people,
        ),
        row("walk", "walk, pages of 100: bridge RSS peak vs at rest", 200.0, "MB"),
        row("write", "SCIM POST /Users, 8 clients", post_per_s, "/s"),
    ]


def record_at(
    people: int, rows: list[Measurement], digest: str, **more: Any
) -> tuple[dict[str, Any], list[Measurement]]:
    """Return a one-size record as bench/run makes it, with its rows."""
    machine = {"load_average_start": [people], "source_digest_start": digest}
    results = [m.as_json() for m in rows]
    document = {"settings": {"people": people}, "machine": machine, "results": results}
    return {**document, "table": f"table {people}", "phases": {"lookup": {}}, **more}, rows


def test_the_largest_size_is_held_within_ten_percent_of_the_smallest_figure_by_figure() -> None:
    small = rows_at(1_000, lookup_ms=2.0, post_per_s=100.0)
    large = rows_at(5_000, lookup_ms=2.4, post_per_s=95.0)
    record, shown = scale.combined(
        [record_at(1_000, small, "a"), record_at(5_000, large, "b", footprint={"people": 5_000})]
    )
    compared = [row for row in record["results"] if row["phase"] == "scale"]
    # Neither the import (it grows with the people), nor a p99, nor memory is compared.
    assert [(row["operation"].split(":")[0], row["target"], row["met"]) for row in compared] == [
        ('lookup userName eq "X", 1 client', "<= 1.1x", False),  # 2.4 ms against 2.0: 1.2x
        ("TLS cost", "-", None),  # its "bridge" is raw ldaps: informative
        ("walk all 5,000 users, 50 pages of 100, per 1,000 users", "<= 1.1x", True),
        ("walk all 5,000 users, 5 pages of 1,000, per 1,000 users", "<= 1.1x", True),
        ("SCIM POST /Users, 8 clients", ">= 0.909x", True),  # 95/s against 100/s
    ]
    assert compared[2]["bridge"]["median"] == compared[2]["raw"]["median"] == 1000.0  # ms per 1,000
    assert all(row["people"] == 5_000 and row["compared_with"] == 1_000 for row in compared)
    # Every size's rows say their size; the largest's details stand where one size keeps them.
    assert [row["people"] for row in record["results"] if row["phase"] == "import"] == [
        1_000,
        5_000,
    ]
    assert record["settings"] == {"people": 5_000, "sizes": [1_000, 5_000]}
    assert record["machine"] == {"load_average_start": [1_000], "source_digest_start": "a"}
    assert [one["people"] for one in record["sizes"]] == [1_000, 5_000]
    assert record["footprint"] == record["sizes"][1]["footprint"] == {"people": 5_000}
    assert shown.startswith("5,000 against 1,000 people:\n\n| operation ")
    assert record["table"].startswith(
        "1,000 people:\n\ntable 1000\n\n5,000 people:\n\ntable 5000\n\n5,000 against"
    )


def test_the_readme_table_is_what_bench_table_prints_from_the_record_it_names() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"<!-- bench/table (\S+) -->\n(.*)\n<!-- end of bench/table -->", readme, re.S
    )
    assert block, "README.md has lost its bench/table block"
    printed = subprocess.run(
        [*TABLE, block[1]], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.rstrip("\n") == block[2], (
        "regenerate: bench/table --readme README.md FILE"
    )
    assert json.loads((ROOT / block[1]).read_text())["results"]  # a committed record


def test_bench_table_rewrites_the_readme_block_and_refuses_a_file_that_is_no_record(
    tmp_path: Path,
) -> None:
    record = tmp_path / "record.json"
    row = Measurement(
        "write", "SCIM POST", Samples((40.0,)), Samples((100.0,)), "add", "/s", min_ratio=0.5
    )
    informative = Measurement("write", "PATCH", Samples((1.0,)), Samples((2.0,)), "modify", "/s")
    record.write_text(
        json.dumps(
            {
                "started": "2026-12-06T01:00:00+00:00",
                "settings": {"people": 10},
                "results": [row.as_json(), informative.as_json()],
            }
        )
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n<!-- bench/table old.json -->\n| old |\n<!-- end of bench/table -->\nrest\n"
    )
    done = subprocess.run(
        [*TABLE, "--readme", str(readme), str(record)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    text = readme.read_text()
    assert f"<!-- bench/table {record} -->\n| operation " in text and text.endswith("-->\nrest\n")
    assert "| SCIM POST " in text and "PATCH" not in text and "| old |" not in text

    record.write_text('{"results": []}')
    refused = subprocess.run([*TABLE, str(record)], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"bench/table: {record}: not a record of bench/run (KeyError: 'settings')"
    ]
