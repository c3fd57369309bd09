"""``mims directory``: make an existing OpenLDAP the bridge's directory, and check it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bridge.cli import load
from bridge.errors import InvalidValue
from bridge.services import (
    DEFAULT_DATABASE_DN,
    directory_check,
    directory_config_ldif,
    directory_data_ldif,
)

CONFIG_FILE = "mims-config.ldif"
DATA_FILE = "mims-data.ldif"


@click.group()
def directory() -> None:
    """Use a directory the bridge does not run itself: an existing OpenLDAP 2.5 or 2.6.

    \b
    Examples:
      mims directory export-config --out ldif/
      mims directory check
    """


@directory.command("export-config")
@click.option("--suffix", help="The database's suffix (default: [directory] suffix).")
@click.option(
    "--database-dn",
    default=DEFAULT_DATABASE_DN,
    show_default=True,
    help="The cn=config entry of the database that holds the suffix.",
)
@click.option(
    "--existing-suffix",
    is_flag=True,
    help="The suffix entry exists already: only add the mims class to it.",
)
@click.option(
    "--part",
    type=click.Choice(["config", "data", "both"]),
    default="both",
    show_default=True,
    help="Print only the cn=config part or only the data part.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Write {CONFIG_FILE} and {DATA_FILE} (mode 0600) into this folder instead.",
)
@click.pass_context
def export_config(
    ctx: click.Context,
    suffix: str | None,
    database_dn: str,
    existing_suffix: bool,
    part: str,
    out: Path | None,
) -> None:
    """Print the LDIF that makes an existing OpenLDAP the bridge's directory.

    Two parts, applied by two identities. The cn=config part (modules, the mims schema,
    indexes, access rules, limits, overlays) goes to `ldapmodify -Y EXTERNAL -H ldapi:///`
    as the cn=config administrator. The data part (OUs, password policies, the service
    account with the password of [directory] password) goes to `ldapadd` as the database's
    rootDN. docs/existing-directory.md walks through it.

    \b
    Examples:
      mims directory export-config --out ldif/
      mims directory export-config --part config --database-dn 'olcDatabase={2}mdb,cn=config'
      MIMS_LDAP_PASSWORD=... mims directory export-config --part data --existing-suffix
    """
    config = load(ctx)
    suffix = suffix or config.directory.suffix
    config_text = directory_config_ldif(suffix, database_dn) if part != "data" else ""
    data_text = directory_data_ldif(config, suffix, existing_suffix) if part != "config" else ""
    if out is None:
        click.echo("\n".join(text for text in (config_text, data_text) if text), nl=False)
        return
    written = [(out / CONFIG_FILE, config_text), (out / DATA_FILE, data_text)]
    written = [(path, text) for path, text in written if text]
    for path, _ in written:
        if path.exists():
            raise InvalidValue(f"{path} exists already: remove it or choose another --out folder")
    out.mkdir(parents=True, exist_ok=True)
    for path, text in written:
        _write_private(path, text)
    if config_text:
        click.echo(f"wrote {out / CONFIG_FILE}: apply it as the cn=config administrator:")
        click.echo(f"  ldapmodify -Y EXTERNAL -H ldapi:/// -f {out / CONFIG_FILE}")
    if data_text:
        click.echo(f"wrote {out / DATA_FILE} (it holds the service account's password):")
        click.echo(f"  ldapadd -x -H ldapi:/// -D ROOT_DN -W -f {out / DATA_FILE}")
    click.echo("then run `mims directory check`")


@directory.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Report what the configured directory has, lacks or has otherwise; exit 1 if anything.

    It binds as the bridge ([directory] urls, bind_dn, password, with its TLS settings) and
    prints one line per thing the bridge needs: the connection, the naming context, the
    controls (paged results, sort, VLV, ppolicy, deref, syncrepl...), the schema, the base
    entries and password policies, the ppolicy answer to a bind, and probes that a write
    works and that memberof, unique, sssvlv and refint act on this database (the probe
    groups under ou=groups are removed again).

    \b
    Examples:
      mims directory check
      MIMS_LDAP_URL=ldaps://ldap.school.example mims directory check
    """
    config = load(ctx)
    problems = 0
    for finding in directory_check(config):
        problems += finding.status != "ok"
        click.echo(f"{finding.status:<9} {finding.subject:<16} {finding.detail}")
    if problems:
        noun = "thing is" if problems == 1 else "things are"
        click.echo(f"{problems} {noun} missing or different", err=True)
    ctx.exit(1 if problems else 0)


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (the data part holds a password)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
