"""/Groups over HTTP, and the request shapes Entra ID and Okta send (from their docs)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from bridge.directory.people import PeopleStore
from bridge.services import Services
from tests.support.scim import GROUP, MIMS, PATCH, USER, Scim, is_error, new_user


def new_group(scim: Scim, name: str, members: list[str] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
    if members is not None:
        document["members"] = [{"value": member} for member in members]
    response = scim.post("/Groups", document)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def test_empty_group_then_members_by_patch_entra_style(scim: Scim) -> None:
    ann = new_user(scim, name={"formatted": "Ann Lee"})
    ben = new_user(scim, name={"formatted": "Ben Koh"})
    group = new_group(scim, "Robotics Club")
    assert group["members"] == []
    # Entra: the group is looked up by displayName with members excluded.
    found = scim.get(
        '/Groups?filter=displayName eq "Robotics Club"&excludedAttributes=members'
    ).json
    assert found["totalResults"] == 1 and "members" not in found["Resources"][0]
    add = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": ann["id"]}, {"value": ben["id"]}]}
        ],
    }
    response = scim.patch(f"/Groups/{group['id']}", add)
    assert response.status_code == 200, response.json
    assert {m["value"] for m in response.json["members"]} == {ann["id"], ben["id"]}
    again = scim.patch(f"/Groups/{group['id']}", add)  # Entra: Add of a value already there
    assert again.status_code == 200
    remove = {
        "schemas": [PATCH],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": ann["id"]}]}],
    }
    assert [m["value"] for m in scim.patch(f"/Groups/{group['id']}", remove).json["members"]] == [
        ben["id"]
    ]
    user = scim.get(f"/Users/{ben['id']}").json
    assert [g["value"] for g in user["groups"]] == [group["id"]]


def test_member_removal_by_value_filter_and_replace(scim: Scim) -> None:
    ann = new_user(scim, name={"formatted": "Ann Lee"})
    ben = new_user(scim, name={"formatted": "Ben Koh"})
    group = new_group(scim, "Choir", [ann["id"], ben["id"]])
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": f'members[value eq "{ann["id"]}"]'}],
    }
    assert [m["value"] for m in scim.patch(f"/Groups/{group['id']}", ops).json["members"]] == [
        ben["id"]
    ]
    ops = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "members", "value": []}]}
    assert scim.patch(f"/Groups/{group['id']}", ops).json["members"] == []
    rename = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "value": {"displayName": "Choir A"}}],
    }
    assert scim.patch(f"/Groups/{group['id']}", rename).json["displayName"] == "Choir A"


def test_group_errors(scim: Scim) -> None:
    new_group(scim, "Chess")
    assert is_error(
        scim.post("/Groups", {"schemas": [GROUP], "displayName": "Chess"}), 409, "uniqueness"
    )
    assert is_error(scim.post("/Groups", {"schemas": [GROUP]}), 400, "invalidValue")
    unknown = {"schemas": [GROUP], "displayName": "X", "members": [{"value": "nobody"}]}
    assert is_error(scim.post("/Groups", unknown), 400, "invalidValue")
    assert is_error(scim.get("/Groups/00000000-0000-0000-0000-000000000000"), 404)


def test_put_and_delete_group_and_managed_groups_show(scim: Scim) -> None:
    ann = new_user(
        scim, name={"formatted": "Ann Lee"}, **{MIMS: {"school": "Bedok Primary School"}}
    )
    school = scim.get('/Groups?filter=displayName eq "Bedok Primary School"').json["Resources"][0]
    assert [m["value"] for m in school["members"]] == [ann["id"]]
    assert is_error(scim.delete(f"/Groups/{school['id']}"), 400)
    group = new_group(scim, "Art")
    put = {"schemas": [GROUP], "displayName": "Art Club", "members": [{"value": ann["id"]}]}
    replaced = scim.put(f"/Groups/{group['id']}", put).json
    assert replaced["displayName"] == "Art Club" and len(replaced["members"]) == 1
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert is_error(scim.get(f"/Groups/{group['id']}"), 404)


def test_concurrent_patches_of_one_group_all_land(app: Flask, scim: Scim) -> None:
    users = [new_user(scim, name={"formatted": f"Kid Number {i}"})["id"] for i in range(12)]
    group = new_group(scim, "Sports Day")
    errors: list[Any] = []

    def add(member: str) -> None:
        client = Scim(app.test_client(), scim.headers["Authorization"].split()[1])
        ops = {
            "schemas": [PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}],
        }
        try:
            response = client.patch(f"/Groups/{group['id']}", ops)
            if response.status_code != 200:
                errors.append(response.json)
        finally:
            app.extensions["mims.health"].close()  # this thread's own connections

    threads = [threading.Thread(target=add, args=(member,)) for member in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    members = scim.get(f"/Groups/{group['id']}").json["members"]
    assert {m["value"] for m in members} == set(users)


def test_entra_user_lookups_and_string_booleans(scim: Scim) -> None:
    user = new_user(
        scim, userName="ann_lee@students.edu.sg", externalId="A-1", name={"formatted": "Ann Lee"}
    )
    for text in (
        'userName eq "ann_lee@students.edu.sg"',
        'externalId eq "A-1"',
        'emails[type eq "work"].value eq "ann_lee@students.edu.sg"',
    ):
        found = scim.get(f"/Users?filter={text}").json
        assert [u["id"] for u in found["Resources"]] == [user["id"]], text
    # Entra disables with a capitalised op and a string boolean instead of DELETE.
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    assert scim.patch(f"/Users/{user['id']}", ops).json["active"] is False
    # Extension attributes in POST, written with their URN prefix at the top level.
    made = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "bob_tan@students.edu.sg",
            "name": {"formatted": "Bob Tan"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Maths",
            "active": "True",
        },
    )
    assert made.status_code == 201, made.json
    assert (
        made.json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"]
        == "Maths"
    )


def test_okta_connection_test_lookup_deactivate_and_read(scim: Scim) -> None:
    assert scim.get("/Users?startIndex=1&count=2").status_code == 200
    assert (
        scim.get(
            '/Users?filter=userName eq "okta_kid@students.edu.sg"&startIndex=1&count=100'
        ).json["totalResults"]
        == 0
    )
    user = new_user(scim, userName="okta_kid@students.edu.sg", name={"formatted": "Okta Kid"})
    ops = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim.patch(f"/Users/{user['id']}", ops).json["active"] is False
    put = dict(scim.get(f"/Users/{user['id']}").json, active=True)
    assert scim.put(f"/Users/{user['id']}", put).json["active"] is True
    put["active"] = False
    assert scim.put(f"/Users/{user['id']}", put).json["active"] is False
    assert scim.get(f"/Users/{user['id']}").status_code == 200  # deactivated, still readable


def test_okta_group_push(scim: Scim) -> None:
    ann = new_user(scim, name={"formatted": "Ann Lee"})
    ben = new_user(scim, name={"formatted": "Ben Koh"})
    # Okta looks the group up by name, creates it with members, then PATCHes.
    assert scim.get('/Groups?filter=displayName eq "Okta Push"').json["totalResults"] == 0
    group = new_group(scim, "Okta Push", [ann["id"]])
    ops = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "value": {"id": group["id"], "displayName": "Okta Push 2"}},
            {"op": "add", "path": "members", "value": [{"value": ben["id"], "display": "Ben Koh"}]},
            {"op": "remove", "path": f'members[value eq "{ann["id"]}"]'},
        ],
    }
    patched = scim.patch(f"/Groups/{group['id']}", ops)
    assert patched.status_code == 200, patched.json
    assert patched.json["displayName"] == "Okta Push 2"
    assert [m["value"] for m in patched.json["members"]] == [ben["id"]]


def test_a_posted_group_gets_an_address_scim_does_not_show_and_a_rename_keeps_it(
    people_store: PeopleStore, scim: Scim, services: Services
) -> None:
    chess = new_group(scim, "Chess Club")
    namesake = new_group(scim, "Chess-Club")
    groups = people_store.groups
    assert groups.get(chess["id"]).address == "chess-club@groups.schools.gov.sg"
    assert groups.get(namesake["id"]).address == "chess-club-2@groups.schools.gov.sg"
    # The address is for GCDS, read over LDAP; SCIM's Group has no attribute for it.
    assert chess["schemas"] == [GROUP]
    assert not {"mail", "emails", "address"} & set(chess)
    rename = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Strategy Club"}],
    }
    response = scim.patch(f"/Groups/{chess['id']}", rename)
    assert (response.status_code, response.json["displayName"]) == (200, "Strategy Club")
    assert groups.get(chess["id"]).address == "chess-club@groups.schools.gov.sg"
