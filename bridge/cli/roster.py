"""``mims import`` and ``mims demo``: rosters in and out, at 100,000 people and more."""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from bridge.cli import data_dir_option, load, open_backend
from bridge.cli.files import open_private_text
from bridge.config import Config
from bridge.core import demo as demo_roster
from bridge.core import roster
from bridge.errors import ConfigError, InvalidValue
from bridge.metrics import multiprocess
from bridge.services import naming_rules

if TYPE_CHECKING:
    from bridge.metrics.imports import ImportMetrics


@click.command("import")
@data_dir_option
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected rows here (row number, reason, values).",
)
@click.option(
    "--initial",
    is_flag=True,
    help="First-day load of a new, empty managed directory: offline with slapadd, all or nothing.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="LDAP connections used at once.",
)
@click.pass_context
def import_roster(
    ctx: click.Context,
    data_dir: Path | None,
    csv_file: Path,
    dry_run: bool,
    rejects: Path | None,
    initial: bool,
    workers: int,
) -> None:
    """Create or update people from a roster CSV, keyed by external ID.

    The header names the columns, in any order: external_id, full_name, role (student, staff
    or hq), school, level, class; optional given_name, family_name, email (recovery e-mail),
    login_id. Running the same file twice changes nothing the second time; an import stopped
    at any point finishes when run again. Exit 1 if any row was rejected.

    --initial loads a new managed directory that holds no people and no groups yet, offline:
    the same names, numbers, groups and policies, written with slapadd while slapd is
    stopped (minutes, not hours, for a country's schools), then slapd starts again. All or
    nothing: a rejected row, or a load that fails, leaves the directory as it was.

    \b
    Examples:
      mims demo --people 1000 --out roster.csv && mims import roster.csv
      mims import roster.csv --dry-run
      mims import roster.csv --rejects rejected.csv
      mims slapd init && mims import --initial roster.csv --rejects rejected.csv
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    if initial:
        _import_initial(ctx, config, csv_file, dry_run, rejects)
        return
    rules = naming_rules(config)
    total = _count_rows(csv_file)
    importer = open_backend(config).roster_import(workers=workers, dry_run=dry_run)
    counted = _counted(config, total) if not dry_run else None
    with (
        _open_roster(csv_file) as lines,
        _rejects_writer(rejects) as on_reject,
        _progress(total) as shown,
    ):

        def on_progress(done: int) -> None:
            shown(done)
            if counted is not None:
                counted.progress(done)

        try:
            items = roster.read(lines, rules)
            summary = importer.run(items, on_reject=on_reject, on_progress=on_progress)
        except roster.RosterError as error:
            raise InvalidValue(f"{csv_file}: {error}") from None
        finally:
            multiprocess.leave()  # the progress gauge goes with the import
    if counted is not None:
        counted.finished(summary)
    verb = "would be " if dry_run else ""
    click.echo(
        f"{summary.total} rows: {summary.created} {verb}created, {summary.updated} {verb}updated, "
        f"{summary.unchanged} unchanged, {summary.rejected} rejected"
    )
    if summary.rejected:
        where = f" (see {rejects})" if rejects else " (use --rejects FILE to keep them)"
        click.echo(f"{summary.rejected} rows were rejected{where}", err=True)
        ctx.exit(1)


def _import_initial(
    ctx: click.Context, config: Config, csv_file: Path, dry_run: bool, rejects: Path | None
) -> None:
    """Load the whole roster offline into the empty managed directory, or nothing."""
    if dry_run:
        raise click.UsageError("--initial loads nothing with --dry-run; leave one out")
    if not config.directory.managed:
        raise ConfigError(
            "`mims import --initial` loads the managed slapd offline, but this configuration's "
            "directory is [directory] urls: use `mims import FILE`"
        )
    rules = naming_rules(config)
    total = _count_rows(csv_file)
    importer = open_backend(config).initial_import(on_load=_load_progress())
    with (
        _open_roster(csv_file) as lines,
        _rejects_writer(rejects) as on_reject,
        _progress(total, "prepared") as shown,
    ):
        try:
            summary = importer.run(roster.read(lines, rules), on_reject, shown)
        except roster.RosterError as error:
            raise InvalidValue(f"{csv_file}: {error}") from None
    if summary.rejected:
        where = f" (see {rejects})" if rejects else " (use --rejects FILE to keep them)"
        click.echo(f"{summary.total} rows: {summary.rejected} rejected{where}")
        click.echo(
            "nothing was loaded: an initial load is all or nothing; fix the rows and run again",
            err=True,
        )
        ctx.exit(1)
    click.echo(
        f"{summary.total} rows: {summary.created} created, 0 updated, 0 unchanged, 0 rejected"
    )


def _load_progress() -> Callable[[int, int], None]:
    """Report slapadd's progress, a line every few seconds, with its rate since it began."""
    started: list[float] = []

    def report(done: int, total: int) -> None:
        if not started:
            started.append(time.monotonic())
            return
        rate = done / max(time.monotonic() - started[0], 1e-9)
        click.echo(f"loaded {done}/{total} entries, {rate:.0f} entries/s", err=True)

    return report


@click.command()
@click.option("--people", type=click.IntRange(1, 10_000_000), default=1000, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same file.")
def demo(people: int, out: Path, seed: int) -> None:
    """Write a realistic synthetic roster (Chinese, Malay, Indian, Eurasian names) as CSV.

    \b
    Example:
      mims demo --people 100000 --out roster.csv
    """
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(demo_roster.HEADER)
        writer.writerows(demo_roster.rows(people, seed))
    click.echo(f"wrote {people} people to {out}")


def _counted(config: Config, total: int) -> ImportMetrics | None:
    """Count into the metrics of a `mims serve` on this host (its DATA/metrics), if one runs."""
    if not config.metrics.enabled or not multiprocess.join(config.slapd.data_dir):
        return None
    from bridge.metrics.imports import ImportMetrics

    return ImportMetrics(total)


def _count_rows(path: Path) -> int:
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)


@contextmanager
def _open_roster(path: Path) -> Iterator[TextIO]:
    # surrogateescape: a row with bytes that are not UTF-8 is rejected alone (see roster.read).
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        yield handle


@contextmanager
def _rejects_writer(path: Path | None) -> Iterator[Callable[[roster.Rejected], None]]:
    if path is None:
        yield lambda _: None
        return
    with open_private_text(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "reason", *roster.REQUIRED, *roster.OPTIONAL])
        columns = [*roster.REQUIRED, *roster.OPTIONAL]

        def write(rejected: roster.Rejected) -> None:
            writer.writerow(
                [rejected.number, rejected.reason, *(rejected.values.get(c, "") for c in columns)]
            )

        yield write


@contextmanager
def _progress(total: int, verb: str = "imported") -> Iterator[Callable[[int], None]]:
    """Report progress: a bar with rate and ETA on a terminal, a line every 5 s otherwise."""
    if sys.stderr.isatty():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn("importing" if verb == "imported" else verb),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeRemainingColumn(),
        )
        begun = time.monotonic()
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task("import", total=total, rate="-")

            def advance(done: int) -> None:
                completed = bar.tasks[0].completed + done
                rate = f"{completed / max(time.monotonic() - begun, 1e-9):.0f}"
                bar.update(task, advance=done, rate=rate)

            yield advance
        return
    started = last = time.monotonic()
    done_so_far = 0

    def report(done: int) -> None:
        nonlocal last, done_so_far
        done_so_far += done
        now = time.monotonic()
        if now - last >= 5 or done_so_far >= total:
            rate = done_so_far / max(now - started, 1e-9)
            left = (total - done_so_far) / rate if rate else 0
            click.echo(
                f"{verb} {done_so_far}/{total} rows, {rate:.0f} rows/s, about {left:.0f} s left",
                err=True,
            )
            last = now

    yield report
