"""`mims service`: accounts for programs, run as a user runs it, checked by binding as them."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Services
from tests.support.cli import mims
from tests.support.directory import SUFFIX, admin_connection, bound

PREFIX = "cli-"


@pytest.fixture
def env(
    config: Config, directory: LdapClient, slapd: ManagedSlapd, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The session directory's `mims` environment; accounts made here are deleted after."""
    yield {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(tmp_path)}
    with admin_connection(slapd) as admin:
        admin.search(f"ou=services,{SUFFIX}", f"(cn={PREFIX}*)", ldap3.LEVEL, attributes=["1.1"])
        for entry in admin.entries:
            admin.delete(entry.entry_dn)  # refint takes it out of its role group
    for leftover in (slapd.layout.root / "services").glob(f"{PREFIX}*"):
        leftover.unlink()


def fields(output: str) -> dict[str, str]:
    """Return the ``label: value`` lines `mims service create` and `rotate` print."""
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def binds(slapd: ManagedSlapd, who: str, secret: str) -> bool:
    try:
        with bound(slapd, who, secret):
            return True
    except AssertionError as refused:
        assert "invalidCredentials" in str(refused)
        return False


def account_names(env: dict[str, str]) -> list[str]:
    listed = mims("service", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    return [line.split()[0] for line in listed.stdout.splitlines()[1:]]


def test_create_writes_a_private_secret_and_a_line_that_works(
    env: dict[str, str], services: Services, slapd: ManagedSlapd
) -> None:
    services.people.create(
        NewPerson(full_name="Mary Tan", role="student", external_id="T1", password=None)
    )
    made = mims("service", "create", f"{PREFIX}gcds", "--role", "gcds", env=env)
    assert made.returncode == 0, made.stderr
    printed = fields(made.stdout)
    assert printed["dn"] == f"cn={PREFIX}gcds,ou=services,{SUFFIX}"
    assert printed["role"] == "gcds"
    secret_file = slapd.layout.root / "services" / f"{PREFIX}gcds.secret"
    assert printed["secret file"] == f"{secret_file} (mode 0600)"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text()
    assert len(secret) >= 43 and "\n" not in secret  # `ldapsearch -y` sends it as it is
    assert secret not in made.stdout + made.stderr
    assert binds(slapd, printed["dn"], secret)
    assert printed["try"].startswith(f"LDAPTLS_CACERT={slapd.ca_file} ldapsearch")
    search = subprocess.run(
        ["sh", "-c", printed["try"]], capture_output=True, text=True, check=False, timeout=30
    )
    assert search.returncode == 0, search.stderr
    assert "mail: mary_tan@students.edu.sg" in search.stdout
    listed = mims("service", "list", env=env).stdout.splitlines()
    assert any(line.split()[:2] == [f"{PREFIX}gcds", "gcds"] for line in listed)
    assert any(line.split()[:2] == ["mims-bridge", "bridge"] for line in listed)


def test_show_prints_the_secret_once_and_writes_no_file(
    env: dict[str, str], slapd: ManagedSlapd
) -> None:
    made = mims("service", "create", f"{PREFIX}kc", "--role", "sso", "--show", env=env)
    assert made.returncode == 0, made.stderr
    printed = fields(made.stdout)
    assert binds(slapd, printed["dn"], printed["secret"])
    assert " -W " in printed["try"]  # ldapsearch asks for the secret
    assert not (slapd.layout.root / "services" / f"{PREFIX}kc.secret").exists()
    assert "cannot be shown again" in made.stderr


def test_rotate_invalidates_the_old_secret(
    env: dict[str, str], slapd: ManagedSlapd, tmp_path: Path
) -> None:
    out = tmp_path / "reader.secret"
    made = mims(
        "service", "create", f"{PREFIX}reader", "--role", "reader", "--out", str(out), env=env
    )
    assert made.returncode == 0, made.stderr
    who, old = fields(made.stdout)["dn"], out.read_text()
    rotated = mims("service", "rotate", f"{PREFIX}reader", "--out", str(out), env=env)
    assert rotated.returncode == 0, rotated.stderr
    new = out.read_text()
    assert new != old and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not binds(slapd, who, old)
    assert binds(slapd, who, new)
    assert list(tmp_path.glob(".reader.secret.*")) == []  # no staging file left behind


def test_a_revoked_account_can_no_longer_bind(env: dict[str, str], slapd: ManagedSlapd) -> None:
    made = mims("service", "create", f"{PREFIX}writer", "--role", "writer", env=env)
    assert made.returncode == 0, made.stderr
    who = fields(made.stdout)["dn"]
    secret_file = slapd.layout.root / "services" / f"{PREFIX}writer.secret"
    secret = secret_file.read_text()
    revoked = mims("service", "revoke", f"{PREFIX}writer", env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert not binds(slapd, who, secret)
    assert not secret_file.exists()
    assert f"{PREFIX}writer" not in account_names(env)
    with admin_connection(slapd) as admin:
        role = f"cn=writer,ou=roles,ou=services,{SUFFIX}"
        admin.search(role, "(objectClass=*)", ldap3.BASE, attributes=["member"])
        assert who not in admin.entries[0].member.values  # out of its role too
    again = mims("service", "revoke", f"{PREFIX}writer", env=env)
    assert (again.returncode, again.stderr) == (
        1,
        f"Error: no service account is named '{PREFIX}writer'\n",
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["create", "Cli-Upper", "--role", "reader"], "must be 1 to 64 lowercase letters"),
        (["create", "cli x", "--role", "reader"], "must be 1 to 64 lowercase letters"),
        (["create", "mims-bridge", "--role", "writer"], "is the bridge's own account"),
        (["create", f"{PREFIX}x", "--role", "admin"], "role 'admin': a service account needs"),
        (["create", f"{PREFIX}x"], "no --role: a service account needs --role"),
        (["create", f"{PREFIX}x", "--role", "reader", "--show", "--out", "f"], "drop --out"),
        (["rotate", "mims-bridge"], "is the bridge's own account"),
        (["revoke", "mims-bridge"], "is the bridge's own account"),
        (["rotate", f"{PREFIX}nobody"], f"no service account is named '{PREFIX}nobody'"),
    ],
)
def test_bad_names_and_roles_are_one_line(env: dict[str, str], args: list[str], words: str) -> None:
    result = mims("service", *args, env=env)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and words in result.stderr, result.stderr
    assert result.stdout == ""


def test_an_existing_secret_file_or_account_is_not_overwritten(
    env: dict[str, str], tmp_path: Path
) -> None:
    taken = tmp_path / "taken.secret"
    taken.write_text("someone else's")
    refused = mims(
        "service", "create", f"{PREFIX}a", "--role", "reader", "--out", str(taken), env=env
    )
    assert (refused.returncode, refused.stderr) == (
        1,
        f"Error: {taken} exists already: remove it or choose another --out\n",
    )
    assert taken.read_text() == "someone else's"
    assert f"{PREFIX}a" not in account_names(env)
    assert mims("service", "create", f"{PREFIX}a", "--role", "reader", env=env).returncode == 0
    twice = mims("service", "create", f"{PREFIX}a", "--role", "sso", "--show", env=env)
    assert (twice.returncode, twice.stderr) == (
        1,
        f"Error: a service account named '{PREFIX}a' already exists\n",
    )


@pytest.mark.parametrize("command", [[], ["create"], ["list"], ["rotate"], ["revoke"]])
def test_every_service_command_has_help_with_an_example(command: list[str]) -> None:
    result = mims("service", *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
