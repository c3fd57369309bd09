"""Attack: rename a student to a staff or HQ address and keep the student's role and policy.

A login ID's domain names the role (``[naming.domains]``). A rename into another role's domain,
through SCIM (PUT or PATCH of ``userName``) or `mims user rename`, moves the entry to that
role's OU and changes its role and password policy with it; one that cannot be made (the
address is taken) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ldap3
import pytest

from tests.support.cli import Served, mims, scim_call, serving
from tests.support.directory import SUFFIX
from tests.support.served_portal import directory_of

# Students get the icon policy, everyone else the default (mims): a move shows in the policy.
CONFIG = """
[passwords]
rules = [{ policy = "icon", role = "student" }]
"""
MIMS = "urn:mims:params:scim:schemas:extension:mims:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STAFF, HQ = "schools.gov.sg", "hq.moe.gov.sg"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(CONFIG) as running:
        yield running


def scim(served: Served, method: str, path: str, body: object = None) -> tuple[int, Any]:
    """Send a SCIM request to `mims serve`; return the status and the JSON body."""
    answer = scim_call(served, method, path, body)
    return answer.status, answer.body


def create(served: Served, given: str, family: str) -> dict[str, Any]:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "password": "Sunny7Garden42",
    }
    status, user = scim(served, "POST", "/Users", body)
    assert status == 201, user
    return dict(user)


def stored(served: Served, login: str) -> tuple[str, str, str, str]:
    """Return an entry's OU, mimsRole, mimsPolicyName and pwdPolicySubentry, as slapd has them."""
    with directory_of(served) as connection:
        connection.search(
            f"ou=people,{SUFFIX}",
            f"(mail={ldap3.utils.conv.escape_filter_chars(login)})",
            ldap3.SUBTREE,
            attributes=["mimsRole", "mimsPolicyName", "pwdPolicySubentry"],
        )
        assert len(connection.entries) == 1, login
        entry = connection.entries[0]
        ou = entry.entry_dn.split(",")[1]
        return (
            ou,
            str(entry.mimsRole.value),
            str(entry.mimsPolicyName.value),
            str(entry.pwdPolicySubentry.value),
        )


def policy(name: str) -> str:
    return f"cn={name},ou=policies,{SUFFIX}"


def test_a_scim_patch_to_a_staff_address_makes_a_staff_member(served: Served) -> None:
    user = create(served, "Mei", "Ling")
    assert stored(served, user["userName"]) == ("ou=students", "student", "icon", policy("icon"))
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "userName", "value": f"mei_ling@{STAFF}"}],
    }

    status, renamed = scim(served, "PATCH", f"/Users/{user['id']}", ops)

    assert status == 200, renamed
    assert renamed["userName"] == f"mei_ling@{STAFF}" and renamed["id"] == user["id"]
    assert renamed[MIMS]["role"] == "staff"
    assert stored(served, f"mei_ling@{STAFF}") == ("ou=staff", "staff", "mims", policy("mims"))


def test_a_scim_put_moves_staff_to_hq(served: Served) -> None:
    user = create(served, "Jane", "Lim")
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "userName", "value": f"jane_lim@{STAFF}"}],
    }
    assert scim(served, "PATCH", f"/Users/{user['id']}", ops)[0] == 200
    document = scim(served, "GET", f"/Users/{user['id']}")[1]
    document["userName"] = f"jane_lim@{HQ}"
    del document["meta"]

    status, moved = scim(served, "PUT", f"/Users/{user['id']}", document)

    assert status == 200, moved
    assert moved[MIMS]["role"] == "hq"
    assert stored(served, f"jane_lim@{HQ}") == ("ou=hq", "hq", "mims", policy("mims"))


def test_a_rename_to_a_taken_address_changes_nothing(served: Served) -> None:
    create(served, "Siti", "Rahman")
    taken = f"siti_rahman@{STAFF}"
    assert (
        mims("user", "rename", "siti_rahman@students.edu.sg", taken, env=served.env).returncode == 0
    )
    user = create(served, "Siti", "Rahman")  # a namesake: siti_rahman@students.edu.sg again
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "userName", "value": taken}],
    }

    status, error = scim(served, "PATCH", f"/Users/{user['id']}", ops)

    assert status == 409, error
    assert stored(served, user["userName"]) == ("ou=students", "student", "icon", policy("icon"))


def test_mims_user_rename_to_a_staff_address_changes_role_ou_and_policy(served: Served) -> None:
    user = create(served, "Arun", "Kumar")

    renamed = mims("user", "rename", user["userName"], f"arun_kumar@{STAFF}", env=served.env)

    assert renamed.returncode == 0, renamed.stderr
    assert "role student -> staff" in renamed.stdout
    assert stored(served, f"arun_kumar@{STAFF}") == ("ou=staff", "staff", "mims", policy("mims"))
    shown = mims("user", "show", f"arun_kumar@{STAFF}", "--json", env=served.env)
    assert json.loads(shown.stdout)["role"] == "staff"
    # Back again: the student role and the student policy return with the student address.
    back = mims("user", "rename", f"arun_kumar@{STAFF}", user["userName"], env=served.env)
    assert back.returncode == 0, back.stderr
    assert stored(served, user["userName"]) == ("ou=students", "student", "icon", policy("icon"))


def test_mims_user_rename_refuses_an_unknown_domain_in_one_line(served: Served) -> None:
    user = create(served, "Hui", "Min")

    refused = mims("user", "rename", user["userName"], "hui_min@example.com", env=served.env)

    assert refused.returncode != 0
    assert refused.stderr.count("\n") == 1 and "example.com" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert stored(served, user["userName"]) == ("ou=students", "student", "icon", policy("icon"))
