"""`ldapwhoami -e ppolicy`, run as docs/consumers/ldapwhoami.md publishes it, as each of the cast.

The published command is a shell line with the example site's URI, CA file and one person's DN;
the test swaps those for the session slapd's and each person's DN, writes the password file the
command reads, and runs it with ``sh``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import ldap3
import pytest

from bridge.core.people import Person
from bridge.directory.slapd import ManagedSlapd
from tests.support.consumers import (
    EXAMPLE_CA,
    EXAMPLE_SUFFIX,
    EXAMPLE_URI,
    Cast,
    for_site,
    published_files,
)
from tests.support.directory import admin_connection

pytestmark = pytest.mark.skipif(
    shutil.which("ldapwhoami") is None, reason="ldapwhoami is not installed (Debian ldap-utils)"
)

# The person the published command names, and the password file it reads.
EXAMPLE_DN = f"uid=tan_mei_ling,ou=students,ou=people,{EXAMPLE_SUFFIX}"
PASSWORD_FILE = "password.txt"


def whoami(
    slapd: ManagedSlapd, person: Person, password: str, folder: Path
) -> subprocess.CompletedProcess[str]:
    """Run the published command as ``person`` with ``password``, in ``folder``."""
    command = for_site(
        published_files("ldapwhoami")["ldapwhoami.sh"],
        {
            EXAMPLE_URI: str(slapd.ldaps_url()),
            EXAMPLE_CA: str(slapd.layout.tls_dir / "ca.pem"),
            EXAMPLE_DN: entry_dn(slapd, person),
            PASSWORD_FILE: str(folder / PASSWORD_FILE),
        },
    )
    secret = folder / PASSWORD_FILE
    secret.write_text(password)  # no newline: ldapwhoami -y takes the whole file
    secret.chmod(0o600)
    return subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, timeout=30, check=False
    )


def entry_dn(slapd: ManagedSlapd, person: Person) -> str:
    """Return the DN of the person's entry, found by mail as the rootDN."""
    with admin_connection(slapd) as connection:
        connection.search(
            f"ou=people,{slapd.suffix}", f"(mail={person.login_id})", ldap3.SUBTREE, attributes=[]
        )
        (entry,) = connection.entries
        return str(entry.entry_dn)


def test_an_active_person_is_told_who_they_are(
    slapd: ManagedSlapd, cast: Cast, tmp_path: Path
) -> None:
    done = whoami(slapd, cast.student, cast.password, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dn:{entry_dn(slapd, cast.student)}"


def test_a_wrong_password_is_invalid_credentials(
    slapd: ManagedSlapd, cast: Cast, tmp_path: Path
) -> None:
    done = whoami(slapd, cast.teacher, "Not-The-Password-99", tmp_path)
    assert done.returncode == 49
    assert "Invalid credentials" in done.stderr
    assert "Account locked" not in done.stderr


def test_a_locked_account_says_account_locked(
    slapd: ManagedSlapd, cast: Cast, tmp_path: Path
) -> None:
    done = whoami(slapd, cast.locked, cast.password, tmp_path)
    assert done.returncode == 49
    assert "Account locked" in done.stderr


def test_a_temporary_password_says_password_must_be_changed(
    slapd: ManagedSlapd, cast: Cast, tmp_path: Path
) -> None:
    done = whoami(slapd, cast.must_change, cast.temporary, tmp_path)
    assert "Password must be changed" in done.stderr
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dn:{entry_dn(slapd, cast.must_change)}"


def test_a_disabled_account_is_refused_like_a_wrong_password(
    slapd: ManagedSlapd, cast: Cast, tmp_path: Path
) -> None:
    done = whoami(slapd, cast.disabled, cast.password, tmp_path)
    assert done.returncode == 49
    assert "Invalid credentials" in done.stderr
    assert "Account locked" not in done.stderr
    assert done.stdout == ""
