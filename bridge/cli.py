"""The ``mims`` command for school admins and sysadmins."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from bridge.config import Config, load_config
from bridge.directory import target
from bridge.errors import BridgeError


class _Group(click.Group):
    """A click group whose errors are one clear line on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BridgeError as error:
            raise click.ClickException(str(error)) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as error:
            if os.environ.get("MIMS_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(error).__name__}: {error} (set MIMS_DEBUG=1 to see where)"
            ) from None


pass_config = click.make_pass_decorator(Config)


def _load(ctx: click.Context, **sections: dict[str, Any]) -> Config:
    """Load the configuration once per command, with command-line flags laid over it."""
    config: Config = load_config(ctx.find_root().params.get("config_file"))
    return config.with_overrides(**sections) if sections else config


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="MIMS_CONFIG",
    help="A TOML file laid over config/default.toml (also MIMS_CONFIG).",
)
@click.version_option(package_name="mims-bridge")
def main(config_file: Path | None) -> None:
    """Manage the MIMS identity bridge: its directory, its people, its web service.

    \b
    Examples:
      mims serve                      start slapd and the bridge on the embedded default
      mims slapd status               is the managed directory running?
      mims --config site.toml serve   use your own settings
    """


# -- slapd ----------------------------------------------------------------------------------

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the managed slapd (default: MIMS_DATA_DIR, else ~/.local/share/mims-bridge).",
)
port_option = click.option("--port", type=click.IntRange(1, 65535), help="TCP port (default 1389).")


@main.group()
def slapd() -> None:
    """Run the project's own OpenLDAP server in a data folder.

    \b
    Examples:
      mims slapd init --data-dir /srv/mims
      mims slapd start --data-dir /srv/mims --port 1389
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
    config = _load(ctx, slapd={"data_dir": data_dir})
    server = target.managed_slapd(config)
    server.init()
    click.echo(f"initialised {server.layout.root} (suffix {config.directory.suffix})")
    click.echo(f"bridge account: {server.service_dn}")
    click.echo(f"its password is in {server.layout.service_secret}")


@slapd.command("start")
@data_dir_option
@port_option
@click.pass_context
def slapd_start(ctx: click.Context, data_dir: Path | None, port: int | None) -> None:
    """Start the managed slapd in the background (initialise the folder first).

    \b
    Example:
      mims slapd start --data-dir /srv/mims --port 1389
    """
    config = _load(ctx, slapd={"data_dir": data_dir, "port": port})
    server = target.managed_slapd(config)
    pid = server.start(config.slapd.port)
    click.echo(f"slapd is running (pid {pid}) on {server.ldap_url()} and {server.ldapi_url}")


@slapd.command("stop")
@data_dir_option
@click.pass_context
def slapd_stop(ctx: click.Context, data_dir: Path | None) -> None:
    """Stop the managed slapd by its PID.

    \b
    Example:
      mims slapd stop --data-dir /srv/mims
    """
    config = _load(ctx, slapd={"data_dir": data_dir})
    stopped = target.managed_slapd(config).stop()
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
    config = _load(ctx, slapd={"data_dir": data_dir})
    status = target.managed_slapd(config).status()
    if not status.initialised:
        click.echo(f"no directory in {config.slapd.data_dir} (run `mims slapd init`)")
        ctx.exit(1)
    if not status.running:
        click.echo("slapd is not running")
        ctx.exit(1)
    answering = "answering" if status.answering else "NOT answering"
    click.echo(
        f"slapd is running (pid {status.pid}) on {status.ldap_url} and {status.ldapi_url}, "
        f"{answering}"
    )
    ctx.exit(0 if status.answering else 1)


# -- serve ----------------------------------------------------------------------------------


@main.command()
@data_dir_option
@click.option("--port", type=click.IntRange(1, 65535), help="HTTP port (default 8080).")
@click.option("--host", help="HTTP address to listen on (default 127.0.0.1).")
@click.option(
    "--ldap-port", type=click.IntRange(1, 65535), help="Managed slapd's TCP port (default 1389)."
)
@click.pass_context
def serve(
    ctx: click.Context,
    data_dir: Path | None,
    port: int | None,
    host: str | None,
    ldap_port: int | None,
) -> None:
    """Serve SCIM, the portal and health checks with gunicorn.

    With no MIMS_LDAP_URL it initialises and starts its own slapd in the data folder (the
    embedded default) and stops it again on exit.

    \b
    Examples:
      mims serve
      mims serve --port 8443 --ldap-port 1390 --data-dir /srv/mims
      MIMS_LDAP_URL=ldap://ldap1:389 MIMS_LDAP_BIND_DN=cn=bridge,dc=x \
        MIMS_LDAP_PASSWORD=... mims serve
    """
    from bridge.serve import BridgeServer

    config = _load(
        ctx, slapd={"data_dir": data_dir, "port": ldap_port}, http={"port": port, "host": host}
    )
    started = target.ensure_running(config)
    master = os.getpid()
    try:
        _print_banner(config)
        BridgeServer(config).run()
    finally:
        # gunicorn's workers are forks of this process and leave through here too.
        if started and os.getpid() == master:
            target.managed_slapd(config).stop()
            click.echo("slapd stopped", err=True)


def _print_banner(config: Config) -> None:
    http = config.http
    click.echo(
        f"mims-bridge  http://{http.host}:{http.port}/  (health: /healthz, /readyz)", err=True
    )
    if not config.directory.managed:
        click.echo(
            f"directory    {' '.join(config.directory.urls)} as {config.directory.bind_dn}",
            err=True,
        )
        return
    server = target.managed_slapd(config)
    click.echo(f"directory    {server.ldap_url()}  (data in {server.layout.root})", err=True)
    click.echo(
        f"try          ldapsearch -H {server.ldap_url()} -D {server.service_dn} "
        f"-y {server.layout.service_secret} -b {config.directory.suffix} -LLL dn",
        err=True,
    )
    sys.stderr.flush()


if __name__ == "__main__":  # `python -m bridge.cli`, as the tests run it
    main()
