"""``mims audit``: who changed what, when, from where: the audit file and slapd's accesslog."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from bridge.cli import load
from bridge.core.audit import Selection
from bridge.services import audit_events

_AGO = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since_time(text: str) -> datetime:
    """Return the moment ``--since`` names: an ISO date or time (UTC if no zone), or 30m/2h/7d."""
    ago = _AGO.match(text.strip())
    if ago:
        return datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time: give 2025-03-01, 2025-03-01T08:00 or 30m, 2h, 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("audit")
@click.option("--person", help="Only changes to this person (login ID or id, the entryUUID).")
@click.option("--actor", help="Only changes by this actor (a token's name, a user, a login ID).")
@click.option("--since", "since", help="Only changes since: 2025-03-01, 2025-03-01T08:00, 2h, 7d.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--ldap/--no-ldap",
    default=True,
    help="Also show writes made over LDAP directly (the managed slapd's accesslog; default).",
)
@click.pass_context
def audit(
    ctx: click.Context,
    person: str | None,
    actor: str | None,
    since: str | None,
    as_json: bool,
    ldap: bool,
) -> None:
    """Show the audit trail: one line per change, oldest first.

    Changes through SCIM, the portal and mims come from the audit file ([audit] file);
    writes made over LDAP directly from the managed slapd's accesslog (read as its rootDN:
    run as the data folder's owner). Values of secrets are never kept, only the names of the
    attributes changed.

    \b
    Examples:
      mims audit --since 7d
      mims audit --person mary_tan@students.edu.sg
      mims audit --actor entra-prod --json
    """
    config = load(ctx)
    selection = Selection(person, actor, since_time(since) if since else None)
    managed = ldap and config.directory.managed
    for event in audit_events(config, selection, ldap=managed):
        click.echo(json.dumps(event.as_json()) if as_json else event.line())
