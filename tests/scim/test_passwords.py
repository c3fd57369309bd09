"""Passwords and locks over SCIM: the same policy, history and lockout as every other path."""

from __future__ import annotations

import ldap3

from bridge.directory import ppolicy
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Services
from tests.support.directory import SUFFIX, ldaps_server
from tests.support.scim import MIMS, PATCH, USER, Scim, is_error

GOOD = "Sunny7Garden42"
NEWER = "Purple9Rocket31"


def create(scim: Scim, password: str | None = GOOD):  # noqa: ANN201
    body = {
        "schemas": [USER],
        "name": {"givenName": "Mary", "familyName": "Tan"},
        "externalId": "T1",
    }
    if password is not None:
        body["password"] = password
    return scim.post("/Users", body)


def bind(slapd: ManagedSlapd, password: str) -> tuple[int, str | None]:
    connection = ldap3.Connection(
        ldaps_server(slapd),
        f"uid=mary_tan,ou=students,ou=people,{SUFFIX}",
        password,
    )
    connection.open()
    connection.bind(controls=[ppolicy.REQUEST])
    result = dict(connection.result)
    connection.unbind()
    return result["result"], ppolicy.error(result)


def replace_password(scim: Scim, user_id: str, password: str):  # noqa: ANN201
    return scim.patch(
        f"/Users/{user_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "password", "value": password}],
        },
    )


def test_a_weak_password_on_create_lists_every_rule_and_creates_nothing(scim: Scim) -> None:
    response = create(scim, "marytan")
    assert is_error(response, 400, "invalidValue")
    detail = response.get_json(force=True)["detail"]
    assert (
        "Make it longer" in detail and "Add a number" in detail and "Don't use your name" in detail
    )
    assert scim.get('/Users?filter=externalId eq "T1"').get_json()["totalResults"] == 0


def test_a_password_set_over_scim_is_stored_hashed_and_binds(
    scim: Scim, slapd: ManagedSlapd, admin
) -> None:
    assert create(scim).status_code == 201
    assert bind(slapd, GOOD) == (0, None)
    admin.search(
        f"uid=mary_tan,ou=students,ou=people,{SUFFIX}",
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["userPassword"],
    )
    assert GOOD.encode() not in bytes(str(admin.entries[0].userPassword.value), "utf-8")
    assert "password" not in create(scim).get_json(force=True)  # never returned, even in errors


def test_history_holds_on_the_scim_path(scim: Scim, slapd: ManagedSlapd) -> None:
    user = create(scim).get_json()
    assert replace_password(scim, user["id"], NEWER).status_code == 200
    again = replace_password(scim, user["id"], GOOD)
    assert is_error(again, 400, "invalidValue")
    assert "used this password before" in again.get_json(force=True)["detail"]
    assert bind(slapd, NEWER) == (0, None)


def test_a_weak_password_on_patch_changes_nothing(scim: Scim, slapd: ManagedSlapd) -> None:
    user = create(scim).get_json()
    response = replace_password(scim, user["id"], "short")
    assert is_error(response, 400, "invalidValue")
    assert bind(slapd, GOOD) == (0, None)


def test_lock_shows_in_scim_and_patching_locked_false_unlocks(
    scim: Scim, slapd: ManagedSlapd
) -> None:
    user = create(scim).get_json()
    for _ in range(5):
        bind(slapd, "wrong")
    shown = scim.get(f"/Users/{user['id']}").get_json()
    assert shown[MIMS]["locked"] is True
    assert shown["active"] is True  # a lock is not a disable
    unlock = scim.patch(
        f"/Users/{user['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": f"{MIMS}:locked", "value": False}],
        },
    )
    assert unlock.status_code == 200
    assert unlock.get_json()[MIMS]["locked"] is False
    assert bind(slapd, GOOD) == (0, None)


def test_a_temporary_password_shows_as_must_change_and_a_new_one_clears_it(
    scim: Scim, services: Services
) -> None:
    user = create(scim).json
    assert user[MIMS]["mustChange"] is False
    services.passwords.reset(services.people.get(user["id"]), "test")
    assert scim.get(f"/Users/{user['id']}").json[MIMS]["mustChange"] is True
    assert replace_password(scim, user["id"], NEWER).status_code == 200
    assert scim.get(f"/Users/{user['id']}").json[MIMS]["mustChange"] is False


def test_must_change_cannot_be_set_by_a_client(scim: Scim) -> None:
    user = create(scim).json
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": f"{MIMS}:mustChange", "value": True}],
    }
    refused = scim.patch(f"/Users/{user['id']}", ops)
    assert is_error(refused, 400, "mutability")
