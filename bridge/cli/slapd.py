"""``mims slapd``: the project's own OpenLDAP server in a data folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bridge import services as wiring
from bridge.cli import data_dir_option, load
from bridge.services import PeerConfig, PeerLag

port_option = click.option(
    "--port", type=click.IntRange(1, 65535), help="ldap:// (StartTLS) port (default 1389)."
)
ldaps_port_option = click.option(
    "--ldaps-port", type=click.IntRange(1, 65535), help="ldaps:// port (default 1636)."
)


@click.group()
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
    before = server.schema_version() if server.is_initialised() else None
    pid = server.start(config.slapd.port, config.slapd.ldaps_port)
    if before is not None and before != server.schema_version() and wiring.has_replicas(server):
        click.echo(
            f"upgraded this folder to schema version {server.schema_version()}; its replicas "
            f"keep their own cn=config: run `mims slapd upgrade --all --data-dir "
            f"{server.layout.root}`",
            err=True,
        )
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
@click.option(
    "--read-only",
    "--consumer",
    "read_only",
    is_flag=True,
    help="Make a read-only consumer (for read scaling) instead of a second provider.",
)
@click.pass_context
def slapd_init_replica(
    ctx: click.Context,
    data_dir: Path | None,
    from_url: str,
    from_data_dir: Path,
    port: int | None,
    ldaps_port: int | None,
    read_only: bool,
) -> None:
    """Make and start a second provider that replicates both ways with the first.

    The new folder (--data-dir, empty) gets the first's data, schema, overlays, policies,
    ACLs and CA (one ca.pem trusts both), serverID 2 and a syncrepl over ldaps:// from the
    first; the first gets serverID 1 and a syncrepl from the new one (multi-provider).
    Both use the account cn=replicator,ou=services; its password is in replication.secret
    in each folder. Send all writes to one provider at a time (docs/high-availability.md).

    With --read-only (or --consumer) the new folder is a consumer: it pulls the first's
    changes the same way and refuses writes with a referral to the first. A provider may
    have any number of consumers, before or after its second provider.

    \b
    Examples:
      mims slapd init-replica --from ldaps://127.0.0.1:1636 --from-data-dir /srv/mims \
        --data-dir /srv/mims2 --port 2389 --ldaps-port 2636
      mims slapd init-replica --read-only --from ldaps://127.0.0.1:1636 \
        --from-data-dir /srv/mims --data-dir /srv/mims-r1 --port 3389 --ldaps-port 3636
    """
    config = load(ctx, slapd={"data_dir": data_dir, "port": port, "ldaps_port": ldaps_port})
    first = wiring.managed_slapd(config.with_overrides(slapd={"data_dir": from_data_dir}))
    second = wiring.managed_slapd(config)
    wiring.init_replica(
        first, second, from_url, config.slapd.port, config.slapd.ldaps_port, read_only=read_only
    )
    kind = "read-only consumer" if read_only else "second provider"
    how = "pulling from" if read_only else "replicating with"
    click.echo(f"{kind} {second.layout.root} is running on {second.ldaps_url()}, {how} {from_url}")


@slapd.command("upgrade")
@data_dir_option
@click.option(
    "--all",
    "every_server",
    is_flag=True,
    help="Also every server this folder replicates with (those on this machine, over ldapi).",
)
@click.option(
    "--config-only",
    is_flag=True,
    help="Change cn=config alone, not the entries (a replica, before its provider's upgrade).",
)
@click.pass_context
def slapd_upgrade(
    ctx: click.Context, data_dir: Path | None, every_server: bool, config_only: bool
) -> None:
    """Apply this mims-bridge's cn=config (schema, overlays, indexes, ACLs) to a running slapd.

    Each server's cn=config is its own: entries replicate, schemas and access rules do not.
    With --all, run on the write target's folder: every other server's cn=config first, then
    this folder's (and its entries, which then replicate), then each other folder's version.
    A server on another machine is named with what to run there (exit 1).

    \b
    Examples:
      mims slapd upgrade --data-dir /srv/mims
      mims slapd upgrade --all --data-dir /srv/mims
    """
    if every_server and config_only:
        raise click.UsageError("--all applies cn=config and entries; leave out --config-only")
    config = load(ctx, slapd={"data_dir": data_dir})
    server = wiring.managed_slapd(config)
    done = wiring.upgrade_directory(server, every_server, config_only, click.echo)
    ctx.exit(0 if done else 1)


@slapd.command("status")
@data_dir_option
@click.option(
    "--peer",
    "peers",
    multiple=True,
    help="Another server's ldaps:// URL to compare with (repeatable; default: the folder's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object, for scripts.")
@click.pass_context
def slapd_status(
    ctx: click.Context, data_dir: Path | None, peers: tuple[str, ...], as_json: bool
) -> None:
    """Say whether the managed slapd runs and answers; exit 1 when it or a peer does not.

    It shows the directory's contextCSN (the newest change of each serverID) and, for each
    peer (--peer, or the servers init-replica recorded in the folder), the peer's and how far
    behind it is: the difference of the newest change times, serverID by serverID.

    \b
    Examples:
      mims slapd status --data-dir /srv/mims
      mims slapd status --data-dir /srv/mims --peer ldaps://127.0.0.1:2636
      mims slapd status --data-dir /srv/mims --json
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    server = wiring.managed_slapd(config)
    status = server.status()
    report: dict[str, Any] = {
        "data_dir": str(server.layout.root),
        "initialised": status.initialised,
        "running": status.running,
        "answering": status.answering,
        "pid": status.pid,
        "urls": [url for url in (status.ldap_url, status.ldaps_url, status.ldapi_url) if url],
    }
    if not (status.initialised and status.answering):
        _say_down(config.slapd.data_dir, report, as_json)
        ctx.exit(1)
    own = wiring.context_csn(server)
    mine = wiring.directory_config(server)
    lags = wiring.replication_lag(server, peers)
    configs = wiring.compare_configs(server, [lag.url for lag in lags])
    report |= {
        "context_csn": own,
        "config": mine.as_json() | {"schema_version": server.schema_version()},
        "peers": [
            lag.as_json() | {"config": c.as_json()} for lag, c in zip(lags, configs, strict=True)
        ],
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(
            f"slapd is running (pid {status.pid}) on {status.ldap_url} (StartTLS), "
            f"{status.ldaps_url or 'no ldaps://'} and {status.ldapi_url}, answering"
        )
        click.echo(f"contextCSN: {' '.join(own) or 'none'}")
        click.echo(
            f"configuration: generation {mine.generation}, schema version "
            f"{server.schema_version()}, accesslog purge {' '.join(mine.accesslog_purge)}"
        )
        for lag, peer_config in zip(lags, configs, strict=True):
            for line in [*_peer_lines(lag), _config_line(lag, peer_config)]:
                click.echo(line)
    healthy = all(lag.reachable for lag in lags) and all(c.same for c in configs)
    ctx.exit(0 if healthy else 1)


def _say_down(data_dir: Path, report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report, indent=2))
    elif not report["initialised"]:
        click.echo(f"no directory in {data_dir} (run `mims slapd init`)")
    elif not report["running"]:
        click.echo("slapd is not running")
    else:
        click.echo(f"slapd is running (pid {report['pid']}) but NOT answering")


def _peer_lines(lag: PeerLag) -> list[str]:
    """Return what status says of one peer: its contextCSN, then how far behind it is."""
    name = f"peer {lag.url} ({lag.role})"
    if not lag.reachable:
        return [f"{name}: NOT readable: {lag.error}"]
    if lag.in_step:
        verdict = "in step"
    elif lag.lag_seconds is None:
        verdict = "NOT in step"
    else:
        verdict = f"NOT in step, {lag.lag_seconds:.3f} s apart"
    gaps = []
    for one in lag.servers:
        if one.behind_seconds is None:
            where = "here" if one.ours is None else "on the peer"
            gaps.append(f"serverID {one.server_id}: no change {where}")
        elif one.behind_seconds == 0:
            gaps.append(f"serverID {one.server_id}: in step")
        elif one.behind_seconds > 0:
            gaps.append(f"serverID {one.server_id}: peer {one.behind_seconds:.3f} s behind")
        else:
            gaps.append(f"serverID {one.server_id}: peer {-one.behind_seconds:.3f} s ahead")
    return [
        f"{name} contextCSN: {' '.join(lag.context_csn) or 'none'}",
        f"{name}: {verdict} ({'; '.join(gaps) or 'no changes yet'})",
    ]


def _config_line(lag: PeerLag, peer: PeerConfig) -> str:
    """Return what status says of a peer's cn=config: the same as this server's, or not."""
    name = f"peer {lag.url} ({lag.role}) configuration"
    if peer.config is None:
        return f"{name}: NOT readable: {peer.error}"
    version = f", schema version {peer.schema_version}" if peer.schema_version else ""
    verdict = (
        "the same as this server's"
        if peer.same
        else "DIFFERS from this server's: run `mims slapd upgrade --all` on the write target"
    )
    return f"{name}: generation {peer.config.generation}{version}, {verdict}"
