"""The synthetic roster (`mims demo`) and `mims import` of it: shared by the import phase and the
populated directory the SCIM and SSPR phases use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.workspace import BenchError, Run, slapd_cpu_s, slapd_rss_mb
from bridge.directory.slapd import ManagedSlapd

if TYPE_CHECKING:
    from bench.phases.context import Context

_SUMMARY = re.compile(
    r"(?P<total>\d+) rows: (?P<created>\d+) created, (?P<updated>\d+) updated, "
    r"(?P<unchanged>\d+) unchanged, (?P<rejected>\d+) rejected"
)


@dataclass(frozen=True)
class Imported:
    """One `mims import`: its run, its summary line, and what its slapd spent meanwhile."""

    run: Run
    summary: dict[str, int]
    slapd: dict[str, float]


def roster(ctx: Context) -> tuple[Path, Run | None]:
    """Return the run's roster of ``ctx.people`` (written by `mims demo` the first time)."""
    ws = ctx.workspace
    path = ws.root / "roster.csv"
    if path.exists():
        return path, None
    ctx.progress(f"writing a roster of {ctx.people:,} people (mims demo)")
    command = ctx.mims("demo", "--people", str(ctx.people), "--out", str(path))
    return path, ws.check(ws.run(command, ws.root / "demo.log"), "mims demo")


def mims_import(ctx: Context, path: Path, target: ManagedSlapd) -> Imported:
    """Run `mims import` of a roster into a running slapd, as a user would; relay progress."""
    ws = ctx.workspace
    command = ctx.mims("import", str(path), "--workers", str(ctx.workers))
    before = slapd_cpu_s(target)
    run = ws.run(
        command,
        ws.root / f"{target.layout.root.name}-import.log",
        env=ctx.bridge_env(target.layout.root),
        relay=lambda line: ctx.progress(f"  | {line}") if line.startswith("imported") else None,
    )
    slapd = {"cpu_s": round(slapd_cpu_s(target) - before, 3), "rss_mb": slapd_rss_mb(target)}
    match = _SUMMARY.search(run.log.read_text(errors="replace"))
    # Exit 1 with a summary means rows were rejected: recorded, not fatal.
    if match is None or run.returncode not in (0, 1):
        raise BenchError(f"mims import failed (exit {run.returncode}): see {run.log}")
    return Imported(run, {k: int(v) for k, v in match.groupdict().items()}, slapd)


def mims_import_initial(ctx: Context, path: Path, target: ManagedSlapd) -> Imported:
    """Run `mims import --initial` of a roster into a new, running slapd; relay progress."""
    ws = ctx.workspace
    run = ws.run(
        ctx.mims("import", "--initial", str(path)),
        ws.root / f"{target.layout.root.name}-import.log",
        env=ctx.bridge_env(target.layout.root),
        relay=lambda line: (
            ctx.progress(f"  | {line}") if line.startswith(("prepared", "loaded")) else None
        ),
    )
    match = _SUMMARY.search(run.log.read_text(errors="replace"))
    if match is None or run.returncode != 0:
        raise BenchError(f"mims import --initial failed (exit {run.returncode}): see {run.log}")
    return Imported(run, {k: int(v) for k, v in match.groupdict().items()}, {})
