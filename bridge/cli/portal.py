"""School tools for the portal: pre-set answers, login cards, the start-of-year reset."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_services
from bridge.cli.cards import Card, write_cards
from bridge.cli.files import open_private_text
from bridge.cli.passwords import _actor
from bridge.config import Config
from bridge.core import challenges
from bridge.core.people import Person
from bridge.core.services import Services
from bridge.errors import InvalidValue

PRESET_LEVELS = ("P1", "P2", "P3")


def _people(
    services: Services, school: str, levels: Iterable[str | None], class_name: str | None = None
) -> list[Person]:
    found = [
        person
        for level in levels
        for person in services.people.iter_people(school=school, level=level)
        if class_name is None or (person.class_name or "").casefold() == class_name.casefold()
    ]
    return sorted(found, key=lambda p: (p.level or "", p.class_name or "", p.full_name))


@click.group()
def answers() -> None:
    """Challenge answers that schools set for young children.

    \b
    Example:
      mims answers preset --school "Clementi Primary" --level P2 --out p2-answers.csv
    """


@answers.command("preset")
@click.option("--school", required=True, help="The school, as in the roster.")
@click.option(
    "--level",
    required=True,
    type=click.Choice(PRESET_LEVELS, case_sensitive=False),
    help="P1, P2 or P3 (older children choose their own).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV to write the answers to, for printing (default: standard output).",
)
@data_dir_option
@click.pass_context
def answers_preset(
    ctx: click.Context, school: str, level: str, out: Path | None, data_dir: Path | None
) -> None:
    """Give every child of a level easy answers, stored hashed; write them once for printing.

    The answers are shown only in this CSV (keep it safe, print the cards, then delete it):
    the directory keeps Argon2id hashes only. Running it again makes new answers.

    \b
    Examples:
      mims answers preset --school "Clementi Primary" --level P2 --out p2.csv
      mims cards --school "Clementi Primary" --level P2 --answers p2.csv --out p2-cards.pdf
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    services = open_services(config)
    questions = [q.id for q in config.sspr.questions][: config.sspr.answers_required]
    texts = {q.id: q.text for q in config.sspr.questions}
    handle = open_private_text(out) if out else sys.stdout
    count = 0
    try:
        writer = csv.writer(handle)
        writer.writerow(["login_id", "full_name", "class", *(texts[q] for q in questions)])
        for person in _people(services, school, [level.upper()]):
            chosen = challenges.preset_answers(questions)
            stored = [challenges.hash_answer(q, a) for q, a in chosen.items()]
            state = services.answers.find(person.login_id)
            if state is None:
                continue
            services.answers.set_answers(state.key, stored)
            row = [str(person.login_id), person.full_name, person.class_name or ""]
            writer.writerow(row + [chosen[q] for q in questions])
            count += 1
    finally:
        if out:
            handle.close()
    click.echo(f"answers set for {count} people in {school} {level.upper()}", err=True)


def _read_answers(path: Path, config: Config) -> dict[str, tuple[tuple[str, str], ...]]:
    """Return {login ID: ((question, answer), ...)} from a preset CSV."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0][:1] != ["login_id"]:
        raise InvalidValue(f"{path} is not a file from `mims answers preset`")
    questions = rows[0][3:]
    return {row[0]: tuple(zip(questions, row[3:], strict=False)) for row in rows[1:] if row}


@click.command("cards")
@click.option("--school", required=True, help="The school, as in the roster.")
@click.option("--level", help="Only this level, such as P2.")
@click.option("--class", "class_name", help="Only this class, such as 2A.")
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV from `mims answers preset`, to print the pre-set answers too.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PDF to write."
)
@data_dir_option
@click.pass_context
def cards(
    ctx: click.Context,
    school: str,
    level: str | None,
    class_name: str | None,
    answers_file: Path | None,
    out: Path,
    data_dir: Path | None,
) -> None:
    """Print login cards: every account on them gets a new temporary password.

    A4, eight cards a page: login ID, temporary password (changed at first sign-in), the
    pre-set answers when --answers is given, the portal address and its QR code.

    \b
    Examples:
      mims cards --school "Clementi Primary" --level P1 --out p1-cards.pdf
      mims cards --school "Clementi Primary" --class 2A --answers p2.csv --out 2a.pdf
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    services = open_services(config)
    preset = _read_answers(answers_file, config) if answers_file else {}
    people = _people(services, school, [level], class_name)
    if not people:
        raise InvalidValue("nobody matches that school, level and class")
    made = []
    for person in people:
        temporary = services.passwords.reset(person, _actor())
        made.append(
            Card(
                name=person.full_name,
                class_name=" ".join(filter(None, [person.level, person.class_name])),
                login_id=str(person.login_id),
                password=temporary,
                answers=preset.get(str(person.login_id), ()),
            )
        )
    pages = write_cards(made, config.sspr.portal_url, out)
    click.echo(f"{len(made)} cards on {pages} pages written to {out}")


@click.group()
def cohort() -> None:
    """Whole-level account tasks for the school year.

    \b
    Example:
      mims cohort start-year --level P4 P5 P6 --school "Clementi Primary"
    """


@cohort.command("start-year", context_settings={"ignore_unknown_options": False})
@click.option("--level", "first_level", required=True, help="One or more levels: P4 P5 P6.")
@click.argument("more_levels", nargs=-1)
@click.option("--school", help="Only this school (default: every school).")
@data_dir_option
@click.pass_context
def start_year(
    ctx: click.Context,
    first_level: str,
    more_levels: tuple[str, ...],
    school: str | None,
    data_dir: Path | None,
) -> None:
    """Make a cohort choose a new password and new answers at their next sign-in.

    Their current password still signs them in once, then the portal asks for a new one
    and for new challenge answers (ppolicy pwdReset and mimsMustSetAnswers).

    \b
    Examples:
      mims cohort start-year --level P4 P5 P6
      mims cohort start-year --level P4 P5 P6 --school "Clementi Primary"
    """
    services = open_services(load(ctx, slapd={"data_dir": data_dir}))
    levels = [first_level, *more_levels]
    count = 0
    for level in levels:
        for person in services.people.iter_people(school=school, level=level):
            state = services.answers.find(person.login_id)
            if state is not None:
                services.answers.start_year(state.key)
                count += 1
    where = f" in {school}" if school else ""
    click.echo(
        f"{count} people{where} in {' '.join(levels)} must choose a new password and answers"
    )
