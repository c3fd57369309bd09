"""Bodies scim2-models refuses answer 400 invalidValue, named by SCIM attribute, nothing else.

The library validates POST and PUT bodies and the result of a PATCH (bridge/scim/validation.py);
these tests show its refusals reach the client in the bridge's words, and that what the bridge
does not keep is still ignored rather than refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.scim import ENTERPRISE, GROUP, MIMS, PATCH, USER, Scim, is_error, new_user

LIBRARY_WORDS = ("Input should", "pydantic", "ValidationError", "scim2", "Field '", "dictionary")


def refused(response: Any, attribute: str) -> bool:
    """Whether a response is 400 invalidValue naming ``attribute`` without library words."""
    detail = response.json["detail"]
    clean = not any(words.lower() in detail.lower() for words in LIBRARY_WORDS)
    return is_error(response, 400, "invalidValue") and attribute in detail and clean


@pytest.mark.parametrize(
    ("fields", "attribute"),
    [
        ({"displayName": 5}, "displayName"),
        ({"active": "maybe"}, "active"),
        ({"name": "Mary Tan"}, "name"),
        ({"password": 12345678}, "password"),
        ({MIMS: {"locked": "sometimes"}}, "locked"),
        ({ENTERPRISE: {"department": ["Science"]}}, "department"),
    ],
)
def test_a_post_with_a_value_of_the_wrong_type_is_invalid_value(
    scim: Scim, fields: dict[str, Any], attribute: str
) -> None:
    document = {"schemas": [USER, ENTERPRISE, MIMS], "name": {"formatted": "Mary Tan"}} | fields
    response = scim.post("/Users", document)
    assert refused(response, attribute), response.json
    assert scim.get('/Users?filter=name.formatted eq "Mary Tan"').json["totalResults"] == 0


def test_a_put_and_a_patch_with_a_value_of_the_wrong_type_change_nothing(scim: Scim) -> None:
    user = new_user(scim, displayName="Mary")
    put = scim.put(f"/Users/{user['id']}", {"schemas": [USER], "displayName": {"a": 1}})
    assert refused(put, "displayName"), put.json
    operation = {"op": "replace", "path": "active", "value": "perhaps"}
    patched = scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [operation]})
    assert refused(patched, "active"), patched.json
    # A read-only attribute a PATCH leaves as it was is not checked again; one it changes is.
    operation = {"op": "replace", "path": "meta", "value": "yesterday"}
    patched = scim.patch(f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [operation]})
    assert refused(patched, "meta"), patched.json
    after = scim.get(f"/Users/{user['id']}").json
    assert (after["displayName"], after["active"]) == ("Mary", True)


def test_attributes_the_bridge_does_not_keep_are_ignored(scim: Scim) -> None:
    user = new_user(scim, phoneNumbers=[{"value": "+65 6123 4567"}], nickName="M")
    assert "phoneNumbers" not in user and "nickName" not in user
    group = scim.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "Choir",
            "members": [{"value": user["id"], "display": "M"}],
        },
    )
    assert group.status_code == 201, group.json
    assert [member["value"] for member in group.json["members"]] == [user["id"]]


def test_a_group_with_members_that_are_not_a_list_is_invalid_value(scim: Scim) -> None:
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Choir", "members": "x"})
    assert refused(response, "members"), response.json
