"""Service accounts: the programs that bind to the directory, each with one role.

A role is what a kind of program needs and no more: ``reader`` (people's and groups' public
attributes), ``gcds`` (what Google Cloud Directory Sync reads), ``sso`` (what a SAML identity
provider such as Keycloak reads: people and their lock state; it checks passwords by binding
as the person) and ``writer`` (what the bridge itself does). The directory turns a role into
membership of one group that its access rules name, so adding an account never edits them.

A secret is ``secrets.token_urlsafe(32)``: 256 bits, typed by nobody, so no lockout applies.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bridge.errors import InvalidValue

ServiceRole = Literal["reader", "gcds", "sso", "writer"]
ROLES: tuple[ServiceRole, ...] = ("reader", "gcds", "sso", "writer")
BRIDGE_ACCOUNT = "mims-bridge"  # the bridge's own account, made with the directory
SECRET_BYTES = 32  # 256 bits
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class ServiceAccount:
    """A service account as ``mims service list`` shows it (never its secret).

    ``role`` is None for an account in no role group (made by hand): it reads nothing.
    ``bridge`` marks the bridge's own account, whose rights the access rules name directly.
    """

    name: str
    dn: str
    role: ServiceRole | None
    bridge: bool = False
    created: datetime | None = None
    secret_changed: datetime | None = None


def check_name(name: str) -> str:
    """Return the name if it is a short lowercase label that is not the bridge's own account."""
    if not _NAME.match(name):
        raise InvalidValue(
            f"service account name {name!r} must be 1 to 64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter"
        )
    if name == BRIDGE_ACCOUNT:
        raise InvalidValue(
            f"{BRIDGE_ACCOUNT!r} is the bridge's own account (its secret is in the data folder's "
            "service.secret); choose another name"
        )
    return name


def check_role(role: str | None) -> ServiceRole:
    """Return the role if it is one of ``ROLES``."""
    for known in ROLES:
        if role == known:
            return known
    given = "no --role" if role is None else f"role {role!r}"
    raise InvalidValue(f"{given}: a service account needs --role {'|'.join(ROLES)}")


def new_secret() -> str:
    """Return a fresh random secret (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(SECRET_BYTES)
