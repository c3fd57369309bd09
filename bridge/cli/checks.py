"""``mims check``: find what the tools that read the directory would skip or get wrong."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from bridge.cli import data_dir_option, load, open_backend
from bridge.core.gcds import KINDS, Checker, Problem, Report


@click.group()
def check() -> None:
    """Check the directory for what other tools would skip or get wrong.

    \b
    Examples:
      mims check gcds
      mims check gcds --json > gcds-problems.json
    """


@check.command("gcds")
@data_dir_option
@click.option(
    "--domain",
    "domains",
    multiple=True,
    metavar="DOMAIN",
    help="A domain of the Google Workspace account (repeat it); default: the login-ID domains "
    "and the group domain.",
)
@click.option("--no-groups", is_flag=True, help="Check people only (GCDS syncs no groups).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead.")
@click.pass_context
def check_gcds(
    ctx: click.Context,
    data_dir: Path | None,
    domains: tuple[str, ...],
    no_groups: bool,
    as_json: bool,
) -> None:
    """List every entry Google Cloud Directory Sync would skip or mis-sync; exit 1 if any.

    One line per problem: the kind, the entry's DN and the reason. The kinds are: no-mail,
    foreign-domain (a person's or group's mail is not in one of the domains), duplicate-mail
    (letter case aside), no-school (a student or staff member GCDS cannot place in a school's
    org unit) and group-no-mail (`mims group addresses` gives each group its address).
    docs/gcds/README.md has the GCDS settings.

    \b
    Examples:
      mims check gcds
      mims check gcds --domain students.edu.sg --domain schools.gov.sg --no-groups
      mims check gcds --json
    """
    config = load(ctx, slapd={"data_dir": data_dir})
    backend = open_backend(config)
    checker = Checker(domains or [*config.naming.domains.values(), config.naming.group_domain])
    found: list[Problem] = []

    def emit(problem: Problem) -> None:
        if as_json:
            found.append(problem)
        else:
            click.echo(f"{problem.kind:<15} {problem.dn}  {problem.reason}")

    for person in backend.gcds_people():
        for problem in checker.person(person):
            emit(problem)
    if not no_groups:
        for group in backend.gcds_groups():
            for problem in checker.group(group):
                emit(problem)

    report = checker.report
    if as_json:
        document = {
            "problems": [asdict(problem) for problem in found],
            "counts": {kind: report.counts[kind] for kind in KINDS if report.counts[kind]},
            "checked": {"people": report.people, "groups": report.groups},
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(summary(report, groups_checked=not no_groups))
    ctx.exit(1 if report.problems else 0)


def summary(report: Report, groups_checked: bool) -> str:
    """Return the closing line: how many problems of each kind, among how many entries."""
    read = f"{report.people} people" + (f" and {report.groups} groups" if groups_checked else "")
    if not report.problems:
        return f"no problems: {read} are ready for GCDS"
    kinds = ", ".join(f"{report.counts[k]} {k}" for k in KINDS if report.counts[k])
    noun = "problem" if report.problems == 1 else "problems"
    return f"{report.problems} {noun} ({kinds}) in {read}"
