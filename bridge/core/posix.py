"""What a person is to a Unix machine: number ranges, home folder and login shell.

SSSD and nslcd see only ``posixAccount`` entries (uidNumber, gidNumber, homeDirectory,
loginShell). A person's gidNumber is their uidNumber: a user private group, which SSSD makes
up itself with ``auto_private_groups = true``, so no group entry is written for it. Groups
(schools, classes) take their gidNumbers from a range of their own, disjoint from people's, so
a person's private group never shares a number with a real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bridge.core.people import Role

IdKind = Literal["uid", "gid"]

DEFAULT_SHELL = "/bin/bash"
DEFAULT_HOME = "/home/{uid}"


@dataclass(frozen=True)
class IdRange:
    """The numbers one kind may take, first and last included, and the setting that sets each."""

    first: int
    last: int
    setting: str  # e.g. "[posix] uid_number_max": what an administrator widens

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and self.first <= number <= self.last


@dataclass(frozen=True)
class PosixRules:
    """The configured ranges, home folder pattern and login shell by role."""

    uid_numbers: IdRange = IdRange(100_000, 4_999_999, "[posix] uid_number_max")
    gid_numbers: IdRange = IdRange(5_000_000, 5_999_999, "[posix] gid_number_max")
    home_directory: str = DEFAULT_HOME
    login_shells: Mapping[Role, str] = field(
        default_factory=lambda: dict.fromkeys(("student", "staff", "hq"), DEFAULT_SHELL)
    )

    def numbers(self, kind: IdKind) -> IdRange:
        """Return the range of uidNumbers or of gidNumbers."""
        return self.uid_numbers if kind == "uid" else self.gid_numbers

    def home(self, uid: str) -> str:
        """Return a person's home folder: ``home_directory`` with ``{uid}`` filled in."""
        return self.home_directory.replace("{uid}", uid)

    def shell(self, role: Role) -> str:
        """Return the login shell of a role (``[posix.login_shells]``)."""
        return self.login_shells.get(role, DEFAULT_SHELL)


DEFAULT_RULES = PosixRules()
