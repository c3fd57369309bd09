"""``bench/run``: start private slapds, run the phases, print the table, keep the JSON."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import footprint, machine, scale
from bench.phases import OPT_IN, Context, registry
from bench.population import Population
from bench.report import Measurement, table, write_json
from bench.workspace import BenchError, Workspace
from bridge.config import load_config
from bridge.errors import BridgeError

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Below this many people repeats are cheap enough to show the noise; from it on, one run (the
# import alone would take ~5 of the "few minutes" a 10,000-person check may take).
SMALL = 10_000


def parse(argv: list[str]) -> argparse.Namespace:
    phases = list(registry())
    default = [name for name in phases if name not in OPT_IN]
    parser = argparse.ArgumentParser(
        prog="bench/run",
        description=(
            "Measure mims-bridge against the raw directory, side by side in one run, "
            "and report ratios (see bench/README.md)."
        ),
        epilog="Example: bench/run --people 10000 --only import",
    )
    parser.add_argument(
        "--people",
        type=scale.sizes,
        default=scale.sizes("500000"),
        dest="sizes",
        metavar="N[,N]",
        help=f"people, or sizes A,B: every phase runs at each size; one size above "
        f"{scale.REFERENCE} runs at {scale.REFERENCE} too (default: 500000)",
    )
    parser.add_argument(
        "--only",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=default,
        help=f"comma-separated phases to run (default: {','.join(default)}; "
        f"{','.join(OPT_IN)} only when named)",
    )
    parser.add_argument(
        "--workers", type=_positive, default=4, help="mims import --workers (default: 4)"
    )
    parser.add_argument(
        "--repeat",
        type=_positive,
        help=f"times the import phase is measured (default: 3 below {SMALL:,} people, else 1)",
    )
    parser.add_argument(
        "--sync",
        action="store_true",
        help="keep slapd's disk sync on, as production does (default: olcDbNoSync for all sides)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="all",
        choices=("all", "lookups"),
        help="also profile with py-spy, untimed: one more import, and each lookup's split by "
        "layer; `--profile lookups` only the lookups (one more import at 500,000 takes ~30 min)",
    )
    parser.add_argument(
        "--ha-kills",
        type=_positive,
        default=20,
        help="phase ha: kills of the write target for the failover pause (default: 20)",
    )
    parser.add_argument(
        "--ha-down-seconds",
        type=_positive,
        default=60,
        help="phase ha: seconds the second provider is down before its catch-up (default: 60)",
    )
    parser.add_argument(
        "--ha-lag-seconds",
        type=_positive,
        default=20,
        help="phase ha: seconds each side writes at each rate for the lag (default: 20)",
    )
    parser.add_argument(
        "--mixed-clients",
        type=_levels,
        default=(8, 32, 128),
        help="phase mixed: concurrent clients of each level (default: 8,32,128)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp folder (databases, LDIF, logs)"
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="default: bench/results"
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where the temp folder goes (default: the system's temp)"
    )
    args = parser.parse_args(argv)
    if args.only == ["ha"]:  # the ha phase does not depend on the people: once is enough
        args.sizes = args.sizes[-1:]
    args.people = args.sizes[-1]
    for name in args.only:
        if name not in phases:
            parser.error(f"unknown phase {name!r}; choose from {', '.join(phases)}")
    if args.repeat is None:
        args.repeat = 3 if args.people < SMALL else 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _terminate)
    begun = time.monotonic()
    started = datetime.now().astimezone()

    def progress(message: str) -> None:
        print(f"bench {time.monotonic() - begun:6.0f}s  {message}", file=sys.stderr, flush=True)

    suffix = load_config(env={"HOME": str(Path.home())}).directory.suffix
    # The ha phase alone does not depend on --people: its file is <date>-ha.json.
    size = "ha" if args.only == ["ha"] else "-".join(str(n) for n in args.sizes)
    stem = _free_stem(
        args.results_dir, f"{started:%Y-%m-%d}-{size}" + ("-sync" if args.sync else "")
    )
    records: list[tuple[dict[str, Any], list[Measurement]]] = []
    stopped: int | None = None  # the exit status of a size that could not finish
    for people in args.sizes:  # smallest first; each size in a workspace of its own
        if len(args.sizes) > 1:
            print(f"{people:,} people:\n", flush=True)
        one = argparse.Namespace(**{**vars(args), "people": people})
        # The largest size's files (profiles, charts) sit beside the JSON under its name.
        done = _record(
            one,
            argv,
            suffix,
            stem if people == args.people else f"{stem}-at-{people}",
            begun,
            started,
            progress,
        )
        if isinstance(done, int):  # the sizes done before are kept
            if not records:
                return done
            stopped = done
            break
        records.append(done)
        if "failed" in done[0]:
            break
    document = records[0][0]
    if len(args.sizes) > 1:
        document, compared = scale.combined(records)
        if compared:
            print(f"\n{compared}", flush=True)
        if stopped is not None:
            document.setdefault("failed", f"stopped at {people:,} people (exit {stopped})")
    path = write_json(args.results_dir / f"{stem}.json", document)
    progress(f"wrote {path}")
    return stopped or (1 if "failed" in document else 0)


def _record(
    args: argparse.Namespace,
    argv: list[str] | None,
    suffix: str,
    stem: str,
    begun: float,
    started: datetime,
    progress: Callable[[str], None],
) -> tuple[dict[str, Any], list[Measurement]] | int:
    """Run every phase at ``args.people``; return the record and its rows, or an exit status."""
    measurements: list[Measurement] = []
    memory: list[Measurement] = []  # the populated bridge's RSS, a row per phase
    held: dict[str, Any] | None = None  # slapd's RSS and disk at the end
    details: dict[str, Any] = {}
    population: Population | None = None
    try:
        workspace = Workspace(suffix, no_sync=not args.sync, base=args.work_dir, keep=args.keep)
    except OSError as error:
        print(f"bench: cannot make the temp folder: {error}", file=sys.stderr)
        return 1
    progress(
        f"{args.people:,} people, phases {','.join(args.only)}, disk sync "
        f"{'on' if args.sync else 'off'}, {args.repeat} repeat(s), in {workspace.root}"
    )
    failed: str | None = None
    try:
        facts = machine.facts()
        # Other work on the machine skews both sides; the ratios hold better than the times.
        facts["load_average_start"] = [round(x, 2) for x in os.getloadavg()]
        facts["source_digest_start"] = machine.source_digest()
        phases = registry()
        population = Population(workspace)
        for name in args.only:
            context = Context(
                people=args.people,
                workers=args.workers,
                repeat=args.repeat,
                sync=args.sync,
                profile=args.profile is not None,
                profile_import=args.profile == "all",
                workspace=workspace,
                population=population,
                results_dir=args.results_dir,
                stem=stem,
                progress=progress,
                ha_kills=args.ha_kills,
                ha_down_seconds=args.ha_down_seconds,
                ha_lag_seconds=args.ha_lag_seconds,
                mixed_clients=args.mixed_clients,
            )
            phase_begun = time.monotonic()
            try:
                with footprint.PhaseMemory(population) as sampled:
                    result = phases[name](context)
            except Exception as error:  # a failed phase keeps what the earlier ones measured
                traceback.print_exc()
                failed = f"phase {name} failed: {type(error).__name__}: {error}"
                details[name] = {"failed": failed}
                progress(f"{failed}; writing the phases done so far")
                break
            measurements += result.measurements
            details[name] = {**result.details, "wall_s": round(time.monotonic() - phase_begun, 1)}
            progress(f"phase {name} done in {time.monotonic() - phase_begun:.0f} s")
            memory += sampled.rows(name)
        held = footprint.database(population)
        if held is not None:
            progress(footprint.shown(held))
    except (BenchError, BridgeError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        workspace.close()
        if args.keep:
            progress(f"kept {workspace.root} (slapds stopped)")

    facts["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    facts["source_digest_end"] = machine.source_digest()
    if facts["source_digest_end"] != facts["source_digest_start"]:
        progress("WARNING: bridge/, schemas/ or config/ changed during the run: sides may differ")
    measurements += memory
    shown = table(measurements)
    print(shown, flush=True)
    document = {
        "benchmark": "mims-bridge",
        "format": 2,  # 2: rows may carry target_min_ratio or target_max_delta instead
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - begun, 1),
        "command": shlex.join(["bench/run", *(sys.argv[1:] if argv is None else argv)]),
        "settings": {
            "people": args.people,
            "phases": args.only,
            "workers": args.workers,
            "repeat": args.repeat,
            "disk_sync": args.sync,
            "olcDbNoSync": not args.sync,
            "profile": args.profile is not None,
            "profiled": args.profile,
            **(
                {
                    "ha_kills": args.ha_kills,
                    "ha_down_seconds": args.ha_down_seconds,
                    "ha_lag_seconds": args.ha_lag_seconds,
                }
                if "ha" in args.only
                else {}
            ),
            **({"mixed_clients": list(args.mixed_clients)} if "mixed" in args.only else {}),
        },
        "machine": facts,
        "results": [m.as_json() for m in measurements],
        "table": shown,
        "population": population.as_json() if population else None,
        "phases": details,
        "footprint": held,
    }
    if failed:
        document["failed"] = failed
    return document, measurements


def _free_stem(folder: Path, stem: str) -> str:
    """Return ``stem``, or ``stem-2``, ``stem-3``...: a second run the same day keeps the first."""
    n, free = 1, stem
    while (folder / f"{free}.json").exists():
        n += 1
        free = f"{stem}-{n}"
    return free


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _levels(text: str) -> tuple[int, ...]:
    """Parse "8,32,128": positive client counts."""
    return tuple(_positive(part.strip()) for part in text.split(",") if part.strip())


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception, so that every slapd is stopped on the way out."""
    raise KeyboardInterrupt
