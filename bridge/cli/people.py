"""``mims login-id`` and ``mims user``: how a name becomes a login ID, who is there, renames."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli import data_dir_option, load, people_directory
from bridge.core.naming import InvalidLoginId, InvalidName, LoginId, base_local_part
from bridge.core.people import ROLES, Person
from bridge.core.ports import People
from bridge.errors import InvalidValue, NotFound
from bridge.services import naming_rules


@click.command("login-id")
@click.argument("full_name")
@click.option("--role", type=click.Choice(ROLES), default="student", show_default=True)
@click.pass_context
def login_id(ctx: click.Context, full_name: str, role: str) -> None:
    """Print the login ID a full name gets (before any _1, _2 suffix for namesakes).

    \b
    Examples:
      mims login-id "Muhammad Ali Bin Muhammad Raihan"
      mims login-id "Mary Tan" --role staff
    """
    config = load(ctx)
    rules = naming_rules(config)
    try:
        local = base_local_part(full_name, rules)
    except InvalidName as error:
        raise InvalidValue(str(error)) from None
    click.echo(f"{local}@{config.naming.domains[role]}")  # type: ignore[index]


@click.group()
def user() -> None:
    """Look at the people in the directory, and change their accounts.

    \b
    Examples:
      mims user show mary_tan@students.edu.sg
      mims user list --school "Clementi Primary School" --level P4
      mims user rename jane_lim@schools.gov.sg jane_lim@hq.moe.gov.sg
      mims user add "Siti Rahmah" --role staff --school "Clementi Primary School"
      mims user set siti_rahmah@schools.gov.sg --title "Head of Mathematics"
    """


@user.command("show")
@data_dir_option
@click.argument("login")
@click.option("--json", "as_json", is_flag=True, help="Print all fields as JSON.")
@click.pass_context
def user_show(ctx: click.Context, data_dir: Path | None, login: str, as_json: bool) -> None:
    """Show one person by login ID; exit 1 if there is no such person.

    \b
    Examples:
      mims user show mary_tan@students.edu.sg
      mims user show mary_tan@students.edu.sg --json
    """
    person = find_person(people_directory(load(ctx, slapd={"data_dir": data_dir})), login)
    if as_json:
        click.echo(json.dumps(_plain(person), indent=2, ensure_ascii=False))
        return
    for label, value in _rows(person):
        click.echo(f"{label:<16}{value}")


@user.command("list")
@data_dir_option
@click.option("--school", help="Only people of this school.")
@click.option("--level", help="Only people of this level (such as P4).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def user_list(
    ctx: click.Context, data_dir: Path | None, school: str | None, level: str | None, as_json: bool
) -> None:
    """List people, one login ID per line (streamed: fine for 100,000 people).

    \b
    Examples:
      mims user list
      mims user list --school "Clementi Primary School" --level P4 --json
    """
    for person in people_directory(load(ctx, slapd={"data_dir": data_dir})).iter_people(
        school=school, level=level
    ):
        if as_json:
            click.echo(json.dumps(_plain(person), ensure_ascii=False))
        else:
            click.echo(str(person.login_id))


@user.command("rename")
@data_dir_option
@click.argument("login")
@click.argument("new_login")
@click.pass_context
def user_rename(ctx: click.Context, data_dir: Path | None, login: str, new_login: str) -> None:
    """Give someone a new login ID; one in another role's domain changes their role too.

    The entry keeps its id, groups, password and answers. A login ID in the staff or HQ
    domain moves the person to that role's OU with the role and its password policy
    (docs/security.md, "Role follows the address").

    \b
    Examples:
      mims user rename mary_tan@students.edu.sg mary_tan_lee@students.edu.sg
      mims user rename jane_lim@schools.gov.sg jane_lim@hq.moe.gov.sg
    """
    people = people_directory(load(ctx, slapd={"data_dir": data_dir}))
    person = find_person(people, login)
    try:
        wanted = LoginId.parse(new_login)
    except InvalidLoginId as error:
        raise InvalidValue(str(error)) from None
    renamed = people.rename_login(person.id, wanted)
    role = "" if renamed.role == person.role else f"; role {person.role} -> {renamed.role}"
    policy = f", password policy {renamed.policy}" if role and renamed.policy else ""
    click.echo(f"renamed {person.login_id} to {renamed.login_id}{role}{policy}")


def find_person(people: People, login: str) -> Person:
    """Return the person with this login ID, or fail with one clear line."""
    try:
        wanted = LoginId.parse(login)
    except InvalidLoginId as error:
        raise InvalidValue(str(error)) from None
    person = people.find_login(wanted)
    if person is None:
        raise NotFound(f"no person has the login ID {wanted}")
    return person


def _rows(person: Person) -> list[tuple[str, str]]:
    lock = person.lock
    locked = "no"
    if lock.locked:
        locked = (
            "yes, until the school unlocks it"
            if lock.permanent
            else f"yes, since {lock.locked_since}"
        )
    return [
        ("login ID", str(person.login_id)),
        ("id", person.id),
        ("name", person.full_name),
        ("role", person.role),
        ("school", person.school or "-"),
        ("other schools", "; ".join(person.schools[1:]) or "-"),
        ("level", person.level or "-"),
        ("class", person.class_name or "-"),
        ("department", person.department or "-"),
        ("title", person.title or "-"),
        ("external ID", person.external_id or "-"),
        ("active", "yes" if person.active else "no (disabled by an administrator)"),
        ("locked", locked),
        ("failed logins", str(lock.failures)),
        (
            "must change",
            "yes (a temporary password: change it at the portal)" if person.must_change else "no",
        ),
        ("answers set", "yes" if person.answers_set else "no"),
        ("password policy", person.policy or "-"),
        ("groups", ", ".join(person.groups) or "-"),
    ]


def _plain(person: Person) -> dict[str, Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        if isinstance(value, frozenset):
            return sorted(value)
        return value

    data = convert(asdict(person))
    data.pop("locator", None)  # where the directory keeps them: not part of the person
    data["login_id"] = str(person.login_id)
    data["active"] = person.active
    return data  # type: ignore[no-any-return]
