"""``mims user add`` and ``mims user set``: one person made or changed from the shell.

``--school`` may be given several times for a member of staff in several schools: the first
is the main one (its level, class and password policy), the others are further schools. A
student has one school; more is refused with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from bridge.cli import data_dir_option, load, people_directory
from bridge.cli.people import find_person, user
from bridge.core.naming import InvalidLoginId, LoginId
from bridge.core.people import (
    ROLES,
    UNCHANGED,
    NewPerson,
    PersonChange,
    Role,
    Unchanged,
    change_between,
)
from bridge.errors import InvalidValue

# Options both commands take: option name -> the person field it sets.
_TEXT_OPTIONS = {
    "given_name": "--given-name",
    "family_name": "--family-name",
    "display_name": "--display-name",
    "level": "--level",
    "class_name": "--class",
    "department": "--department",
    "title": "--title",
    "external_id": "--external-id",
}


def _person_options(command: Any) -> Any:
    """Add the options ``add`` and ``set`` share, in the order --help shows them."""
    helps = {
        "given_name": "Given name.",
        "family_name": "Family name.",
        "display_name": "Name to show, if not the full name.",
        "level": "Level, such as P4 (students).",
        "class_name": "Class within the level, such as 4A (students).",
        "department": "Department (staff): what LDAP consumers see as ou.",
        "title": "Job title, such as 'Head of Mathematics'.",
        "external_id": "The school system's identifier.",
    }
    for field in reversed(_TEXT_OPTIONS):
        command = click.option(_TEXT_OPTIONS[field], field, help=helps[field])(command)
    return click.option(
        "--school",
        "schools",
        multiple=True,
        help="School; repeat it for staff in several schools, the main one first.",
    )(command)


@user.command("add")
@data_dir_option
@click.argument("full_name")
@click.option("--role", type=click.Choice(ROLES), default="student", show_default=True)
@click.option("--login-id", help="A chosen login ID instead of one made from the name.")
@_person_options
@click.pass_context
def user_add(
    ctx: click.Context,
    /,
    data_dir: Path | None,
    full_name: str,
    role: Role,
    login_id: str | None,
    schools: tuple[str, ...],
    **texts: str | None,
) -> None:
    """Add a person; print the login ID they get.

    \b
    Examples:
      mims user add "Mary Tan" --school "Clementi Primary School" --level P4 --class 4A
      mims user add "Siti Rahmah" --role staff --title "Head of Mathematics" \\
          --school "Clementi Primary School" --school "Bedok Secondary School"
    """
    chosen = _login_id(login_id) if login_id else None
    main, others = _schools(schools)
    change = replace(_text_change(texts), full_name=full_name.strip(), school=main)
    change = replace(change, other_schools=others)
    new = NewPerson.from_change(change, role, login_id=chosen)
    person = people_directory(load(ctx, slapd={"data_dir": data_dir})).create(new)
    click.echo(str(person.login_id))


@user.command("set")
@data_dir_option
@click.argument("login")
@click.option("--name", "full_name", help="Full name (the login ID stays; see rename).")
@_person_options
@click.pass_context
def user_set(
    ctx: click.Context,
    /,
    data_dir: Path | None,
    login: str,
    full_name: str | None,
    schools: tuple[str, ...],
    **texts: str | None,
) -> None:
    """Change some of a person's details; an empty value ("") clears one.

    --school replaces every school the person has: give each of a teacher's schools, the
    main one first (--school "" leaves none).

    \b
    Examples:
      mims user set mary_tan@students.edu.sg --class 4B
      mims user set siti_rahmah@schools.gov.sg --school "Clementi Primary School" \\
          --school "Tampines Primary School" --title ""
    """
    wanted = _text_change(texts)
    if full_name is not None:
        if not full_name.strip():
            raise InvalidValue("--name cannot be empty")
        wanted = replace(wanted, full_name=full_name.strip())
    if schools:
        main, others = _schools(schools)
        wanted = replace(wanted, school=main, other_schools=others)
    if not wanted.changed():
        raise InvalidValue("nothing to change: give at least one option (see --help)")
    people = people_directory(load(ctx, slapd={"data_dir": data_dir}))
    person = find_person(people, login)
    change = change_between(person, wanted)
    if not change.changed():
        click.echo(f"{person.login_id} unchanged")
        return
    people.update(person.id, change)
    click.echo(f"changed {person.login_id}: {', '.join(change.changed())}")


def _text_change(texts: dict[str, str | None]) -> PersonChange:
    """Return the change the text options ask for: "" clears a field, an absent one stays."""

    def given(field: str) -> str | None | Unchanged:
        value = texts.get(field)
        return UNCHANGED if value is None else (value.strip() or None)

    return PersonChange(
        given_name=given("given_name"),
        family_name=given("family_name"),
        display_name=given("display_name"),
        level=given("level"),
        class_name=given("class_name"),
        department=given("department"),
        title=given("title"),
        external_id=given("external_id"),
    )


def _schools(schools: tuple[str, ...]) -> tuple[str | None, frozenset[str]]:
    """Return the main school and the others from repeated --school options ("" for none)."""
    names = [name.strip() for name in schools if name.strip()]
    return (names[0] if names else None), frozenset(names[1:])


def _login_id(text: str) -> LoginId:
    try:
        return LoginId.parse(text)
    except InvalidLoginId as error:
        raise InvalidValue(str(error)) from None
