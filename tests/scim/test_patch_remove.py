"""PATCH remove of what the directory keeps or computes: name, active, locked (RFC 7644 3.5.2.2).

The directory always holds a full name (cn), counts an account active unless disabled, and
reads a lock from ppolicy; a client that removes one of these no longer sees it until it sets
it again, while the entry keeps a name made from displayName, stays enabled and is unlocked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ldap3
import pytest
from ldap3.utils.conv import escape_filter_chars

from bridge.config import Config
from tests.support.scim import MIMS, PATCH, USER, Scim

Reader = Callable[[str, str], list[str]]


def create(scim: Scim, **more: Any) -> dict[str, Any]:
    document = {
        "schemas": [USER],
        "name": {"formatted": "Mary Tan", "givenName": "Mary", "familyName": "Tan"},
        "displayName": "Mary T",
    }
    response = scim.post("/Users", document | more)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def patch(scim: Scim, user: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    response = scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": operations})
    assert response.status_code == 200, response.json
    return response.json  # type: ignore[no-any-return]


@pytest.fixture
def read_entry(admin: ldap3.Connection, config: Config) -> Reader:
    """Return a function that reads one attribute of a person's entry, found by login ID."""

    def read(login_id: str, attribute: str) -> list[str]:
        admin.search(
            config.directory.suffix,
            f"(mail={escape_filter_chars(login_id)})",
            ldap3.SUBTREE,
            attributes=[attribute],
        )
        assert len(admin.entries) == 1
        return [value.decode() for value in admin.entries[0][attribute].raw_values]

    return read


def test_removing_name_keeps_a_full_name_made_from_display_name(
    scim: Scim, read_entry: Reader
) -> None:
    user = create(scim)
    removed = patch(scim, user, {"op": "remove", "path": "name"})
    assert "name" not in removed
    assert "name" not in scim.get(f"/Users/{user['id']}").json
    assert read_entry(user["userName"], "cn") == ["Mary T"]
    assert read_entry(user["userName"], "givenName") == []
    # Setting a name again shows it again.
    again = patch(scim, user, {"op": "add", "path": "name", "value": {"formatted": "Mary Lim"}})
    assert again["name"] == {"formatted": "Mary Lim"}
    assert read_entry(user["userName"], "cn") == ["Mary Lim"]


def test_removing_active_enables_the_account_and_stops_returning_active(
    scim: Scim, read_entry: Reader
) -> None:
    user = create(scim, active=False)
    assert read_entry(user["userName"], "mimsDisabled") == ["TRUE"]
    removed = patch(scim, user, {"op": "remove", "path": "active"})
    assert "active" not in removed
    assert read_entry(user["userName"], "mimsDisabled") == []
    # A disabled account shows active false whatever a client removed before.
    disabled = patch(scim, user, {"op": "replace", "path": "active", "value": False})
    assert disabled["active"] is False
    assert patch(scim, user, {"op": "replace", "path": "active", "value": True})["active"] is True


def test_removing_locked_unlocks_and_stops_returning_locked(scim: Scim, read_entry: Reader) -> None:
    user = create(scim, **{MIMS: {"locked": True}})
    assert read_entry(user["userName"], "pwdAccountLockedTime")
    removed = patch(scim, user, {"op": "remove", "path": f"{MIMS}:locked"})
    assert "locked" not in removed.get(MIMS, {})
    assert read_entry(user["userName"], "pwdAccountLockedTime") == []
    # Locking again shows it again, and so does unlocking with false.
    assert patch(scim, user, {"op": "add", "path": f"{MIMS}:locked", "value": True})[MIMS]["locked"]
    unlocked = patch(scim, user, {"op": "replace", "path": f"{MIMS}:locked", "value": False})
    assert unlocked[MIMS]["locked"] is False


def test_a_put_without_them_does_not_count_as_removing(scim: Scim) -> None:
    """A PUT that leaves out active keeps returning it (Okta sends PUTs)."""
    user = create(scim)
    put = {"schemas": [USER], "userName": user["userName"], "name": {"formatted": "Mary Tan"}}
    replaced = scim.put(f"/Users/{user['id']}", put).json
    assert replaced["active"] is True and replaced["name"]["formatted"] == "Mary Tan"
    assert replaced[MIMS]["locked"] is False


def test_removing_the_mims_extension_keeps_what_the_server_computes(scim: Scim) -> None:
    """In "login-id" mode role, loginId, answersSet and mustChange come with every response."""
    user = create(scim, **{MIMS: {"school": "Rivervale", "locked": True}})
    removed = patch(scim, user, {"op": "remove", "path": MIMS})
    assert removed[MIMS] == {
        "role": "student",
        "loginId": user["userName"],
        "answersSet": False,
        "mustChange": False,
    }
