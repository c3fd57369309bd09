"""`mims import` makes groups with addresses; `mims group addresses` gives them to groups made
before; `mims check gcds` is then clean. Against the session slapd, through the real command."""

from __future__ import annotations

from pathlib import Path

import ldap3
import pytest

from bridge.cli import groups as groups_cli
from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore
from bridge.services import Services
from tests.support.cli import mims
from tests.support.directory import SUFFIX

GROUPS = f"ou=groups,{SUFFIX}"
STAFF = f"ou=staff,ou=people,{SUFFIX}"
DOMAIN = "groups.schools.gov.sg"
HEADER = "external_id,full_name,role,school,level,class\n"


@pytest.fixture
def env(config: Config, directory: LdapClient) -> dict[str, str]:
    """Point `mims` at the session's slapd; the directory fixture empties it afterwards."""
    return {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(config.slapd.data_dir.parent)}


def addresses(admin: ldap3.Connection) -> dict[str, list[str]]:
    """Return {group name: its addresses} for every group, as an LDAP client sees them."""
    admin.search(GROUPS, "(objectClass=mimsGroup)", ldap3.LEVEL, attributes=["cn", "mail"])
    return {entry.cn.value: sorted(entry.mail.values) for entry in admin.entries}


def forget_addresses(admin: ldap3.Connection) -> None:
    """Make the groups look like a directory from before group addresses (no mail)."""
    admin.search(GROUPS, "(mail=*)", ldap3.LEVEL, attributes=["1.1"])
    for group in [entry.entry_dn for entry in admin.entries]:
        assert admin.modify(group, {"mail": [(ldap3.MODIFY_DELETE, [])]}), admin.result


def test_an_import_makes_school_level_and_class_groups_with_addresses_and_gcds_is_clean(
    tmp_path: Path, env: dict[str, str], admin: ldap3.Connection
) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        HEADER + "T1,Mary Tan,student,Clementi Primary School,P4,4A\n"
        "T2,Jon Tan,student,Clementi Primary School,P5,5B\n"
        "F1,Siti Binte Ahmad,staff,Clementi Primary School,,\n",
        encoding="utf-8",
    )
    result = mims("import", str(roster), env=env)
    assert result.returncode == 0, result.stderr
    assert addresses(admin) == {
        "Clementi Primary School": [f"clementi-primary-school@{DOMAIN}"],
        "Clementi Primary School / P4": [f"clementi-primary-school-p4@{DOMAIN}"],
        "Clementi Primary School / P4 / 4A": [f"clementi-primary-school-p4-4a@{DOMAIN}"],
        "Clementi Primary School / P5": [f"clementi-primary-school-p5@{DOMAIN}"],
        "Clementi Primary School / P5 / 5B": [f"clementi-primary-school-p5-5b@{DOMAIN}"],
    }
    again = mims("import", str(roster), env=env)  # a second run finds the groups and keeps them
    assert again.returncode == 0, again.stderr
    assert len(addresses(admin)) == 5

    check = mims("check", "gcds", env=env)
    assert (check.returncode, check.stdout) == (
        0,
        "no problems: 3 people and 5 groups are ready for GCDS\n",
    ), check.stderr


def test_the_backfill_gives_groups_made_before_their_addresses_once(
    services: Services, admin: ldap3.Connection, env: dict[str, str]
) -> None:
    mary = services.people.create(
        NewPerson(
            full_name="Mary Tan",
            role="student",
            external_id="T1",
            school="Clementi Primary School",
            level="P4",
        )
    )
    services.groups.create("Chess Club", None, [mary.id])
    forget_addresses(admin)
    assert addresses(admin) == {
        "Clementi Primary School": [],
        "Clementi Primary School / P4": [],
        "Chess Club": [],
    }
    before = mims("check", "gcds", env=env)
    assert before.returncode == 1
    assert before.stdout.splitlines()[-1] == "3 problems (3 group-no-mail) in 1 people and 3 groups"

    dry = mims("group", "addresses", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    *lines, closing = dry.stdout.splitlines()
    expected = sorted(
        [
            f"chess-club@{DOMAIN}  cn=Chess Club,{GROUPS}",
            f"clementi-primary-school@{DOMAIN}  cn=Clementi Primary School,{GROUPS}",
            f"clementi-primary-school-p4@{DOMAIN}  cn=Clementi Primary School / P4,{GROUPS}",
        ]
    )
    assert (sorted(lines), closing) == (expected, "3 groups would get an address")
    assert set(map(len, addresses(admin).values())) == {0}  # a dry run writes nothing

    given = mims("group", "addresses", env=env)
    assert given.returncode == 0, given.stderr
    *lines, closing = given.stdout.splitlines()
    assert (sorted(lines), closing) == (expected, "gave 3 groups an address")
    assert addresses(admin)["Chess Club"] == [f"chess-club@{DOMAIN}"]
    admin.search(GROUPS, "(mail=*)", ldap3.LEVEL, attributes=["1.1"])
    assert len(admin.entries) == 3

    again = mims("group", "addresses", env=env)
    assert (again.returncode, again.stdout) == (0, "every group has an address already\n")
    after = mims("check", "gcds", env=env)
    assert (after.returncode, after.stdout) == (
        0,
        "no problems: 1 people and 3 groups are ready for GCDS\n",
    ), after.stdout


def test_the_backfill_steps_over_taken_addresses_and_the_dry_run_says_so(
    people_store: PeopleStore, services: Services, admin: ldap3.Connection, env: dict[str, str]
) -> None:
    groups = people_store.groups
    groups.create("Chess Club", None, [])
    groups.create("Chess-Club", None, [])
    forget_addresses(admin)
    # Meanwhile a sysadmin's entry took the first address the groups would get.
    assert admin.add(
        f"uid=chess,{STAFF}",
        ["inetOrgPerson", "mimsPerson"],
        {"uid": "chess", "cn": "Chess", "sn": "Chess", "mail": f"chess-club@{DOMAIN}"},
    )
    dry = mims("group", "addresses", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    planned = {line.split("  ")[0] for line in dry.stdout.splitlines()[:-1]}
    assert planned == {f"chess-club-2@{DOMAIN}", f"chess-club-3@{DOMAIN}"}

    given = mims("group", "addresses", env=env)
    assert given.returncode == 0, given.stderr
    found = addresses(admin)
    assert sorted(found["Chess Club"] + found["Chess-Club"]) == sorted(planned)


def test_an_unreachable_directory_is_one_line_and_exit_1(env: dict[str, str]) -> None:
    broken = env | {"MIMS_LDAP_URL": "ldaps://127.0.0.1:1", "MIMS_LDAP_PASSWORD": "x"}
    result = mims("group", "addresses", env=broken)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_long_work_reports_progress_on_stderr_and_the_summary_counts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(groups_cli, "PROGRESS_SECONDS", 0.0)
    report = groups_cli._progress(3, "given")
    for done in (1, 2, 3):
        report(done)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "1/3 groups given an address",
        "2/3 groups given an address",
    ]  # the last step is the summary's, on stdout
    assert groups_cli.summary(1, 0, dry_run=False) == "gave 1 group an address"
    assert groups_cli.summary(0, 2, dry_run=False) == (
        "gave 0 groups an address; 2 had one by then or were deleted meanwhile"
    )
