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
      mims slapd init-replica --from ldaps://127.0.0.1:1636 --from-data-dir /srv/mims \
        --data-dir /srv/mims2 --port 2389 --ldaps-port 2636
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


@slapd.command("init-replica")
@data_dir_option
@click.option(
    "--from",
    "from_url",
    required=True,
    help="The first provider's ldaps:// URL (it must be running, on this machine).",
)
@click.option(
    "--from-data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The first provider's data folder: its CA, and its ldapi socket for its settings.",
)
@port_option
@ldaps_port_option
@click.pass_context
def slapd_init_replica(
    ctx: click.Context,
    data_dir: Path | None,
    from_url: str,
    from_data_dir: Path,
    port: int | None,
    ldaps_port: int | None,
) -> None:
    """Make and start a second provider that replicates both ways with the first.

    The new folder (--data-dir, empty) gets the first's data, schema, overlays, policies,
    ACLs and CA (one ca.pem trusts both), serverID 2 and delta-syncrepl over ldaps:// from
    the first; the first gets serverID 1 and delta-syncrepl from the new one (multi-provider).
    Both use the account cn=replicator,ou=services; its password is in replication.secret
    in each folder. Send all writes to one provider at a time (docs/high-availability.md).

    \b
    Example:
      mims slapd init-replica --from ldaps://127.0.0.1:1636 --from-data-dir /srv/mims \
        --data-dir /srv/mims2 --port 2389 --ldaps-port 2636
    """
    config = load(ctx, slapd={"data_dir": data_dir, "port": port, "ldaps_port": ldaps_port})
    first = wiring.managed_slapd(config.with_overrides(slapd={"data_dir": from_data_dir}))
    second = wiring.managed_slapd(config)
    wiring.init_replica(first, second, from_url, config.slapd.port, config.slapd.ldaps_port)
    click.echo(
        f"second provider {second.layout.root} is running on {second.ldaps_url()}, "
        f"replicating with {from_url}"
    )


@slapd.command("status")
@data_dir_option
@click.option("--peer", help="Another provider's ldaps:// URL to compare contextCSNs with.")
@click.pass_context
def slapd_status(ctx: click.Context, data_dir: Path | None, peer: str | None) -> None:
    """Say whether the managed slapd runs and answers; exit 1 when it does not.

    It shows the directory's contextCSN (how far its changes go) and, with --peer or when
    the folder has a replication partner (init-replica), the peer's and whether they agree.

    \b
    Examples:
      mims slapd status --data-dir /srv/mims
      mims slapd status --data-dir /srv/mims --peer ldaps://127.0.0.1:2636
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    server = wiring.managed_slapd(config)
    status = server.status()
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
    if not status.answering:
        ctx.exit(1)
    own = wiring.context_csn(server)
    click.echo(f"contextCSN: {' '.join(own) or 'none'}")
    peer = peer or wiring.replication_peer(server)
    if peer:
        theirs = wiring.peer_context_csn(server, peer)
        click.echo(f"peer {peer} contextCSN: {' '.join(theirs) or 'none'}")
        click.echo("in step with the peer" if own == theirs else "NOT in step with the peer")
    ctx.exit(0 if status.answering else 1)
