"""``mims failover``: which provider every bridge writes to, and moving it (issue 21)."""

from __future__ import annotations

import click

from bridge import services as wiring
from bridge.cli import load
from bridge.core.failover import ServerState
from bridge.errors import InvalidValue


@click.group()
def failover() -> None:
    """Show or move the write target of a replicated directory ([directory] urls).

    Every bridge writes to one provider at a time, named in the directory
    (cn=write-target,ou=services); reads and sign-ins use any provider that answers.

    \b
    Examples:
      mims failover status
      mims failover promote ldaps://ldap2.school.example:636
    """


@failover.command("status")
@click.pass_context
def failover_status(ctx: click.Context) -> None:
    """Show each configured server: reachable, epoch, the target it names, contextCSN, heartbeat.

    Exit 1 when no server is confirmed as the write target.

    \b
    Example:
      MIMS_LDAP_URL="ldaps://ldap1:636 ldaps://ldap2:636" mims failover status
    """
    states = wiring.failover(load(ctx)).status()
    for state in states:
        click.echo(describe(state))
    ctx.exit(0 if any(state.is_target for state in states) else 1)


@failover.command("promote")
@click.argument("url")
@click.option("--force", is_flag=True, help="Promote even a provider that is behind the target.")
@click.pass_context
def failover_promote(ctx: click.Context, url: str, force: bool) -> None:
    """Make URL (one of [directory] urls) the provider every bridge writes to.

    Refused when URL's contextCSN is behind the current target's (it has not received every
    change yet) unless --force. Its uidNumber and gidNumber counters move ahead by 1000, so
    numbers the old target handed out are never reused. To fail back, promote the old target
    once `mims failover status` shows it caught up.

    \b
    Example:
      mims failover promote ldaps://ldap2.school.example:636
    """
    config = load(ctx)
    if len(config.directory.urls) < 2:
        raise InvalidValue("promote needs the providers in [directory] urls (two or more)")
    done = wiring.failover(config).promote(url, force)
    for step in done.steps:
        click.echo(step)
    click.echo(f"write target: {done.url} (epoch {done.epoch})")


def describe(state: ServerState) -> str:
    """Return one line about a server for `mims failover status`."""
    if not state.reachable:
        return f"{state.url}: does not answer"
    mark = "WRITE TARGET" if state.is_target else "provider"
    named = (
        f"names {state.target} (epoch {state.epoch})"
        if state.target is not None
        else "no write-target entry"
    )
    beat = f"{state.heartbeat_age:.0f} s ago" if state.heartbeat_age is not None else "never"
    csn = " ".join(state.context_csn) or "none"
    return f"{state.url}: {mark}, {named}, heartbeat {beat}, contextCSN {csn}"
