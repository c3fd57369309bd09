"""What every consumer test shares: the published configuration, a service account, a cast.

A consumer's configuration lives once, in ``docs/consumers/<name>.md``: each fenced block whose
info string names a file (```` ```ini file=sssd.conf ````) is that file as a school would write
it, with the example site's values below. A test reads the block, swaps the example values for
its own directory's, and runs the real program on it, so the published text cannot rot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bridge.core.people import Person
from tests.support.cli import mims

DOCS = Path(__file__).resolve().parents[2] / "docs" / "consumers"

# The example site every page of docs/consumers/ is written for.
EXAMPLE_URI = "ldaps://ldap.school.example:636"
EXAMPLE_HOST = "ldap.school.example"
EXAMPLE_PORT = "636"
EXAMPLE_CA = "/etc/mims/ca.pem"
# The bridge's LDAP password service (docs/password-change.md), where `passwd` changes go.
EXAMPLE_PASSWORD_URI = "ldaps://mims.school.example:1637"
EXAMPLE_SECRET = "SECRET-FROM-MIMS-SERVICE-CREATE"
EXAMPLE_SUFFIX = "dc=mims,dc=example"  # the tests' own suffix too

# Every person of the cast signs in with this (it meets the default policy), but must_change.
PASSWORD = "Mango-Kettle-Orbit-42"
NEW_PASSWORD = "Quartz-Pelican-Lantern-77"

_BLOCK = re.compile(
    r"^```[\w-]*[ \t]+file=(?P<name>\S+)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S
)


def published_files(consumer: str) -> dict[str, str]:
    """Return each file that ``docs/consumers/<consumer>.md`` publishes, by its name."""
    text = (DOCS / f"{consumer}.md").read_text()
    files = {match["name"]: match["body"] for match in _BLOCK.finditer(text)}
    if not files:
        raise AssertionError(f"docs/consumers/{consumer}.md publishes no ```... file=NAME block")
    return files


def for_site(text: str, values: dict[str, str]) -> str:
    """Return published text with each example value swapped for this site's.

    Every example value named must occur in the text: a page that stopped using one would
    otherwise be tested with a value it no longer has.
    """
    for example, actual in values.items():
        if example not in text:
            raise AssertionError(f"the published configuration no longer contains {example!r}")
        text = text.replace(example, actual)
    return text


@dataclass(frozen=True)
class ServiceAccount:
    """A service account made by `mims service create`, as a consumer's configuration needs it."""

    dn: str
    secret: str


def create_service_account(data_dir: Path, name: str, role: str) -> ServiceAccount:
    """Make a service account with `mims service create NAME --role ROLE --show`."""
    done = mims("service", "create", name, "--role", role, "--show", "--data-dir", str(data_dir))
    if done.returncode != 0:
        raise AssertionError(f"mims service create failed: {done.stderr.strip()}")
    fields = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    return ServiceAccount(fields["dn"], fields["secret"])


@dataclass(frozen=True)
class Cast:
    """The people of a consumer test, each with the password they sign in with."""

    student: Person  # Tan Mei Ling, a student at Clementi Primary School, 4A
    teacher: Person  # Tan Mei Ling, a teacher at the same school
    locked: Person
    disabled: Person
    must_change: Person  # holds a temporary password, ``temporary``
    temporary: str
    password: str = PASSWORD
