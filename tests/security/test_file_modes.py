"""Files that `mims` writes with secrets are the owner's alone (0600), its data folder too (0700).

Each command runs as a school's administrator would, with the usual umask (022), which left
the answer CSVs and card PDFs readable by every account on the machine (0644).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.support.cli import mims

ROSTER = """external_id,full_name,role,school,level,class
F1,Mary Tan,student,Clementi,P2,2A
F2,Ali Hassan,student,Clementi,P2,2B
"""


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def env(config: Config, directory: LdapClient, tmp_path: Path) -> dict[str, str]:
    environment = {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(tmp_path)}
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    assert mims("import", str(roster), env=environment).returncode == 0
    return environment


@pytest.mark.parametrize("already_there", [False, True])
def test_preset_answers_and_login_cards_are_written_0600(
    env: dict[str, str], tmp_path: Path, already_there: bool
) -> None:
    answers, cards = tmp_path / "p2.csv", tmp_path / "p2.pdf"
    if already_there:  # an earlier run's file, or one the admin made: its mode must not stay
        for path in (answers, cards):
            path.write_text("old")
            path.chmod(0o644)
    preset = ("answers", "preset", "--school", "Clementi", "--level", "P2", "--out", str(answers))
    assert mims(*preset, env=env).returncode == 0
    printed = ("cards", "--school", "Clementi", "--answers", str(answers), "--out", str(cards))
    result = mims(*printed, env=env)
    assert result.returncode == 0, result.stderr
    assert cards.read_bytes().startswith(b"%PDF")
    assert "mary_tan@students.edu.sg" in answers.read_text()
    assert (mode(answers), mode(cards)) == (0o600, 0o600)


def test_rejected_roster_rows_are_written_0600(env: dict[str, str], tmp_path: Path) -> None:
    roster, rejects = tmp_path / "bad.csv", tmp_path / "rejects.csv"
    roster.write_text("external_id,full_name,role,school,level,class\nF9,,student,Clementi,P2,2A\n")
    result = mims("import", str(roster), "--rejects", str(rejects), env=env)
    assert "F9" in rejects.read_text(), result.stderr
    assert mode(rejects) == 0o600


def test_a_data_folder_made_beforehand_becomes_0700(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    result = mims("slapd", "init", "--data-dir", str(data), env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    secrets = [path for path in data.iterdir() if path.is_file() and "secret" in path.name]
    assert secrets and all(mode(path) == 0o600 for path in secrets)
