"""Where scim2-models does not fit the bridge, shown on the library itself.

Discovery documents come from scim2-models (bridge/scim/models.py, discovery.py), and so does
the validation of POST and PUT bodies and PATCH results (bridge/scim/validation.py). PATCH is
still applied by bridge/scim/patch.py, because the library's ``PatchOp`` refuses requests
that Entra ID sends and RFC 7644 allows; a few body adjustments and checks stay hand-written
for the reasons below. These tests pin the library's behaviour, so the day it changes one of
them fails and the hand-written piece can go.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException

from bridge.scim.models import MimsUser, ScimUser
from tests.support.scim import ENTERPRISE, MIMS, PATCH, USER

STORED = {
    "schemas": [USER],
    "id": "1",
    "userName": "ann_lee@students.edu.sg",
    "emails": [{"value": "ann_lee@students.edu.sg", "type": "work", "primary": True}],
}


def patched(*operations: dict[str, Any]) -> dict[str, Any]:
    """Apply operations with scim2-models alone; return the resulting document."""
    person = ScimUser.model_validate(STORED, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    request = {"schemas": [PATCH], "Operations": list(operations)}
    PatchOp[ScimUser].model_validate(request, scim_ctx=Context.RESOURCE_PATCH_REQUEST).patch(person)
    return person.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def test_the_library_refuses_re_sending_a_read_only_value_by_path() -> None:
    """Entra ID re-sends ``emails`` unchanged; RFC 7644 3.5.2 lets a server accept that.

    The bridge answers 200 (test_read_only_and_names.py::
    test_entra_patch_of_a_different_email_is_refused_the_same_one_is_not); the library refuses any
    PATCH whose path names a read-only attribute, whatever its value, while the same value
    without a path passes: bridge/scim/read_only.py compares with what is stored instead.
    """
    same = STORED["emails"]
    with pytest.raises(ValidationError, match="read-only"):
        patched({"op": "replace", "path": "emails", "value": same})
    assert patched({"op": "replace", "value": {"emails": same}})["emails"] == same


def test_the_library_refuses_the_bare_manager_id_entra_sends() -> None:
    """Entra ID sets the manager with the id as a string, not ``{"value": id}``.

    The bridge takes both (test_users.py::test_enterprise_manager_by_id); the library refuses it,
    so bridge/scim/validation.py wraps a bare id before validating.
    """
    with pytest.raises(SCIMException):
        patched({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "2"})
    with pytest.raises(ValidationError, match="manager"):
        body = STORED | {ENTERPRISE: {"manager": "2"}}
        ScimUser.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    by_value = patched({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "2"}})
    assert by_value[ENTERPRISE]["manager"] == {"value": "2"}


def test_the_library_requires_a_user_name_the_bridge_makes() -> None:
    """A POST without ``userName`` gets a login ID made from the name.

    The bridge answers 201 (test_users.py::
    test_post_without_username_derives_the_login_id_by_the_naming_rules); the library refuses
    the body, so bridge/scim/validation.py validates it with a stand-in userName.
    """
    body = {"schemas": [USER], "name": {"formatted": "Ann Lee"}}
    with pytest.raises(ValidationError, match="userName"):
        ScimUser.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)


def test_the_library_drops_the_role_that_chooses_a_new_login_ids_domain() -> None:
    """``role`` is read-only, but on a POST without userName it picks the login ID's domain.

    The bridge makes a staff address (test_users.py::
    test_post_without_username_derives_the_login_id_by_the_naming_rules, "Lee Ann"); the
    library empties read-only attributes of a creation request, so the role is read from the
    body (bridge/scim/mapping.py, requested_role).
    """
    body = {"schemas": [USER, MIMS], "userName": "x", MIMS: {"role": "staff", "school": "S"}}
    person = ScimUser.model_validate(body, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    mims = person[MimsUser]
    assert mims is not None and (mims.school, mims.role) == ("S", None)


def test_the_library_drops_a_changed_read_only_value_of_a_put_without_a_word() -> None:
    """A PUT whose ``emails`` differ from the login ID must hear 400 mutability.

    The bridge refuses it (test_read_only_and_names.py::
    test_okta_put_with_a_different_email_is_refused_the_login_id_is_not); the library's
    replacement context empties read-only attributes silently, so bridge/scim/read_only.py
    compares the body with what is stored before the library sees it.
    """
    body = STORED | {"emails": [{"value": "someone@else.org"}]}
    person = ScimUser.model_validate(body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    assert person.emails is None
