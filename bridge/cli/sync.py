"""``mims sync``: carry the directory's changes to downstream targets (SCIM apps, Entra ID)."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from bridge.cli import data_dir_option, load, open_backend
from bridge.config import Config
from bridge.core.sync import Lease, TargetStatus, Unavailable
from bridge.core.sync_lease import LeaseHeld, who
from bridge.errors import ConfigError
from bridge.services import Backend
from bridge.web import logs


def _backend(ctx: click.Context, data_dir: Path | None) -> tuple[Config, Backend]:
    config = load(ctx, slapd={"data_dir": data_dir})
    return config, open_backend(config)


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group()
def sync() -> None:
    """Keep downstream targets in step with the directory ([sync.targets.NAME] in config).

    \b
    Examples:
      mims sync run zoom                   follow the directory until Ctrl-C
      mims sync run zoom --once            send what changed since last time, then exit
      mims sync status                     lag, last success, lease, failures, dead letters
      mims sync retry zoom                 send the refused changes again
    """


@sync.command("run")
@data_dir_option
@click.argument("target", metavar="[TARGET]", required=False)
@click.option("--target", "name", help="The target to run (same as TARGET).")
@click.option("--once", is_flag=True, help="Send what changed since last time, then exit.")
@click.pass_context
def sync_run(
    ctx: click.Context, data_dir: Path | None, target: str | None, name: str | None, once: bool
) -> None:
    """Follow the directory's changes (syncrepl) and push them to one target.

    TARGET defaults to the only one configured. Without --once it runs until stopped (Ctrl-C
    or SIGTERM); the target's place is kept in the directory, so a restart carries on where
    the last confirmed change was. Only one process runs a target at a time, on any host: it
    holds a lease in the directory ([sync] lease_seconds). While another holds it, this one
    waits and takes over when that lease expires; with --once it exits with status 1.

    \b
    Examples:
      ZOOM_SCIM_TOKEN=... mims sync run zoom
      mims sync run zoom --once     # from cron
    """
    if target and name and target != name:
        raise click.UsageError(f"TARGET {target!r} and --target {name!r} differ: give one")
    config, backend = _backend(ctx, data_dir)
    logs.configure(config.log)
    name = target or name or _only_target(config)
    from bridge.provisioning.runner import Runner, target_config  # the SCIM client: only here

    target_config(config, name)  # one clear line for an unknown name, before any work
    stop = threading.Event()

    def stopping(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, stopping) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        runner = Runner(
            config, name, backend.sync_state, backend.change_feed, stop=stop, report=_say
        )
        runner.run(once=once)
    except Unavailable as trouble:
        raise click.ClickException(f"{name} is unreachable: {trouble.reason}") from None
    except LeaseHeld as held:
        raise click.ClickException(str(held)) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if runner.lease.lost is not None:
        raise click.ClickException(f"{name}: {runner.lease.lost}; stopped")
    _say(
        f"{name}: delivered {runner.delivery.pushed}, refused {runner.delivery.refused}"
        + (f", {runner.resets} full refreshes (the target had lost data)" if runner.resets else "")
    )


@sync.command("status")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def sync_status(ctx: click.Context, data_dir: Path | None, as_json: bool) -> None:
    """Show each target's lag, last success, lease, failures and dead letters.

    Lag is what the directory changed after the last change the target confirmed: how many
    people and groups, and how long ago the oldest of them changed. Changes and dead letters
    are counted up to 1000 ("1000+"), so the status stays quick however far behind a target
    is. The lease says which process (host:pid) runs the target's sync, and until when its
    hold lasts unless renewed.

    \b
    Examples:
      mims sync status
      mims sync status --json | jq '.[] | select(.dead_letters > 0)'
    """
    config, backend = _backend(ctx, data_dir)
    statuses = [backend.sync_status(name) for name in sorted(config.sync.targets)]
    if as_json:
        click.echo(json.dumps([_as_dict(s) for s in statuses], indent=2))
        return
    if not statuses:
        _say("no sync targets are configured ([sync.targets.NAME] in the config file)")
        return
    click.echo(
        f"{'target':<16} {'lag':<24} {'last success':<22} {'failures':>8} {'dead':>6}  lease"
    )
    for status in statuses:
        click.echo(
            f"{status.name:<16} {_lag(status):<24} {_when(status.last_success):<22} "
            f"{status.failures:>8} {_dead(status):>6}  {_lease(status)}"
        )
        if status.failures and status.last_error:
            click.echo(f"  last error: {status.last_error}")


@sync.command("retry")
@data_dir_option
@click.argument("name", metavar="TARGET")
@click.pass_context
def sync_retry(ctx: click.Context, data_dir: Path | None, name: str) -> None:
    """Send each dead letter's entry again, as it is now; forget those that go through.

    \b
    Example:
      mims sync retry zoom
    """
    config, backend = _backend(ctx, data_dir)
    from bridge.provisioning.runner import Runner, retry_dead_letters, target_config

    target_config(config, name)
    runner = Runner(config, name, backend.sync_state, backend.change_feed, report=_say)
    try:
        delivered, refused = retry_dead_letters(runner, report=_say)
    except Unavailable as trouble:
        raise click.ClickException(f"{name} is unreachable: {trouble.reason}") from None
    _say(f"{name}: dead letters delivered {delivered}, still refused {refused}")
    if refused:
        ctx.exit(1)


def _only_target(config: Config) -> str:
    names = sorted(config.sync.targets)
    if len(names) != 1:
        listed = ", ".join(names) or "none are configured"
        raise ConfigError(f"say which target with --target NAME (configured: {listed})")
    return names[0]


def _lag(status: TargetStatus) -> str:
    if status.cookie is None:
        return "never synced"
    if not status.pending:
        return "up to date"
    age = ""
    if status.oldest_pending is not None:
        seconds = (datetime.now(UTC) - status.oldest_pending).total_seconds()
        age = f", oldest {max(0, int(seconds))} s"
    more = "+" if status.pending_capped else ""
    return f"{status.pending}{more} changes{age}"


def _dead(status: TargetStatus) -> str:
    return f"{status.dead_letters}{'+' if status.dead_letters_capped else ''}"


def _lease(status: TargetStatus) -> str:
    if status.lease_holder is None:
        return "free"
    lease = Lease(status.lease_holder, status.lease_until)
    state = "expired" if lease.expired(datetime.now(UTC)) else "until"
    return f"{who(lease)} {state} {_when(status.lease_until)}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "never"


def _as_dict(status: TargetStatus) -> dict[str, object]:
    return {
        "target": status.name,
        "synced": status.cookie is not None,
        "pending_changes": status.pending,
        "oldest_pending": status.oldest_pending.isoformat() if status.oldest_pending else None,
        "last_success": status.last_success.isoformat() if status.last_success else None,
        "pushed": status.pushed,
        "failures": status.failures,
        "last_error": status.last_error,
        "dead_letters": status.dead_letters,
        "lease_holder": status.lease_holder,
        "lease_until": status.lease_until.isoformat() if status.lease_until else None,
        "pending_capped": status.pending_capped,
        "dead_letters_capped": status.dead_letters_capped,
    }
