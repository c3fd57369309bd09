"""Read-only attributes answer 400 mutability when changed; Okta's and Entra's name parts stay.

Request shapes from the clients' documentation: Microsoft Entra ID, "Tutorial: Develop and
plan provisioning for a SCIM endpoint" (user operations), and Okta, "SCIM 2.0 protocol
reference" (create and update a user with PUT).
"""

from __future__ import annotations

from typing import Any

from tests.support.scim import ENTERPRISE, PATCH, USER, Scim, is_error


def entra_create(user_name: str) -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "Test_User@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName middleName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
            "middleName": "middleName",
            "honorificPrefix": "Dr",
            "honorificSuffix": "Jr",
        },
        "roles": [],
    }


def entra_patch(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": path, "value": value}]}


def test_entra_name_parts_are_stored_and_returned(scim: Scim) -> None:
    created = scim.post("/Users", entra_create("test_user@students.edu.sg"))
    assert created.status_code == 201, created.json
    # A POST's read-only e-mail is ignored (RFC 7644 section 3.3): nothing is stored yet.
    assert created.json["emails"][0]["value"] == "test_user@students.edu.sg"
    name = scim.get(f"/Users/{created.json['id']}").json["name"]
    assert name["middleName"] == "middleName"
    assert (name["honorificPrefix"], name["honorificSuffix"]) == ("Dr", "Jr")
    patched = scim.patch(f"/Users/{created.json['id']}", entra_patch("name.middleName", "Li"))
    assert patched.json["name"]["middleName"] == "Li"


def test_entra_patch_of_a_different_email_is_refused_the_same_one_is_not(scim: Scim) -> None:
    user = scim.post("/Users", entra_create("test_user@students.edu.sg")).json
    path = f"/Users/{user['id']}"
    other = entra_patch('emails[type eq "work"].value', "updatedEmail@microsoft.com")
    assert is_error(scim.patch(path, other), 400, "mutability")
    assert scim.get(path).json["emails"] == user["emails"]
    same = entra_patch('emails[type eq "work"].value', "Test_User@Students.edu.sg")
    assert scim.patch(path, same).status_code == 200


def test_okta_put_with_a_different_email_is_refused_the_login_id_is_not(scim: Scim) -> None:
    user = scim.post("/Users", entra_create("test_user@students.edu.sg")).json
    okta = {
        "schemas": [USER],
        "id": user["id"],
        "userName": "test_user@students.edu.sg",
        "name": {"givenName": "Another", "middleName": "M", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "active": True,
        "groups": [],
        "meta": {"resourceType": "User"},
    }
    path = f"/Users/{user['id']}"
    assert is_error(scim.put(path, okta), 400, "mutability")
    okta["emails"][0]["value"] = "test_user@students.edu.sg"
    replaced = scim.put(path, okta)
    assert replaced.status_code == 200, replaced.json
    assert replaced.json["name"]["middleName"] == "M"
    assert "honorificPrefix" not in replaced.json["name"]  # a PUT replaces the whole name


def test_other_read_only_attributes_are_refused_when_changed(scim: Scim) -> None:
    user = scim.post("/Users", entra_create("test_user@students.edu.sg")).json
    path = f"/Users/{user['id']}"
    mims = "urn:mims:params:scim:schemas:extension:mims:2.0:User"
    for operation in (
        entra_patch(f"{mims}:role", "staff"),
        entra_patch(f"{mims}:loginId", "x@students.edu.sg"),
        {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "emails"}]},
    ):
        assert is_error(scim.patch(path, operation), 400, "mutability"), operation
    assert scim.patch(path, entra_patch(f"{mims}:role", "student")).status_code == 200
