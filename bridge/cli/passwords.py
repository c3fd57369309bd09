"""Password commands: check a password, sync policies, reset, unlock, disable and enable."""

from __future__ import annotations

import getpass
import socket
import sys
from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_backend, open_services
from bridge.cli.people import find_person, user
from bridge.core import passwords
from bridge.core.admin_console import ScopedConsole
from bridge.core.people import PersonChange
from bridge.errors import InvalidValue, NotFound
from bridge.services import policy_book

as_option = click.option(
    "--as",
    "as_login",
    metavar="LOGIN",
    help="Act as this administrator, within their grants (mims admin list): a person out of "
    "their scope is 'no such person'.",
)


def _scoped(ctx: click.Context, data_dir: Path | None, as_login: str) -> ScopedConsole:
    """Return the console as the administrator ``as_login`` may use it."""
    backend = open_backend(load(ctx, slapd={"data_dir": data_dir}))
    return backend.admin_console().for_actor(as_login)


def _actor() -> str:
    """Return who is at the keyboard, for the record kept with a reset or unlock."""
    return f"{getpass.getuser()}@{socket.gethostname()} (mims command)"


@click.group()
def password() -> None:
    """Check passwords against the configured policies.

    \b
    Example:
      echo 'Sunny-Garden-42' | mims password check --policy mims --full-name "Mary Tan"
    """


@password.command("check")
@click.option("--policy", "policy_name", required=True, help="A configured policy, such as mims.")
@click.option("--full-name", required=True, help="The person's full name.")
@click.option("--login-id", help="The person's login ID (its parts may not be in the password).")
@click.pass_context
def password_check(
    ctx: click.Context, policy_name: str, full_name: str, login_id: str | None
) -> None:
    """Read one password on stdin; exit 0 if it passes, 1 with each failed rule on a line.

    \b
    Examples:
      echo 'Sunny-Garden-42' | mims password check --policy mims --full-name "Mary Tan"
      mims password check --policy icon --full-name "Jon Tan" --login-id jon_tan < pw.txt
    """
    book = policy_book(load(ctx))
    if policy_name not in book.policies:
        raise InvalidValue(
            f"unknown policy {policy_name!r}; configured: {', '.join(book.policies)}"
        )
    candidate = sys.stdin.readline().rstrip("\r\n")
    owner = passwords.Person(full_name=full_name, login_id=login_id)
    failures = book.check(candidate, policy_name, owner)
    for failure in failures:
        click.echo(failure.message)
    ctx.exit(1 if failures else 0)


@click.group()
def policy() -> None:
    """Keep the directory's password policies in step with the configuration.

    \b
    Example:
      mims policy sync
    """


@policy.command("sync")
@data_dir_option
@click.pass_context
def policy_sync(ctx: click.Context, data_dir: Path | None) -> None:
    """Write each configured policy as a pwdPolicy entry and point everyone at theirs.

    \b
    Example:
      mims policy sync --data-dir /srv/mims
    """
    services = open_services(load(ctx, slapd={"data_dir": data_dir}))
    names = services.passwords.sync_policies()
    moved = sum(services.passwords.assign(person) for person in services.people.iter_people())
    click.echo(f"policies written: {', '.join(names)}; people moved to another policy: {moved}")


@user.command("reset-password")
@click.argument("login")
@as_option
@data_dir_option
@click.pass_context
def user_reset_password(
    ctx: click.Context, login: str, as_login: str | None, data_dir: Path | None
) -> None:
    """Give someone a temporary password they must change at next sign-in; clears a lock.

    The temporary password is printed once and never stored in clear. Who reset it and when
    is kept on the account.

    \b
    Example:
      mims user reset-password mary_tan@students.edu.sg
      mims user reset-password mary_tan@students.edu.sg --as tan_ah_kow@schools.gov.sg
    """
    if as_login:
        console = _scoped(ctx, data_dir, as_login)
        person = console.find(login)
        temporary = console.reset(person.id)
    else:
        services = open_services(load(ctx, slapd={"data_dir": data_dir}))
        person = find_person(services.people, login)
        temporary = services.passwords.reset(person, _actor())
    click.echo(f"temporary password for {person.login_id}: {temporary}")
    click.echo("it must be changed at the next sign-in", err=True)


@user.command("unlock")
@click.argument("login")
@as_option
@data_dir_option
@click.pass_context
def user_unlock(
    ctx: click.Context, login: str, as_login: str | None, data_dir: Path | None
) -> None:
    """Unlock an account locked after too many wrong passwords or wrong answer sets.

    Locks lift themselves after the policy's ``lockout_seconds`` and ``[sspr]
    lockout_minutes``; this lifts them now, and is the only way when those are 0.

    \b
    Example:
      mims user unlock mary_tan@students.edu.sg
      mims user unlock mary_tan@students.edu.sg --as tan_ah_kow@schools.gov.sg
    """
    if as_login:
        console = _scoped(ctx, data_dir, as_login)
        person = console.unlock(console.find(login).id)
    else:
        services = open_services(load(ctx, slapd={"data_dir": data_dir}))
        person = find_person(services.people, login)
        services.passwords.unlock(person, _actor())
    note = " (it is still disabled: `mims user enable` lifts that)" if person.disabled else ""
    click.echo(f"unlocked {person.login_id}{note}")


@user.command("disable")
@click.argument("login")
@as_option
@data_dir_option
@click.pass_context
def user_disable(
    ctx: click.Context, login: str, as_login: str | None, data_dir: Path | None
) -> None:
    """Disable an account (it cannot sign in anywhere) without deleting it.

    \b
    Example:
      mims user disable mary_tan@students.edu.sg
      mims user disable mary_tan@students.edu.sg --as ong_li@schools.gov.sg
    """
    _set_disabled(ctx, login, data_dir, True, as_login)


@user.command("enable")
@click.argument("login")
@as_option
@data_dir_option
@click.pass_context
def user_enable(
    ctx: click.Context, login: str, as_login: str | None, data_dir: Path | None
) -> None:
    """Enable an account that an administrator disabled.

    \b
    Example:
      mims user enable mary_tan@students.edu.sg
      mims user enable mary_tan@students.edu.sg --as ong_li@schools.gov.sg
    """
    _set_disabled(ctx, login, data_dir, False, as_login)


def _set_disabled(
    ctx: click.Context, login: str, data_dir: Path | None, disabled: bool, as_login: str | None
) -> None:
    if as_login:
        console = _scoped(ctx, data_dir, as_login)
        found = console.find(login)
        person = console.disable(found.id) if disabled else console.enable(found.id)
        click.echo(f"{'disabled' if disabled else 'enabled'} {person.login_id}")
        return
    services = open_services(load(ctx, slapd={"data_dir": data_dir}))
    person = find_person(services.people, login)
    services.people.update(person.id, PersonChange(disabled=disabled))
    click.echo(f"{'disabled' if disabled else 'enabled'} {person.login_id}")


@user.command("clear-answers")
@click.argument("login")
@as_option
@data_dir_option
@click.pass_context
def user_clear_answers(
    ctx: click.Context, login: str, as_login: str | None, data_dir: Path | None
) -> None:
    """Forget someone's challenge answers; they choose new ones at their next sign-in.

    Counted wrong answer sets and the portal's reset lock go too.

    \b
    Examples:
      mims user clear-answers mary_tan@students.edu.sg
      mims user clear-answers mary_tan@students.edu.sg --as tan_ah_kow@schools.gov.sg
    """
    if as_login:
        console = _scoped(ctx, data_dir, as_login)
        person = console.clear_answers(console.find(login).id)
    else:
        services = open_services(load(ctx, slapd={"data_dir": data_dir}))
        person = find_person(services.people, login)
        state = services.answers.find(person.login_id)
        if state is None:
            raise NotFound(f"no person has the login ID {person.login_id}")
        services.answers.clear_answers(state.key)
    click.echo(f"answers cleared for {person.login_id}; new ones are chosen at next sign-in")
