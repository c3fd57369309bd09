"""`mims password check`, `policy sync` and the account commands, as a school admin uses them."""

from __future__ import annotations

import json
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.directory import ppolicy
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import mims
from tests.support.directory import SUFFIX, ldaps_server

MARY = "mary_tan@students.edu.sg"
MARY_DN = f"uid=mary_tan,ou=students,ou=people,{SUFFIX}"


@pytest.fixture
def env(config: Config, directory: LdapClient, tmp_path: Path) -> dict[str, str]:
    environment = {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(tmp_path)}
    roster = tmp_path / "r.csv"
    roster.write_text(
        "external_id,full_name,role,school,level,class\nT1,Mary Tan,student,S,P2,2A\n"
    )
    assert mims("import", str(roster), env=environment).returncode == 0
    return environment


def bind(slapd: ManagedSlapd, password: str) -> tuple[int, str | None]:
    connection = ldap3.Connection(ldaps_server(slapd), MARY_DN, password)
    connection.open()
    connection.bind(controls=[ppolicy.REQUEST])
    result = dict(connection.result)
    connection.unbind()
    return result["result"], ppolicy.error(result)


@pytest.mark.parametrize(
    ("policy", "password", "lines"),
    [
        ("mims", "Sunny7Garden42", []),
        ("mims", "short1A", ["Make it longer: use at least 12 characters."]),
        ("icon", "Sunny7Garden42", []),
        ("icon", "abcdefgh", ["Add a number, like 7.", "Add a capital letter, like K."]),
    ],
)
def test_password_check_lists_each_failed_rule(
    policy: str, password: str, lines: list[str]
) -> None:
    result = subprocess_check(policy, password)
    assert result.returncode == (1 if lines else 0)
    assert result.stdout.splitlines()[: len(lines)] == lines


def subprocess_check(policy: str, password: str):  # noqa: ANN201
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "password",
            "check",
            "--policy",
            policy,
            "--full-name",
            "Mary Tan",
            "--login-id",
            MARY,
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )


def test_password_check_refuses_the_name_and_an_unknown_policy() -> None:
    assert "Don't use your name in it." in subprocess_check("mims", "MaryTan2024Garden").stdout
    unknown = subprocess_check("nope", "x")
    assert unknown.returncode == 1
    assert "unknown policy 'nope'" in unknown.stderr


def test_reset_unlock_disable_enable(env: dict[str, str], slapd: ManagedSlapd) -> None:
    reset = mims("user", "reset-password", MARY, env=env)
    assert reset.returncode == 0, reset.stderr
    temporary = reset.stdout.strip().rsplit(": ", 1)[1]
    assert bind(slapd, temporary) == (0, "changeAfterReset")
    for _ in range(5):
        bind(slapd, "wrong")
    shown = json.loads(mims("user", "show", MARY, "--json", env=env).stdout)
    assert (shown["lock"]["locked"], shown["lock"]["failures"], shown["active"]) == (True, 5, True)
    assert shown["must_change"] is True
    text = mims("user", "show", MARY, env=env).stdout
    assert "locked          yes" in text
    assert "must change     yes" in text
    assert mims("user", "unlock", MARY, env=env).stdout.strip() == f"unlocked {MARY}"
    shown = json.loads(mims("user", "show", MARY, "--json", env=env).stdout)
    assert (shown["lock"]["locked"], shown["lock"]["failures"]) == (False, 0)
    assert bind(slapd, "wrong")[0] == 49  # one typo after an unlock does not lock again
    assert bind(slapd, temporary) == (0, "changeAfterReset")
    assert mims("user", "disable", MARY, env=env).returncode == 0
    assert bind(slapd, temporary)[0] == 49
    unlock = mims("user", "unlock", MARY, env=env)
    assert "still disabled" in unlock.stdout
    shown = json.loads(mims("user", "show", MARY, "--json", env=env).stdout)
    assert (shown["active"], shown["lock"]["locked"]) == (False, False)
    assert mims("user", "enable", MARY, env=env).returncode == 0
    assert bind(slapd, temporary) == (0, "changeAfterReset")


def test_reset_of_an_unknown_person_is_one_line(env: dict[str, str]) -> None:
    result = mims("user", "reset-password", "nobody@students.edu.sg", env=env)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "Error: no person has the login ID nobody@students.edu.sg",
    )


def test_policy_sync_applies_changed_rules_and_limits(
    env: dict[str, str], tmp_path: Path, admin
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        "[policies.icon]\nmin_length = 9\nhistory = 5\n\n[passwords]\n"
        'rules = [{policy = "icon", role = "student", level = "P2"}]\n'
    )
    result = mims("--config", str(site), "policy", "sync", env=env)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip() == "policies written: icon, mims; people moved to another policy: 1"
    )
    admin.search(MARY_DN, "(objectClass=*)", ldap3.BASE, attributes=["pwdPolicySubentry"])
    assert admin.entries[0].pwdPolicySubentry.value == f"cn=icon,ou=policies,{SUFFIX}"
    admin.search(
        f"cn=icon,ou=policies,{SUFFIX}",
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["pwdMinLength", "pwdInHistory"],
    )
    assert (admin.entries[0].pwdMinLength.value, admin.entries[0].pwdInHistory.value) == ("9", "5")
    again = mims("--config", str(site), "policy", "sync", env=env)
    assert again.stdout.strip().endswith("people moved to another policy: 0")
    # put the session's shared policies back as the default config has them
    assert mims("policy", "sync", env=env).returncode == 0
