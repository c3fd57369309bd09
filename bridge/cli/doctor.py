"""``mims doctor``: readiness and what else a server needs, one line per check, with a fix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click

from bridge import services as wiring
from bridge.cli import data_dir_option, load
from bridge.config import Config
from bridge.core import doctor as checks
from bridge.core.health import Check
from bridge.errors import BridgeError, ConfigError


@click.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
@click.pass_context
def doctor(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """Check the bridge's directory, sync, certificates, secrets and disk; exit 1 if one fails.

    The checks of /readyz (the write target answers a fresh bind and a search within
    [directory] operation_timeout; each sync target is attached), then: the configuration
    loads; the HTTPS, slapd and password-service certificates and the CA are 30 days or more
    from their end (warn) and not expired (fail); every secret file is 0600; the data
    folder's file system has 10% free (warn) and 2% (fail); a replicating provider and its
    peer are within 60 s (warn). It starts nothing. One line per check:
    VERDICT  NAME  DETAIL  (fix: WHAT TO DO).

    \b
    Examples:
      mims doctor
      mims doctor --json | jq '.checks[] | select(.verdict != "ok")'
    """
    try:
        config = load(ctx, slapd={"data_dir": data_dir})
    except ConfigError as error:
        found = [Check("config", "fail", str(error), "correct the key or variable it names")]
    else:
        source = ctx.find_root().params.get("config_file") or "the defaults"
        found = [Check("config", "ok", f"{source} loads"), *_checks(config)]
    if as_json:
        body = {
            "ok": all(check.ok for check in found),
            "checks": [
                {"name": c.name, "verdict": c.verdict, "detail": c.detail, "fix": c.fix}
                for c in found
            ],
        }
        click.echo(json.dumps(body, indent=2))
    else:
        width = max(len(check.name) for check in found)
        for check in found:
            fix = f"  (fix: {check.fix})" if check.fix and check.verdict != "ok" else ""
            click.echo(f"{check.verdict:<4}  {check.name:<{width}}  {check.detail}{fix}")
    ctx.exit(0 if all(check.ok for check in found) else 1)


def _checks(config: Config) -> Iterator[Check]:
    try:
        readiness = wiring.Backend(config).readiness()
    except BridgeError as error:
        yield Check("directory", "fail", str(error), "mims slapd init, or check [directory]")
    else:
        yield from readiness.checks(name_server=True)
    for name, path in _certificates(config):
        yield checks.certificate(name, path)
    yield checks.secrets(_secrets(config))
    yield checks.disk(config.slapd.data_dir)
    yield from _replication(config)


def _local_tls(config: Config) -> Path | None:
    """Return the managed data folder's TLS folder, None with an external directory."""
    if not config.directory.managed:
        return None
    return wiring.managed_slapd(config).layout.tls_dir


def _certificates(config: Config) -> Iterator[tuple[str, Path]]:
    """Yield (name, file) of each certificate this bridge serves or trusts."""
    tls = _local_tls(config)
    if config.http.tls_cert:
        yield "https", Path(config.http.tls_cert).expanduser()
    elif tls is not None and (tls / "http.pem").exists():
        yield "https", tls / "http.pem"  # mims serve --https
    if config.directory.managed:
        server = wiring.managed_slapd(config)
        cert = (
            server.certificate.cert if server.certificate else server.layout.tls_dir / "server.pem"
        )
        if cert.exists() or server.certificate:
            yield "ldap", cert
        if server.ca_file is not None and (server.ca_file.exists() or server.certificate):
            yield "ldap-ca", server.ca_file
    elif config.directory.ca_file:
        yield "ldap-ca", Path(config.directory.ca_file).expanduser()
    if config.password_service.port:
        if config.password_service.tls_cert:
            yield "password_service", Path(config.password_service.tls_cert).expanduser()
        elif tls is not None and (tls / "password-service.pem").exists():
            yield "password_service", tls / "password-service.pem"


def _secrets(config: Config) -> Iterator[Path]:
    """Yield every file that holds a secret: the data folder's, and the configured keys."""
    root = config.slapd.data_dir
    yield from sorted(root.glob("*.secret"))
    yield from sorted((root / "tls").glob("*.key"))
    for key in (config.http.tls_key, config.password_service.tls_key):
        if key:
            yield Path(key).expanduser()
    if config.directory.managed:
        server = wiring.managed_slapd(config)
        if server.certificate is not None:
            yield server.certificate.key


def _replication(config: Config) -> Iterator[Check]:
    if not config.directory.managed:
        return
    server = wiring.managed_slapd(config)
    peer = wiring.replication_peer(server)
    if peer is None:
        return
    try:
        own = wiring.context_csn(server)
        theirs = wiring.peer_context_csn(server, peer)
    except BridgeError as error:
        yield Check("replication", "fail", str(error), "see mims slapd status on both providers")
        return
    yield checks.replication(peer, own, theirs)
