"""``mims backup`` and ``mims restore``: the managed directory in one archive, and back."""

from __future__ import annotations

from pathlib import Path

import click

from bridge import services as wiring
from bridge.cli import data_dir_option, load


@click.command("backup")
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Archive to write (default: mims-backup-<suffix>-<UTC time>.tar.gz here). "
    "An existing file is never overwritten.",
)
@click.pass_context
def backup(ctx: click.Context, data_dir: Path | None, out: Path | None) -> None:
    """Copy the managed directory, its cn=config, secrets and TLS files into one archive.

    slapd may keep running: the copy is one consistent read of the database. The archive
    holds password hashes and the service secrets, so it is written readable by you alone
    (mode 0600); keep it as safe as the data folder itself.

    \b
    Examples:
      mims backup
      mims backup --data-dir /srv/mims --out /var/backups/mims/nightly.tar.gz
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    target = out or Path.cwd() / wiring.backup_name(config)
    manifest = wiring.backup(config, target)
    click.echo(
        f"backed up {manifest.people} people, {manifest.groups} groups "
        f"({manifest.entries} entries) to {target}"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
@data_dir_option
@click.pass_context
def restore(ctx: click.Context, archive: Path, data_dir: Path | None) -> None:
    """Load a backup made by `mims backup` into an empty (or new) data folder.

    The folder is then started as any other, with `mims slapd start` (or `mims serve`);
    a backup from an older mims-bridge is upgraded by that start.

    \b
    Examples:
      mims restore mims-backup-moe.edu.sg-20260105T020000Z.tar.gz --data-dir /srv/mims-new
      mims slapd start --data-dir /srv/mims-new
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    manifest = wiring.restore(config, archive)
    root = wiring.managed_slapd(config).layout.root
    click.echo(
        f"restored {manifest.people} people, {manifest.groups} groups "
        f"({manifest.entries} entries, backed up {manifest.created}) into {root}"
    )
    click.echo(f"start it with `mims slapd start --data-dir {root}`", err=True)
