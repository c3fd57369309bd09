"""``mims admin grant|list|revoke``: who administers which schools and classes.

Grants are kept in the directory (``ou=admins,ou=services``), where an LDAP reader sees them,
and every change is in the audit trail with the person at the shell as the actor.
"""

from __future__ import annotations

from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_backend
from bridge.cli.people import find_person
from bridge.core.admin_console import known_scope
from bridge.core.administration import (
    Administrator,
    AllSchools,
    School,
    Scope,
    kind_of,
    parse_class,
    scope_label,
)
from bridge.errors import InvalidValue

KIND_WORDS = {
    "mims": "MIMS administrator",
    "school": "school administrator",
    "class": "form teacher",
}


@click.group("admin")
def admin() -> None:
    """Give, list and take away administrators' grants (the console's roles).

    \b
    Examples:
      mims admin grant lim_wei@schools.gov.sg --all
      mims admin grant ong_li@schools.gov.sg --school "Clementi Primary School"
      mims admin grant tan_ah_kow@schools.gov.sg --class "Clementi Primary School/4A"
      mims admin list
      mims admin revoke tan_ah_kow@schools.gov.sg --class "Clementi Primary School/4A"
    """


def _scopes(everything: bool, schools: tuple[str, ...], classes: tuple[str, ...]) -> list[Scope]:
    if everything and (schools or classes):
        raise InvalidValue("--all already covers every school and class: give it alone")
    found: list[Scope] = [AllSchools()] if everything else []
    found += [School(name) for name in schools]
    found += [parse_class(text) for text in classes]
    return found


def _describe(held: Administrator) -> str:
    if not held.scopes:
        return "no grant"
    labels = sorted(scope_label(scope) for scope in held.scopes)
    kinds = {kind_of(scope) for scope in held.scopes}
    roles = ", ".join(KIND_WORDS[k] for k in ("mims", "school", "class") if k in kinds)
    return f"{roles}: {', '.join(labels)}"


_ALL = click.option("--all", "everything", is_flag=True, help="Every school, staff and HQ.")
_SCHOOL = click.option(
    "--school", "schools", multiple=True, metavar="NAME", help="A school (repeatable)."
)
_CLASS = click.option(
    "--class",
    "classes",
    multiple=True,
    metavar="SCHOOL/CLASS",
    help='A class, as "SCHOOL/CLASS" (repeatable).',
)


@admin.command("grant")
@click.argument("login")
@_ALL
@_SCHOOL
@_CLASS
@data_dir_option
@click.pass_context
def admin_grant(
    ctx: click.Context,
    login: str,
    everything: bool,
    schools: tuple[str, ...],
    classes: tuple[str, ...],
    data_dir: Path | None,
) -> None:
    """Make someone an administrator: of everything, of schools, or of classes.

    --all: a MIMS administrator (every school, staff and HQ accounts). --school: a school
    administrator (that school's students and staff). --class: a form teacher (unlock,
    reset, clear answers and print cards for the students of that class). Grants held
    already stay. A school nobody belongs to, or a class without students, is refused:
    import the roster first.

    \b
    Examples:
      mims admin grant lim_wei@schools.gov.sg --all
      mims admin grant ong_li@schools.gov.sg --school "Clementi Primary School"
      mims admin grant tan_ah_kow@schools.gov.sg --class "Clementi Primary School/4A" \\
          --class "Clementi Primary School/4B"
    """
    wanted = _scopes(everything, schools, classes)
    if not wanted:
        raise InvalidValue("say what to grant: --all, --school NAME or --class SCHOOL/CLASS")
    backend = open_backend(load(ctx, slapd={"data_dir": data_dir}))
    person = find_person(backend.services.people, login)
    checked = [known_scope(backend.services.people, scope) for scope in wanted]
    held = backend.grants.grant(person.login_id, checked)
    click.echo(f"{held.person.login_id}: {_describe(held)}")


@admin.command("list")
@data_dir_option
@click.pass_context
def admin_list(ctx: click.Context, data_dir: Path | None) -> None:
    """List every administrator and their grants, one per line.

    \b
    Example:
      mims admin list
    """
    backend = open_backend(load(ctx, slapd={"data_dir": data_dir}))
    held = backend.grants.list()
    for one in held:
        click.echo(f"{one.person.login_id}\t{_describe(one)}")
    if not held:
        click.echo("no administrators (mims admin grant LOGIN --all makes one)", err=True)


@admin.command("revoke")
@click.argument("login")
@_ALL
@_SCHOOL
@_CLASS
@data_dir_option
@click.pass_context
def admin_revoke(
    ctx: click.Context,
    login: str,
    everything: bool,
    schools: tuple[str, ...],
    classes: tuple[str, ...],
    data_dir: Path | None,
) -> None:
    """Take grants away: those named, or every one when none is named.

    --all names the MIMS administrator's grant (as in `grant`), not "every grant".

    \b
    Examples:
      mims admin revoke tan_ah_kow@schools.gov.sg              every grant
      mims admin revoke ong_li@schools.gov.sg --school "Clementi Primary School"
      mims admin revoke lim_wei@schools.gov.sg --all
    """
    wanted = _scopes(everything, schools, classes)
    backend = open_backend(load(ctx, slapd={"data_dir": data_dir}))
    person = find_person(backend.services.people, login)
    before = backend.grants.of(person.login_id)
    missing = [scope_label(s) for s in wanted if s not in before]
    if missing:
        click.echo(f"Warning: {person.login_id} did not hold {', '.join(missing)}", err=True)
    held = backend.grants.revoke(person.login_id, wanted or None)
    click.echo(f"{held.person.login_id}: {_describe(held)}")
