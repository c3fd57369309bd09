"""Where scim2-models' PATCH does not fit the bridge, shown on the library itself.

Discovery documents come from scim2-models (bridge/scim/models.py, discovery.py). PATCH is
still applied by bridge/scim/patch.py, because the library's ``PatchOp`` refuses requests
that Entra ID sends and RFC 7644 allows; these tests pin that behaviour, so the day the
library changes one of them fails and the hand-written code can go.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException

from bridge.scim.models import EnterpriseUser, MimsUser, User
from tests.support.scim import ENTERPRISE, PATCH, USER

Person = User[EnterpriseUser | MimsUser]
STORED = {
    "schemas": [USER],
    "id": "1",
    "userName": "ann_lee@students.edu.sg",
    "emails": [{"value": "ann_lee@students.edu.sg", "type": "work", "primary": True}],
}


def patched(*operations: dict[str, Any]) -> dict[str, Any]:
    """Apply operations with scim2-models alone; return the resulting document."""
    person = Person.model_validate(STORED, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    request = {"schemas": [PATCH], "Operations": list(operations)}
    PatchOp[Person].model_validate(request, scim_ctx=Context.RESOURCE_PATCH_REQUEST).patch(person)
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

    The bridge takes both (test_users.py::test_enterprise_manager_by_id); the library refuses it.
    """
    with pytest.raises(SCIMException):
        patched({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "2"})
    by_value = patched({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "2"}})
    assert by_value[ENTERPRISE]["manager"] == {"value": "2"}
