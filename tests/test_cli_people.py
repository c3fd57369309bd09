"""`mims login-id`, `user`, `import` and `demo`, run as an administrator runs them."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.support.cli import first_line, mims
from tests.support.directory import SUFFIX

HEADER = "external_id,full_name,role,school,level,class\n"


@pytest.fixture
def env(config: Config, directory: LdapClient) -> dict[str, str]:
    """Point `mims` at the session's slapd; the directory fixture empties it afterwards."""
    return {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(config.slapd.data_dir.parent)}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "role", "expected"),
    [
        (
            "Muhammad Ali Bin Muhammad Raihan",
            "student",
            "muhammad_ali_muhammad_raihan@students.edu.sg",
        ),
        ("Mary Tan", "staff", "mary_tan@schools.gov.sg"),
        ("Rajesh s/o Kumar", "hq", "rajesh_kumar@hq.moe.gov.sg"),
    ],
)
def test_login_id_prints_the_base_id(name: str, role: str, expected: str) -> None:
    result = mims("login-id", name, "--role", role)
    assert (result.returncode, result.stdout.strip()) == (0, expected)


def test_login_id_of_an_empty_name_is_a_clear_error() -> None:
    result = mims("login-id", "()")
    assert result.returncode == 1
    assert "no letters or digits" in result.stderr


def test_import_then_show_and_list(tmp_path: Path, env: dict[str, str]) -> None:
    roster = write(
        tmp_path / "r.csv",
        HEADER + "T1,Mary Tan,student,Clementi Primary School,P4,4A\n"
        "T2,Jon Tan,student,Clementi Primary School,P5,5B\n"
        "F1,Siti Binte Ahmad,staff,Clementi Primary School,,\n",
    )
    result = mims("import", str(roster), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3 rows: 3 created, 0 updated, 0 unchanged, 0 rejected"
    listed = mims("user", "list", env=env).stdout.split()
    assert sorted(listed) == [
        "jon_tan@students.edu.sg",
        "mary_tan@students.edu.sg",
        "siti_ahmad@schools.gov.sg",
    ]
    assert mims("user", "list", "--level", "P4", env=env).stdout.split() == [
        "mary_tan@students.edu.sg"
    ]
    shown = mims("user", "show", "mary_tan@students.edu.sg", "--json", env=env)
    data = json.loads(shown.stdout)
    assert (data["full_name"], data["school"], data["class_name"], data["active"]) == (
        "Mary Tan",
        "Clementi Primary School",
        "4A",
        True,
    )
    assert "Clementi Primary School / P4 / 4A" in data["groups"]
    assert "locator" not in data  # the entry's DN is the directory's, not the person's
    text = mims("user", "show", "mary_tan@students.edu.sg", env=env).stdout
    assert "login ID        mary_tan@students.edu.sg" in text


def test_show_of_an_unknown_person_exits_1(env: dict[str, str]) -> None:
    result = mims("user", "show", "nobody@students.edu.sg", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: no person has the login ID nobody@students.edu.sg"


def test_import_is_idempotent_and_applies_changes_and_moves(
    tmp_path: Path, env: dict[str, str]
) -> None:
    first = write(
        tmp_path / "a.csv",
        HEADER + "T1,Mary Tan,student,Clementi Primary School,P4,4A\n"
        "T2,Jon Tan,student,Clementi Primary School,P4,4A\n",
    )
    assert mims("import", str(first), env=env).returncode == 0
    again = mims("import", str(first), env=env)
    assert again.stdout.strip() == "2 rows: 0 created, 0 updated, 2 unchanged, 0 rejected"
    changed = write(
        tmp_path / "b.csv",
        HEADER + "T1,Mary Lim,student,Clementi Primary School,P4,4A\n"
        "T2,Jon Tan,student,Bedok Secondary School,S1,1A\n",
    )
    result = mims("import", str(changed), env=env)
    assert result.stdout.strip() == "2 rows: 0 created, 2 updated, 0 unchanged, 0 rejected"
    mary = json.loads(mims("user", "show", "mary_tan@students.edu.sg", "--json", env=env).stdout)
    assert mary["full_name"] == "Mary Lim"  # a name change keeps the login ID
    jon = json.loads(mims("user", "show", "jon_tan@students.edu.sg", "--json", env=env).stdout)
    assert jon["groups"] == [
        "Bedok Secondary School",
        "Bedok Secondary School / S1",
        "Bedok Secondary School / S1 / 1A",
    ]


def test_bad_rows_go_to_the_rejects_file_and_good_rows_are_imported(
    tmp_path: Path, env: dict[str, str]
) -> None:
    roster = tmp_path / "bad.csv"
    roster.write_bytes(
        (
            HEADER + "T1,Mary Tan,student,S,P4,4A\n"
            "T2,,student,S,P4,4A\n"
            "T3,Jon Tan,parent,S,P4,4A\n"
            "T1,Mary Again,student,S,P4,4A\n"
            "T5,Only,three\n"
        ).encode()
        + b"T6,Bad \xff\xfe Bytes,student,S,P4,4A\n"
        + b"T7,Ali Bin Osman,student,S,P4,4A\n"
    )
    rejects = tmp_path / "rejects.csv"
    result = mims("import", str(roster), "--rejects", str(rejects), env=env)
    assert result.returncode == 1
    assert result.stdout.strip() == "7 rows: 2 created, 0 updated, 0 unchanged, 5 rejected"
    with rejects.open(encoding="utf-8") as handle:
        rows = {int(r["row"]): r["reason"] for r in csv.DictReader(handle)}
    assert rows == {
        3: "full_name is empty",
        4: "role 'parent' is not one of student, staff, hq",
        5: "this external_id is used by an earlier row",
        6: "has 3 values but the header names 6 columns",
        7: "is not valid UTF-8 text",
    }
    assert sorted(mims("user", "list", env=env).stdout.split()) == [
        "ali_osman@students.edu.sg",
        "mary_tan@students.edu.sg",
    ]


def test_a_file_without_the_required_columns_is_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    roster = write(tmp_path / "r.csv", "id,name\n1,Mary\n")
    result = mims("import", str(roster), env=env)
    assert result.returncode == 1
    assert "missing columns: external_id, full_name, role, school, level, class" in result.stderr


def test_dry_run_writes_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    roster = write(tmp_path / "r.csv", HEADER + "T1,Mary Tan,student,S,P4,4A\n")
    result = mims("import", str(roster), "--dry-run", env=env)
    assert (
        result.stdout.strip()
        == "1 rows: 1 would be created, 0 would be updated, 0 unchanged, 0 rejected"
    )
    assert mims("user", "list", env=env).stdout == ""


def test_demo_writes_a_roster_that_imports_cleanly(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "demo.csv"
    assert mims("demo", "--people", "300", "--out", str(out)).returncode == 0
    again = tmp_path / "again.csv"
    mims("demo", "--people", "300", "--out", str(again))
    assert out.read_bytes() == again.read_bytes()  # same seed, same file
    result = mims("import", str(out), env=env)
    assert result.stdout.strip() == "300 rows: 300 created, 0 updated, 0 unchanged, 0 rejected"
    ids = mims("user", "list", env=env).stdout.split()
    assert len(ids) == len(set(ids)) == 300


def test_an_import_killed_midway_finishes_when_run_again(
    tmp_path: Path, env: dict[str, str], admin: ldap3.Connection
) -> None:
    roster = tmp_path / "big.csv"
    mims("demo", "--people", "3000", "--out", str(roster))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | env
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "import", str(roster)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Poll over LDAP (milliseconds), not with `mims user list` (a process each, about a second
    # on a busy machine): the bulk importer can write all 3,000 people between two such polls.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _people_in(admin) < 300:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = len(mims("user", "list", env=env).stdout.split())
    assert 0 < partial < 3000, (
        "the import must be stopped in the middle for this test to mean anything"
    )
    result = mims("import", str(roster), env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    people = [
        json.loads(line) for line in mims("user", "list", "--json", env=env).stdout.splitlines()
    ]
    assert len(people) == 3000
    assert len({p["external_id"] for p in people}) == 3000
    assert len({p["login_id"] for p in people}) == 3000
    # The list is printed as it is read: a reader that stops early (`| head -1`) ends it
    # cleanly, with no broken-pipe traceback (3,000 lines of JSON outgrow the pipe's buffer).
    line, status, errors = first_line("user", "list", "--json", env=env)
    assert json.loads(line)["login_id"] in {p["login_id"] for p in people}
    assert (status, errors) == (0, "")
    students = [p for p in people if p["role"] == "student"]
    assert all(len(p["groups"]) == 3 for p in students)  # group memberships were finished too


def _people_in(admin: ldap3.Connection) -> int:
    """Count the people in the directory with one paged search of DNs only."""
    found = admin.extend.standard.paged_search(
        f"ou=people,{SUFFIX}", "(objectClass=mimsPerson)", attributes=["1.1"], generator=True
    )
    return sum(1 for entry in found if entry.get("type") == "searchResEntry")


def test_a_teacher_in_several_schools_imports_from_one_school_column(
    tmp_path: Path, env: dict[str, str]
) -> None:
    roster = write(
        tmp_path / "r.csv",
        "external_id,full_name,role,school,level,class,department,title\n"
        "F1,Siti Rahmah,staff,Clementi Primary School; Bedok Secondary School,,,Mathematics,"
        "Head of Mathematics\n"
        "T1,Mary Tan,student,Clementi Primary School; Bedok Secondary School,P4,4A,,\n",
    )
    result = mims("import", str(roster), "--rejects", str(tmp_path / "rejects.csv"), env=env)
    assert result.stdout.strip() == "2 rows: 1 created, 0 updated, 0 unchanged, 1 rejected"
    assert (
        "a student belongs to exactly one school, not 2" in (tmp_path / "rejects.csv").read_text()
    )
    siti = json.loads(mims("user", "show", "siti_rahmah@schools.gov.sg", "--json", env=env).stdout)
    assert (siti["school"], siti["other_schools"]) == (
        "Clementi Primary School",
        ["Bedok Secondary School"],
    )
    assert (siti["department"], siti["title"]) == ("Mathematics", "Head of Mathematics")
    assert siti["groups"] == ["Bedok Secondary School", "Clementi Primary School"]
    for school in ("Clementi Primary School", "Bedok Secondary School"):
        listed = mims("user", "list", "--school", school, env=env).stdout.split()
        assert listed == ["siti_rahmah@schools.gov.sg"]
    # The next roster drops a school: she leaves its group; the same file again changes nothing.
    fewer = write(
        tmp_path / "s.csv",
        "external_id,full_name,role,school,level,class\n"
        "F1,Siti Rahmah,staff,Clementi Primary School,,\n",
    )
    assert "1 updated" in mims("import", str(fewer), env=env).stdout
    assert "1 unchanged" in mims("import", str(fewer), env=env).stdout
    siti = json.loads(mims("user", "show", "siti_rahmah@schools.gov.sg", "--json", env=env).stdout)
    assert (siti["other_schools"], siti["groups"]) == ([], ["Clementi Primary School"])
    assert siti["title"] == "Head of Mathematics"  # no title column: left as it was


def test_user_add_and_set_with_a_repeated_school(env: dict[str, str]) -> None:
    added = mims(
        "user", "add", "Siti Rahmah", "--role", "staff", "--title", "Teacher",
        "--school", "Clementi Primary School", "--school", "Bedok Secondary School",
        env=env,
    )  # fmt: skip
    assert (added.returncode, added.stdout.strip()) == (0, "siti_rahmah@schools.gov.sg")
    shown = mims("user", "show", "siti_rahmah@schools.gov.sg", env=env).stdout
    assert "other schools   Bedok Secondary School" in shown
    assert "title           Teacher" in shown
    changed = mims(
        "user", "set", "siti_rahmah@schools.gov.sg", "--title", "",
        "--school", "Tampines Primary School", "--school", "Clementi Primary School",
        env=env,
    )  # fmt: skip
    assert changed.stdout.strip() == (
        "changed siti_rahmah@schools.gov.sg: school, other_schools, title"
    )
    siti = json.loads(mims("user", "show", "siti_rahmah@schools.gov.sg", "--json", env=env).stdout)
    assert (siti["school"], siti["other_schools"], siti["title"]) == (
        "Tampines Primary School",
        ["Clementi Primary School"],
        None,
    )
    assert siti["groups"] == ["Clementi Primary School", "Tampines Primary School"]
    again = mims("user", "set", "siti_rahmah@schools.gov.sg", "--title", "", env=env)
    assert again.stdout.strip() == "siti_rahmah@schools.gov.sg unchanged"


def test_user_add_refuses_a_student_in_two_schools_in_one_line(env: dict[str, str]) -> None:
    refused = mims(
        "user", "add", "Mary Tan",
        "--school", "Clementi Primary School", "--school", "Bedok Secondary School",
        env=env,
    )  # fmt: skip
    assert refused.returncode != 0 and refused.stdout == ""
    assert refused.stderr.strip() == (
        "Error: a student belongs to exactly one school, not 2 (Clementi Primary School; "
        "Bedok Secondary School): only staff and hq may have other schools"
    )
    assert mims("user", "list", env=env).stdout == ""
    nothing = mims("user", "set", "mary_tan@students.edu.sg", env=env)
    assert nothing.returncode != 0
    assert nothing.stderr.strip() == (
        "Error: nothing to change: give at least one option (see --help)"
    )


def test_a_used_up_uid_range_is_one_clear_line_and_writes_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    narrow = write(
        tmp_path / "narrow.toml", "[posix]\nuid_number_min = 1000\nuid_number_max = 1001\n"
    )
    spent = env | {"MIMS_CONFIG": str(narrow)}
    roster = write(
        tmp_path / "r.csv", HEADER + "S1,Mary Tan,student,Clementi Primary School,P4,4A\n"
    )
    for refused in (
        mims("user", "add", "Mary Tan", env=spent),
        mims("import", str(roster), env=spent),
    ):
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.strip() == (
            "Error: every uidNumber from 1000 to 1001 is taken: raise [posix] uid_number_max "
            "and try again"
        )
    assert mims("user", "list", env=env).stdout == ""


def test_namesakes_in_two_roles_never_share_a_uid_through_import_rename_and_role_change(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # One file each, so that which namesake comes first is fixed (an import's workers add
    # the rows of one file in no set order).
    student = write(
        tmp_path / "s.csv", HEADER + "S1,Tan Mei Ling,student,Clementi Primary School,P4,4A\n"
    )
    teacher = write(
        tmp_path / "t.csv", HEADER + "F1,Tan Mei Ling,staff,Clementi Primary School,,\n"
    )
    assert "1 created" in mims("import", str(student), env=env).stdout
    assert "1 created" in mims("import", str(teacher), env=env).stdout
    assert sorted(mims("user", "list", env=env).stdout.split()) == [
        "tan_mei_ling@students.edu.sg",
        "tan_mei_ling_1@schools.gov.sg",
    ]
    taken = mims(
        "user", "rename", "tan_mei_ling_1@schools.gov.sg", "tan_mei_ling@schools.gov.sg", env=env
    )
    assert taken.returncode == 1 and taken.stderr.startswith("Error: ")
    assert "Traceback" not in taken.stderr
    # The student becomes staff (a role change by the roster): her uid is hers alone, so she
    # keeps it under the new role's domain.
    moved = write(tmp_path / "m.csv", HEADER + "S1,Tan Mei Ling,staff,Clementi Primary School,,\n")
    assert "1 updated" in mims("import", str(moved), env=env).stdout
    assert sorted(mims("user", "list", env=env).stdout.split()) == [
        "tan_mei_ling@schools.gov.sg",
        "tan_mei_ling_1@schools.gov.sg",
    ]
    # And a new student namesake now takes the next free uid in the whole directory.
    again = write(
        tmp_path / "a.csv", HEADER + "S2,Tan Mei Ling,student,Clementi Primary School,P4,4A\n"
    )
    assert "1 created" in mims("import", str(again), env=env).stdout
    assert "tan_mei_ling_2@students.edu.sg" in mims("user", "list", env=env).stdout.split()


def test_an_import_names_people_by_the_configured_naming_rules(
    tmp_path: Path, env: dict[str, str]
) -> None:
    rules = write(
        tmp_path / "naming.toml", '[naming]\nconnector_words = ["van"]\nmax_local_length = 12\n'
    )
    roster = write(
        tmp_path / "r.csv",
        HEADER + "N1,Jan van Dijk,student,Clementi Primary School,P4,4A\n"
        "N2,Siti Binte Ahmad,staff,Clementi Primary School,,\n"
        "N3,Siti Binte Ahmad,staff,Clementi Primary School,,\n",
    )
    result = mims("import", str(roster), env=env | {"MIMS_CONFIG": str(rules)})
    assert result.returncode == 0, result.stderr
    assert sorted(mims("user", "list", env=env).stdout.split()) == [
        "jan_dijk@students.edu.sg",
        "siti_binte@schools.gov.sg",
        "siti_binte_1@schools.gov.sg",
    ]
