"""``mims group``: the groups in the directory, and the backfill of their e-mail addresses."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_backend

PROGRESS_SECONDS = 5.0


@click.group("group")
def group() -> None:
    """Look after the groups: schools, levels, classes and the groups SCIM clients make.

    \b
    Examples:
      mims group addresses --dry-run
      mims group addresses
    """


@group.command("addresses")
@data_dir_option
@click.option("--dry-run", is_flag=True, help="Print the addresses groups would get; write none.")
@click.pass_context
def group_addresses(ctx: click.Context, data_dir: Path | None, dry_run: bool) -> None:
    """Give every group that has no e-mail address its address, so GCDS can sync it.

    Groups made by this version get their address when they are made; this is for groups made
    before (a directory upgraded from schema version 1). The address is the group's name as a
    slug in [naming] group_domain, with -2, -3, ... when another entry already has it:
    "Clementi Primary School / P4 / 4A" gets clementi-primary-school-p4-4a@groups.schools.gov.sg.
    A group that has an address keeps it, so running this again changes nothing. Prints one
    line per group (address, then DN), a progress line on stderr every 5 s, and a summary.

    \b
    Examples:
      mims group addresses --dry-run
      mims group addresses > given-addresses.txt
      mims group addresses && mims check gcds
    """
    addresses = open_backend(load(ctx, slapd={"data_dir": data_dir})).group_addresses()
    missing = addresses.missing()
    report = _progress(len(missing), "would be given" if dry_run else "given")
    given = kept = 0
    planned: set[str] = set()
    for done, (entry, name) in enumerate(missing, 1):
        address = addresses.plan(name, planned) if dry_run else addresses.give(entry, name)
        if address is None:
            kept += 1  # another run gave it one meanwhile, or it was deleted
        else:
            given += 1
            click.echo(f"{address}  {entry}")
        report(done)
    click.echo(summary(given, kept, dry_run))


def summary(given: int, kept: int, dry_run: bool) -> str:
    """Return the closing line: how many groups got (or would get) an address."""
    if not given and not kept:
        return "every group has an address already"
    noun = "group" if given == 1 else "groups"
    line = f"{given} {noun} would get an address" if dry_run else f"gave {given} {noun} an address"
    return line + (f"; {kept} had one by then or were deleted meanwhile" if kept else "")


def _progress(total: int, verb: str) -> Callable[[int], None]:
    """Return a reporter that prints how far the work is on stderr, at most every 5 s."""
    started = last = time.monotonic()

    def report(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS and done < total:
            rate = done / max(now - started, 1e-9)
            click.echo(
                f"{done}/{total} groups {verb} an address, {rate:.0f}/s, "
                f"about {(total - done) / rate:.0f} s left",
                err=True,
            )
            last = now

    return report
