"""``mims failover``: which provider every bridge writes to, and moving it (issue 21)."""

from __future__ import annotations

import click

from bridge import services as wiring
from bridge.cli import load
from bridge.core.failover import EntryDifference, ServerState, TreeComparison
from bridge.errors import InvalidValue


@click.group()
def failover() -> None:
    """Show or move the write target of a replicated directory ([directory] urls).

    Every bridge writes to one provider at a time, named in the directory
    (cn=write-target,ou=services); reads and sign-ins use any provider that answers.

    \b
    Examples:
      mims failover status
      mims failover compare
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


@failover.command("compare")
@click.argument("urls", nargs=-1)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Differences read again and listed in full; any more are only counted.",
)
@click.pass_context
def failover_compare(ctx: click.Context, urls: tuple[str, ...], limit: int) -> None:
    """Compare two providers' trees entry by entry; exit 1 when they differ.

    `status` compares contextCSNs, which can agree while a provider killed with -9 holds an
    add its peer never received. This reads every entry from both (as the bridge: every
    attribute but userPassword and pwdHistory), then reads each difference again for a few
    seconds, so entries that were being written and replicated are not reported. With no
    URLs: the two of [directory] urls. Progress goes to stderr. Run it before promoting the
    peer of a provider that was killed.

    \b
    Examples:
      mims failover compare
      mims failover compare ldaps://ldap1:636 ldaps://ldap2:636 --limit 1000
    """
    config = load(ctx)
    configured = config.directory.urls
    if not urls and len(configured) == 2:
        urls = tuple(configured)
    if len(urls) != 2:
        raise click.UsageError(
            f"name the two providers to compare (of [directory] urls: {', '.join(configured)})"
        )
    if urls[0] == urls[1]:
        raise click.UsageError("name two different providers")
    found = wiring.failover(config).compare(
        urls[0], urls[1], limit, lambda line: click.echo(line, err=True)
    )
    for line in comparison_lines(found):
        click.echo(line)
    ctx.exit(0 if found.equal else 1)


def comparison_lines(found: TreeComparison) -> list[str]:
    """Return what `mims failover compare` prints: each difference, then a summary."""
    lines = [line for difference in found.differences for line in _difference_lines(difference)]
    if found.different > len(found.differences):
        more = found.different - len(found.differences)
        lines.append(f"... and {more:,} more (not read again; raise --limit to list them)")
    settled = (
        f"; {_entries(found.settled, 'was', 'were')} being written while read and agreed when "
        "read again"
        if found.settled
        else ""
    )
    first, second = found.entries
    if found.equal:
        lines.append(f"the same {first:,} entries on {found.first} and {found.second}{settled}")
    else:
        lines.append(
            f"{_entries(found.different, 'differs', 'differ')}: the first ({found.first}) "
            f"holds {first:,}, the second ({found.second}) {second:,}{settled}"
        )
    return lines


def _difference_lines(difference: EntryDifference) -> list[str]:
    if difference.only_on is not None:
        return [f"only on {difference.only_on}: {difference.entry}"]
    return [
        f"{difference.entry}: {attribute.name}: "
        + (
            "values differ (not shown: a secret)"
            if attribute.hidden
            else f"only the first has {_values(attribute.first)}, "
            f"only the second has {_values(attribute.second)}"
        )
        for attribute in difference.attributes
    ]


def _entries(count: int, singular: str, plural: str) -> str:
    """Return "1 entry differs" or "2 entries differ" (verbs as given)."""
    return f"1 entry {singular}" if count == 1 else f"{count:,} entries {plural}"


def _values(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(values) + "]" if values else "nothing"


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
