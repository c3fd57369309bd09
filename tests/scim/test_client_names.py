"""``[scim] usernames = "client"``: a client's own userName is kept, the login ID still made."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.support.scim import MIMS, PATCH, USER, Scim, is_error


@pytest.fixture
def scim_client_names(config: Config, directory: LdapClient, token: str) -> Scim:
    app = create_app(config.with_overrides(scim={"usernames": "client"}), client=directory)
    return Scim(app.test_client(), token)


def create(scim: Scim, user_name: str, full_name: str = "Mary Tan", **more: Any) -> dict[str, Any]:
    document = {"schemas": [USER], "userName": user_name, "name": {"formatted": full_name}}
    response = scim.post("/Users", document | more)
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def listed(scim: Scim, query: str) -> list[str]:
    response = scim.get(f"/Users?{query}")
    assert response.status_code == 200, response.json
    return [user["userName"] for user in response.json["Resources"]]


def computed(scim: Scim, user: dict[str, Any]) -> dict[str, Any]:
    """Return a person's MIMS extension with the attributes returned only when asked for."""
    response = scim.get(f"/Users/{user['id']}?attributes={MIMS}:loginId,{MIMS}:role")
    assert response.status_code == 200, response.json
    return response.json[MIMS]  # type: ignore[no-any-return]


def test_a_client_user_name_is_kept_and_the_login_id_made_from_the_name(
    scim_client_names: Scim,
) -> None:
    user = create(scim_client_names, "Mary.Tan@Example.org")
    assert user["userName"] == "Mary.Tan@Example.org"
    assert user["emails"][0]["value"] == "mary_tan@students.edu.sg"
    assert computed(scim_client_names, user)["loginId"] == "mary_tan@students.edu.sg"
    assert scim_client_names.get(f"/Users/{user['id']}").json["userName"] == "Mary.Tan@Example.org"


def test_a_user_name_that_is_a_mims_login_id_still_chooses_it(scim_client_names: Scim) -> None:
    user = create(scim_client_names, "ann_lee@schools.gov.sg", "Ann Lee")
    found = computed(scim_client_names, user)
    assert found["loginId"] == "ann_lee@schools.gov.sg" and found["role"] == "staff"


def test_computed_attributes_are_returned_when_asked_for(
    scim_client_names: Scim, scim: Scim
) -> None:
    """role, loginId, answersSet, mustChange: ``returned: "request"`` in "client" mode only."""
    user = create(scim_client_names, "Mary.Tan@Example.org", **{MIMS: {"school": "Rivervale"}})
    assert user[MIMS] == {"school": "Rivervale", "locked": False}
    listed_user = scim_client_names.get("/Users").json["Resources"][0]
    assert "loginId" not in listed_user[MIMS]
    whole = scim_client_names.get(f"/Users/{user['id']}?attributes={MIMS}").json[MIMS]
    assert whole["loginId"] == "mary_tan@students.edu.sg" and whole["answersSet"] is False
    schema = scim_client_names.get(f"/Schemas/{MIMS}").json["attributes"]
    returned = {item["name"]: item["returned"] for item in schema}
    assert returned["role"] == returned["loginId"] == returned["answersSet"] == "request"
    assert returned["mustChange"] == "request"
    assert returned["school"] == "default"
    # In "login-id" mode they come with every response, as ever.
    assert scim.get(f"/Users/{user['id']}").json[MIMS]["loginId"] == "mary_tan@students.edu.sg"
    login_schema = scim.get(f"/Schemas/{MIMS}").json["attributes"]
    assert {item["returned"] for item in login_schema} == {"default"}


def test_client_user_names_are_unique_without_regard_to_case(scim_client_names: Scim) -> None:
    create(scim_client_names, "Mary.Tan@Example.org")
    again = scim_client_names.post(
        "/Users",
        {"schemas": [USER], "userName": "mary.tan@EXAMPLE.org", "name": {"formatted": "M T"}},
    )
    assert is_error(again, 409, "uniqueness")


def test_filters_and_sorting_use_the_client_user_name(scim_client_names: Scim, scim: Scim) -> None:
    create(scim_client_names, "zed*(x)\\")  # every RFC 4515 special character, escaped
    create(scim_client_names, "Amy", "Amy Ng")
    imported = scim.post("/Users", {"schemas": [USER], "name": {"formatted": "Bob Ho"}}).json
    assert listed(scim_client_names, 'filter=userName eq "amy"') == ["Amy"]
    assert listed(scim_client_names, 'filter=userName eq "zed*(x)\\\\"') == ["zed*(x)\\"]
    assert listed(scim_client_names, 'filter=userName eq "mary_tan@students.edu.sg"') == []
    # A person made without a client name answers to their login ID.
    assert listed(scim_client_names, f'filter=userName eq "{imported["userName"]}"') == [
        "bob_ho@students.edu.sg"
    ]
    assert listed(scim_client_names, 'filter=userName sw "z"') == ["zed*(x)\\"]
    assert listed(scim_client_names, 'filter=userName ne "amy" and userName pr') == [
        "bob_ho@students.edu.sg",
        "zed*(x)\\",
    ]
    assert listed(scim_client_names, "sortBy=userName")[:2] == ["Amy", "zed*(x)\\"]
    # In "login-id" mode the same people answer to their login IDs.
    assert listed(scim, 'filter=userName eq "amy_ng@students.edu.sg"') == ["amy_ng@students.edu.sg"]


def test_put_and_patch_rename_the_client_user_name(scim_client_names: Scim) -> None:
    user = create(scim_client_names, "first")
    login_id = computed(scim_client_names, user)["loginId"]
    path = f"/Users/{user['id']}"
    put = {"schemas": [USER], "userName": "Second", "name": {"formatted": "Mary Tan"}}
    assert scim_client_names.put(path, put).json["userName"] == "Second"
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"userName": "3rd"}}]}
    patched = scim_client_names.patch(path, patch).json
    assert patched["userName"] == "3rd"
    assert computed(scim_client_names, patched)["loginId"] == login_id  # the login ID stays
    assert listed(scim_client_names, 'filter=userName eq "3RD"') == ["3rd"]
