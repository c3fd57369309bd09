"""``mims serve``: the bridge under gunicorn, over the configured or the managed directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bridge import services as wiring
from bridge.cli import data_dir_option, load
from bridge.cli.password_service import Beside
from bridge.config import Config, is_loopback
from bridge.metrics import multiprocess
from bridge.web import logs
from bridge.web.certificates import check_certificate
from bridge.web.metrics_access import Access


@click.command()
@data_dir_option
@click.option("--port", type=click.IntRange(1, 65535), help="HTTP port (default 8080).")
@click.option("--host", help="HTTP address to listen on (default 127.0.0.1).")
@click.option(
    "--ldap-port",
    type=click.IntRange(1, 65535),
    help="Managed slapd's ldap:// (StartTLS) port (default 1389).",
)
@click.option(
    "--ldaps-port",
    type=click.IntRange(1, 65535),
    help="Managed slapd's ldaps:// port (default 1636).",
)
@click.option(
    "--password-port",
    type=click.IntRange(0, 65535),
    help="The LDAP password service's ldaps port (default 1637; 0: off).",
)
@click.option(
    "--https",
    is_flag=True,
    help="Serve HTTPS with a certificate from the data folder's own CA (DATA/tls/ca.pem), "
    "unless [http] tls_cert names one.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    data_dir: Path | None,
    port: int | None,
    host: str | None,
    ldap_port: int | None,
    ldaps_port: int | None,
    password_port: int | None,
    https: bool,
) -> None:
    """Serve SCIM, the portal and health checks with gunicorn.

    With no MIMS_LDAP_URL it initialises and starts its own slapd in the data folder (the
    embedded default), restarts it when it dies (giving up on a crash loop), and stops it again
    on exit. The LDAP password service ([password_service], docs/password-change.md) runs
    beside it, in a process of its own, unless its port is 0.

    \b
    Examples:
      mims serve
      mims serve --port 8443 --ldap-port 1390 --ldaps-port 1637 --data-dir /srv/mims
      mims serve --https --host 0.0.0.0 --port 8443
      MIMS_LDAP_URL=ldaps://ldap1:636 MIMS_LDAP_BIND_DN=cn=bridge,dc=x \
        MIMS_LDAP_PASSWORD=... mims serve
    """
    from bridge.serve import BridgeServer

    config = load(
        ctx,
        slapd={"data_dir": data_dir, "port": ldap_port, "ldaps_port": ldaps_port},
        http={"port": port, "host": host},
        password_service={"port": password_port},
    )
    logs.configure(config.log)  # here, before the fork: gunicorn and every worker inherit it
    if config.http.https:
        check_certificate(config.http.tls_cert, config.http.tls_key)
    if config.metrics.enabled:
        Access(config.metrics)  # a bad token file: one line now, not a worker failing to boot
    started = wiring.ensure_running(config)
    if config.metrics.enabled:
        # After the data folder is made (slapd init wants it empty), before anything
        # defines a metric and before gunicorn forks: every worker counts into its own files
        # there, and /metrics sums them (bridge/metrics/multiprocess.py).
        multiprocess.prepare(config.slapd.data_dir)
    local = https and not config.http.https
    if local:
        config = wiring.local_https(config)  # after init: it needs the data folder made
    # Before the workers fork: refuse at once without a portal secret, or make the managed one.
    from bridge.sspr.secret import portal_secret

    portal_secret(config)
    wiring.build(config).passwords.sync_policies()
    master = os.getpid()
    # Only the slapd this command started is supervised, and only in this (the master) process:
    # the workers are forked from it and do not inherit the thread.
    supervisor = wiring.slapd_supervisor(config) if started else None
    beside = Beside(config) if config.password_service.port else None
    try:
        _print_banner(config, local)
        if beside is not None:
            url = beside.start()
            click.echo(f"password     {url}  (ldappasswd, SSSD ldap_chpass_uri)", err=True)
        if supervisor is not None:
            supervisor.start()
        BridgeServer(config).run()
    finally:
        # gunicorn's workers are forks of this process and leave through here too.
        if os.getpid() == master:
            if beside is not None:
                beside.stop()
            if supervisor is not None:
                supervisor.stop()  # first, or it would restart the slapd stopped here
                wiring.managed_slapd(config).stop()
                click.echo("slapd stopped", err=True)


def _print_banner(config: Config, local_https: bool) -> None:
    http = config.http
    scheme = "https" if http.https else "http"
    click.echo(
        f"mims-bridge  {scheme}://{http.host}:{http.port}/  (health: /livez, /readyz)", err=True
    )
    if local_https:
        click.echo(
            f"trust        curl --cacert {wiring.local_ca_file(config)} "
            f"https://{http.host}:{http.port}/readyz",
            err=True,
        )
    if not http.https and not is_loopback(http.host):
        click.echo(
            f"Warning: plain HTTP on {http.host}:{http.port}: passwords cross the network "
            "unencrypted; set [http] tls_cert and tls_key, or serve behind a TLS proxy",
            err=True,
        )
    if not config.directory.managed:
        click.echo(
            f"directory    {' '.join(config.directory.urls)} as {config.directory.bind_dn}",
            err=True,
        )
        return
    server = wiring.managed_slapd(config)
    click.echo(
        f"directory    {server.ldaps_url()}, StartTLS on {server.ldap_url()}  "
        f"(data in {server.layout.root})",
        err=True,
    )
    trust = f"LDAPTLS_CACERT={server.ca_file} " if server.ca_file else ""
    click.echo(
        f"try          {trust}ldapsearch -H {server.ldaps_url()} -D {server.service_dn} "
        f"-y {server.layout.service_secret} -b {config.directory.suffix} -LLL dn",
        err=True,
    )
    sys.stderr.flush()
