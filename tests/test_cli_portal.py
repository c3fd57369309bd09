"""`mims answers preset`, `mims cards` and `mims cohort start-year`, as a school admin runs them."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.core.challenges import DEFAULT_PARAMS
from bridge.core.naming import LoginId
from bridge.directory.client import LdapClient
from bridge.services import Services, build
from bridge.sspr.service import Portal
from bridge.web.session_store import SessionStore
from tests.support.cli import mims

ROSTER = """external_id,full_name,role,school,level,class
T1,Mary Tan,student,Clementi,P2,2A
T2,Ali Hassan,student,Clementi,P2,2B
T3,Wei Ling,student,Clementi,P5,5A
T4,Other Kid,student,Elsewhere,P2,2A
"""


@pytest.fixture
def env(config: Config, directory: LdapClient, tmp_path: Path) -> dict[str, str]:
    environment = {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(tmp_path)}
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    assert mims("import", str(roster), env=environment).returncode == 0
    return environment


def test_every_new_command_has_help_with_an_example() -> None:
    for command in (["answers", "preset"], ["cards"], ["cohort", "start-year"]):
        result = mims(*command, "--help")
        assert result.returncode == 0 and "Example" in result.stdout, command


def test_preset_answers_for_young_children_work_for_a_reset(
    env: dict[str, str],
    tmp_path: Path,
    config: Config,
    services: Services,
    directory: LdapClient,
) -> None:
    out = tmp_path / "p2.csv"
    result = mims(
        "answers", "preset", "--school", "Clementi", "--level", "P2", "--out", str(out), env=env
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["login_id"] for r in rows] == [
        "mary_tan@students.edu.sg",
        "ali_hassan@students.edu.sg",
    ]
    mary = rows[0]
    answers = {q.id: mary[q.text] for q in config.sspr.questions}
    assert all(a == a.lower() and " " in a for a in answers.values())
    store = SessionStore(tmp_path / "sessions.sqlite", idle_seconds=600, lifetime_seconds=1800)
    portal = Portal(build(config, directory), config.sspr, "x" * 32, store, DEFAULT_PARAMS)
    ticket, questions = portal.start_reset("mary_tan@students.edu.sg")
    assert portal.verify(ticket, answers, browser="a browser")
    state = services.answers.find(LoginId.parse("mary_tan@students.edu.sg"))
    assert state is not None and all(answer not in str(state.stored) for answer in answers.values())


def test_preset_refuses_older_levels(env: dict[str, str]) -> None:
    result = mims("answers", "preset", "--school", "Clementi", "--level", "P5", env=env)
    assert result.returncode == 2 and "P5" in result.stderr


def test_cards_pdf_with_temporary_passwords(
    env: dict[str, str], tmp_path: Path, services: Services
) -> None:
    answers = tmp_path / "p2.csv"
    mims(
        "answers", "preset", "--school", "Clementi", "--level", "P2", "--out", str(answers), env=env
    )
    pdf = tmp_path / "cards.pdf"
    result = mims(
        "cards",
        "--school",
        "Clementi",
        "--level",
        "P2",
        "--answers",
        str(answers),
        "--out",
        str(pdf),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "2 cards on 1 pages" in result.stdout
    assert pdf.read_bytes().startswith(b"%PDF")
    mary = services.people.find_login(LoginId.parse("mary_tan@students.edu.sg"))
    assert mary is not None
    state = services.answers.find(mary.login_id)
    assert state is not None and state.must_change_password  # each card's account was reset
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "mary_tan@students.edu.sg" in text and "/sspr/" in text
        rows = csv.reader(answers.read_text().splitlines())
        mary_row = next(r for r in rows if r[0] == str(mary.login_id))
        assert mary_row[3] in text


def test_cards_for_nobody_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = mims("cards", "--school", "Nowhere", "--out", str(tmp_path / "x.pdf"), env=env)
    assert result.returncode == 1 and "nobody matches" in result.stderr


def test_start_year_forces_new_password_and_answers(
    env: dict[str, str], services: Services
) -> None:
    result = mims(
        "cohort", "start-year", "--level", "P4", "P5", "P6", "--school", "Clementi", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1 people in Clementi in P4 P5 P6")
    wei = services.answers.find(LoginId.parse("wei_ling@students.edu.sg"))
    mary = services.answers.find(LoginId.parse("mary_tan@students.edu.sg"))
    assert wei is not None and wei.must_change_password and wei.must_set_answers
    assert mary is not None and not mary.must_set_answers


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs pdftotext")
def test_cards_print_the_configured_https_portal_url(env: dict[str, str], tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[sspr]\nportal_url = "https://login.school.example/sspr/"\n')
    pdf = tmp_path / "cards.pdf"
    result = mims(
        "cards",
        "--school",
        "Clementi",
        "--level",
        "P5",
        "--out",
        str(pdf),
        env=env | {"MIMS_CONFIG": str(site)},
    )
    assert result.returncode == 0, result.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    assert "https://login.school.example/sspr/" in text.stdout
