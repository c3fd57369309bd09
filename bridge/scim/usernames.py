"""What a SCIM userName names: the login ID, or (``[scim] usernames = "client"``) the client's.

In "login-id" mode a userName must be a MIMS login ID, as ever. In "client" mode whatever the
client sends is kept as its name for the person (``Person.user_name``, unique without regard
to case in the directory); when that name is also a login ID in a MIMS domain it chooses the
login ID too, otherwise the login ID and mail are made from the person's name.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bridge.core.naming import InvalidLoginId, LoginId
from bridge.errors import InvalidValue


@dataclass(frozen=True)
class UserName:
    """A userName read: the login ID it chooses, and the client's own name to store."""

    login_id: LoginId | None
    client_name: str | None = None


def login_id(text: str) -> LoginId:
    """Read a userName that must be a login ID; refuse anything else with 400 invalidValue."""
    try:
        return LoginId.parse(text)
    except InvalidLoginId as error:
        raise InvalidValue(
            f"userName must be a login ID such as ann_lee@students.edu.sg: {error}"
        ) from None


def read(text: str | None, client: bool, domains: Collection[str]) -> UserName:
    """Read a userName as the mode says; ``domains`` are the MIMS login-ID domains."""
    if not text:
        return UserName(None)
    if not client:
        return UserName(login_id(text))
    try:
        login = LoginId.parse(text)
    except InvalidLoginId:
        return UserName(None, text)
    return UserName(login if login.domain in domains else None, text)
