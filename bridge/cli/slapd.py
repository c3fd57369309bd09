"""``mims slapd``: the project's own OpenLDAP server in a data folder."""

from __future__ import annotations

from pathlib import Path

import click

from bridge import services as wiring
from bridge.cli import data_dir_option, load, main

port_option = click.option(
    "--port", type=click.IntRange(1, 65535), help="ldap:// (StartTLS) port (default 1389)."
)
ldaps_port_option = click.option(
    "--ldaps-port", type=click.IntRange(1, 65535), help="ldaps:// port (default 1636)."
)


@main.group()
def slapd() -> None:
    """Run the project's own OpenLDAP server in a data folder.

    \b
    Examples:
      mims slapd init --data-dir /srv/mims
      mims slapd start --data-dir /srv/mims --port 1389 --ldaps-port 1636
      mims slapd status --data-dir /srv/mims
      mims slapd stop --data-dir /srv/mims
    """


@slapd.command("init")
@data_dir_option
@click.pass_context
def slapd_init(ctx: click.Context, data_dir: Path | None) -> None:
    """Create a new directory (config, schema, base tree) in an empty folder.

    \b
    Example:
      mims slapd init --data-dir /srv/mims
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    server = wiring.managed_slapd(config)
    server.init()
    click.echo(f"initialised {server.layout.root} (suffix {config.directory.suffix})")
    click.echo(f"bridge account: {server.service_dn}")
    click.echo(f"its password is in {server.layout.service_secret}")


@slapd.command("start")
@data_dir_option
@port_option
@ldaps_port_option
@click.pass_context
def slapd_start(
    ctx: click.Context, data_dir: Path | None, port: int | None, ldaps_port: int | None
) -> None:
    """Start the managed slapd in the background (initialise the folder first).

    It serves TLS: StartTLS on the ldap:// port, and ldaps://. A simple bind over TCP
    without TLS is refused. Clients trust DATA/tls/ca.pem (LDAPTLS_CACERT).

    \b
    Example:
      mims slapd start --data-dir /srv/mims --port 1389 --ldaps-port 1636
    """
    config = load(ctx, slapd={"data_dir": data_dir, "port": port, "ldaps_port": ldaps_port})
    server = wiring.managed_slapd(config)
    pid = server.start(config.slapd.port, config.slapd.ldaps_port)
    click.echo(
        f"slapd is running (pid {pid}) on {server.ldap_url()} (StartTLS), "
        f"{server.ldaps_url()} and {server.ldapi_url}"
    )
    if server.ca_file:
        click.echo(f"clients trust {server.ca_file} (LDAPTLS_CACERT={server.ca_file})")


@slapd.command("stop")
@data_dir_option
@click.pass_context
def slapd_stop(ctx: click.Context, data_dir: Path | None) -> None:
    """Stop the managed slapd by its PID.

    \b
    Example:
      mims slapd stop --data-dir /srv/mims
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    stopped = wiring.managed_slapd(config).stop()
    click.echo("slapd stopped" if stopped else "slapd was not running")


@slapd.command("status")
@data_dir_option
@click.pass_context
def slapd_status(ctx: click.Context, data_dir: Path | None) -> None:
    """Say whether the managed slapd runs and answers; exit 1 when it does not.

    \b
    Example:
      mims slapd status --data-dir /srv/mims
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    status = wiring.managed_slapd(config).status()
    if not status.initialised:
        click.echo(f"no directory in {config.slapd.data_dir} (run `mims slapd init`)")
        ctx.exit(1)
    if not status.running:
        click.echo("slapd is not running")
        ctx.exit(1)
    answering = "answering" if status.answering else "NOT answering"
    click.echo(
        f"slapd is running (pid {status.pid}) on {status.ldap_url} (StartTLS), "
        f"{status.ldaps_url or 'no ldaps://'} and {status.ldapi_url}, {answering}"
    )
    ctx.exit(0 if status.answering else 1)
