"""The audit trail: every change through SCIM, the portal and `mims` is recorded, and writes
made over LDAP directly come from slapd's accesslog, all shown by `mims audit`.

Each event says who (the SCIM token's name, the CLI user, or the person themself), from where
(the client's address), what (operation, entryUUID, the names of the attributes changed), the
outcome and the request id the response carried; no password, answer or token ever reaches
the file. The file is 0600 and several gunicorn workers writing at once leave whole lines.
"""

from __future__ import annotations

import getpass
import http.cookiejar
import json
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ldap3
import pytest

from tests.support.cli import Served, mims, scim_call, serving
from tests.support.portal import ANSWERS, GOOD, NEWER
from tests.support.served_portal import call, directory_of, student, ticket

CONFIG = """
[http]
workers = 4

[sspr]
rate_limit = "1000 per minute"
address_failures = "1000 per hour"
"""
RESET_TO = "Orange5Kettle88"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serving(CONFIG) as running:
        yield running


def audit_file(served: Served) -> Path:
    return Path(served.env["MIMS_DATA_DIR"]) / "audit.log"


def events(served: Served) -> list[dict[str, Any]]:
    return [json.loads(line) for line in audit_file(served).read_text().splitlines()]


def scim(served: Served, method: str, path: str, body: object = None) -> tuple[int, str, Any]:
    """Send a SCIM request with the served token; return status, X-Request-Id and body."""
    answer = scim_call(served, method, path, body)
    return answer.status, answer.request_id, answer.body


def only(found: list[dict[str, Any]], **wanted: Any) -> dict[str, Any]:
    matching = [e for e in found if all(e.get(k) == v for k, v in wanted.items())]
    assert len(matching) == 1, (wanted, found[-10:])
    return matching[0]


def assert_no_secrets(served: Served, *secrets: str) -> None:
    text = audit_file(served).read_text()
    for secret in secrets:
        assert secret not in text


def new_user(given: str, family: str, password: str = GOOD) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "password": password,
    }


def test_scim_create_patch_and_delete_are_attributed_to_the_token(served: Served) -> None:
    status, created_id, user = scim(served, "POST", "Users", new_user("Aisha", "Rahman"))
    assert status == 201, user
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Aisha R"}],
    }
    status, patched_id, _ = scim(served, "PATCH", f"Users/{user['id']}", patch)
    assert status == 200
    status, deleted_id, _ = scim(served, "DELETE", f"Users/{user['id']}")
    assert status == 204
    status, missing_id, _ = scim(served, "DELETE", f"Users/{user['id']}")
    assert status == 404

    found = events(served)
    common = {"door": "scim", "actor": "tests", "source": "127.0.0.1", "target": user["id"]}
    create = only(found, operation="person.create", request_id=created_id, **common)
    assert create["login"] == user["userName"]
    assert {"full_name", "given_name", "family_name", "password"} <= set(create["attributes"])
    update = only(found, operation="person.update", request_id=patched_id, **common)
    assert update["attributes"] == ["display_name"] and update["outcome"] == "success"
    only(found, operation="person.delete", request_id=deleted_id, outcome="success", **common)
    only(found, operation="person.delete", request_id=missing_id, outcome="NotFound", **common)
    assert_no_secrets(served, GOOD, served.token)


def test_portal_password_change_and_reset_are_the_persons_own(served: Served) -> None:
    login = student(served, "Bala", "Krishnan")
    session = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    assert call(served, "login", {"loginId": login, "password": GOOD}, session)[0] == 200
    change = {"currentPassword": GOOD, "newPassword": NEWER}
    assert call(served, "password", change, session)[0] == 200
    answered = {"currentPassword": NEWER, "answers": ANSWERS}
    assert call(served, "answers", answered, session)[0] == 200
    resetting = urllib.request.build_opener(  # the reset token works in this browser only
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    status, verified = call(
        served, "reset/verify", {"ticket": ticket(served, login), "answers": ANSWERS}, resetting
    )
    assert status == 200, verified
    done = {"resetToken": verified["resetToken"], "newPassword": RESET_TO}
    assert call(served, "reset/complete", done, resetting)[0] == 200

    mine = [e for e in events(served) if e["login"] == login and e["door"] == "portal"]
    assert {e["actor"] for e in mine} == {login}
    assert {e["source"] for e in mine} == {"127.0.0.1"}
    changes = [e for e in mine if e["operation"] == "password.change"]
    assert len(changes) == 2  # the change when signed in, then the reset's new password
    assert all(e["attributes"] == ["password"] and e["outcome"] == "success" for e in changes)
    assert len({e["request_id"] for e in changes}) == 2
    assert all(len(e["request_id"]) == 32 for e in changes)
    answers = only(mine, operation="answers.set")
    assert answers["attributes"] == ["answers", "recovery_email"] or answers["attributes"] == [
        "answers"
    ]
    only(mine, operation="answers.passed")
    assert_no_secrets(served, GOOD, NEWER, RESET_TO, *ANSWERS.values())


def test_a_cli_change_names_the_user_at_the_shell(served: Served) -> None:
    login = student(served, "Chen", "Wei Ling")
    reset = mims("user", "reset-password", login, env=served.env)
    assert reset.returncode == 0, reset.stderr
    disabled = mims("user", "disable", login, env=served.env)
    assert disabled.returncode == 0, disabled.stderr

    mine = [e for e in events(served) if e["login"] == login and e["door"] == "cli"]
    assert {e["actor"] for e in mine} == {os.environ.get("SUDO_USER") or getpass.getuser()}
    assert {e["source"] for e in mine} == {"local"}
    reset_event = only(mine, operation="password.reset")
    assert reset_event["attributes"] == ["password", "must_change"]
    disable = only(mine, operation="person.update")
    assert disable["attributes"] == ["disabled"]
    assert reset_event["request_id"] != disable["request_id"]  # one id per command run
    temporary = reset.stdout.strip().split()[-1]
    assert_no_secrets(served, temporary)


def test_mims_audit_shows_changes_and_ldap_direct_writes(served: Served) -> None:
    login = student(served, "Dinesh", "Kumar")
    with directory_of(served) as root:
        root.search("dc=mims,dc=example", f"(mail={login})", ldap3.SUBTREE, attributes=["1.1"])
        entry = root.response[0]["dn"]
        assert root.modify(entry, {"description": [(ldap3.MODIFY_REPLACE, ["edited by hand"])]})

    shown = mims("audit", "--person", login, "--json", env=served.env)
    assert shown.returncode == 0, shown.stderr
    found = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [e["operation"] for e in found] == ["person.create", "ldap.modify"]
    direct = found[1]
    assert direct["door"] == "ldap" and direct["outcome"] == "success"
    assert direct["actor"] == f"uid {os.getuid()} over ldapi"
    assert "description" in direct["attributes"] and len(direct["target"]) == 36
    assert "edited by hand" not in shown.stdout

    lines = mims("audit", "--actor", "tests", "--since", "1h", env=served.env)
    assert lines.returncode == 0, lines.stderr
    assert any(f"person.create {login} " in line for line in lines.stdout.splitlines())
    assert all(" by tests via scim from 127.0.0.1" in line for line in lines.stdout.splitlines())
    refused = mims("audit", "--since", "last tuesday", env=served.env)
    assert refused.returncode == 2 and "is not a time" in refused.stderr


def test_the_audit_file_is_private(served: Served) -> None:
    assert student(served, "Elena", "Goh")
    assert stat.S_IMODE(audit_file(served).stat().st_mode) == 0o600


def test_four_workers_writing_at_once_leave_whole_lines(served: Served) -> None:
    status, _, user = scim(served, "POST", "Users", new_user("Farah", "Ismail"))
    assert status == 201

    def rename(number: int) -> str:
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": f"F {number}"}],
        }
        code, request_id, _ = scim(served, "PATCH", f"Users/{user['id']}", patch)
        assert code == 200
        return request_id

    with ThreadPoolExecutor(max_workers=16) as pool:
        sent = set(pool.map(rename, range(200)))
    lines = audit_file(served).read_text().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line whole
    recorded = {e["request_id"] for e in parsed if e["operation"] == "person.update"}
    assert sent <= recorded
