"""Every domain error through every front door that can meet it, provoked on a real slapd.

``EXPECTED`` is the table: for each domain error, what SCIM (single and Bulk), the portal's
JSON API and the ``mims`` command answer. Each row is provoked for real (a bad value, a stale
ETag, a duplicate login, a slapd whose ACL refuses the bridge, a directory that is down) and
no answer may carry driver text, a class name or a traceback.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge.app import create_app
from bridge.config import Config
from bridge.core.challenges import FAST_PARAMS
from bridge.core.people import NewPerson
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.directory.tokens import TokenStore
from bridge.errors import (
    AlreadyExists,
    BridgeError,
    DirectoryUnavailable,
    InvalidValue,
    NotFound,
    PolicyViolation,
    PreconditionFailed,
)
from bridge.web.request_id import HEADER
from tests.support.cli import mims
from tests.support.directory import admin_connection
from tests.support.ports import free_port

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PASSWORD = "Sunny7Garden42"
# What must never reach a client: library and class names, tracebacks, LDAP diagnostics.
LEAKS = ("Traceback", "ldap3", "LDAP", "Exception", "DirectoryError", "Result", "dc=", "uid=")
DATABASE = "olcDatabase={1}mdb,cn=config"
ROSTER = "external_id,full_name,role,school,level,class\nT1,Mary Tan,student,Clementi,,\n"
DENIED = "employeeNumber,mimsChallengeAnswer,mimsPasswordResetBy"


@dataclass(frozen=True)
class Expected:
    """How each front door answers one domain error (None: that door cannot meet it)."""

    scim: tuple[int, str | None] | None
    portal: tuple[int, str] | None
    cli: int | None


EXPECTED: dict[str, Expected] = {
    "InvalidValue": Expected((400, "invalidValue"), (400, "invalid_value"), 1),
    "PolicyViolation": Expected((400, "invalidValue"), (400, "password_rules"), 1),
    "AlreadyExists": Expected((409, "uniqueness"), None, 1),
    "NotFound": Expected((404, None), None, 1),
    "PreconditionFailed": Expected((412, None), None, None),
    "DirectoryUnavailable": Expected((503, None), (503, "unavailable"), 69),
    "DirectoryError": Expected((500, None), (500, "error"), 70),
}
KINDS: dict[str, type[BridgeError]] = {
    "InvalidValue": InvalidValue,
    "PolicyViolation": PolicyViolation,
    "AlreadyExists": AlreadyExists,
    "NotFound": NotFound,
    "PreconditionFailed": PreconditionFailed,
    "DirectoryUnavailable": DirectoryUnavailable,
}


def leaks(text: str) -> list[str]:
    """Return the forbidden fragments found in an answer."""
    return [fragment for fragment in LEAKS if fragment in text]


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def bearer(directory: LdapClient, config: Config) -> Iterator[dict[str, str]]:
    store = TokenStore(directory, config.directory.suffix)
    secret = new_token()
    store.create("error-table", token_hash(secret), ("scim:write",))
    yield {"Authorization": f"Bearer {secret}"}
    store.revoke("error-table")


@pytest.fixture
def portal_app(config: Config, directory: LdapClient) -> Flask:
    app = create_app(
        config.with_overrides(
            sspr={"rate_limit": "10000 per minute", "address_failures": "10000 per hour"}
        ),
        client=directory,
    )
    app.testing = True
    app.extensions["mims.portal"].params = FAST_PARAMS
    return app


@pytest.fixture
def down(config: Config) -> Config:
    """The configuration of a directory that does not answer (nothing listens there)."""
    return config.with_overrides(
        directory={
            "urls": (f"ldaps://127.0.0.1:{free_port()}",),
            "bind_dn": "cn=bridge,dc=mims,dc=example",
            "password": "x",
        },
        sspr={
            "secret_key": "k" * 40,
            "rate_limit": "10000 per minute",
            "address_failures": "10000 per hour",
        },
    )


@pytest.fixture
def denied(slapd: ManagedSlapd) -> Iterator[None]:
    """Make slapd refuse the bridge a few writes (insufficientAccessRights), as a bad ACL would."""
    rule = f"{{0}}to attrs={DENIED} by * read"
    with admin_connection(slapd) as admin:
        admin.modify(DATABASE, {"olcAccess": [("MODIFY_ADD", [rule])]})
    yield
    with admin_connection(slapd) as admin:
        admin.modify(DATABASE, {"olcAccess": [("MODIFY_DELETE", ["{0}"])]})


@pytest.fixture
def cli_env(config: Config, directory: LdapClient) -> dict[str, str]:
    return {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(config.slapd.data_dir.parent)}


# -- SCIM: each provocation is one operation, sent alone and inside a Bulk request -------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    data: Any = None
    version: str | None = None


def _create(client: FlaskClient, bearer: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {"schemas": [USER], "name": {"givenName": "Ann", "familyName": "Lee"}} | extra
    made = client.post("/scim/v2/Users", json=body, headers=bearer)
    assert made.status_code == 201, made.get_json()
    return dict(made.get_json()) | {"etag": made.headers["ETag"]}


def _replace(path: str, value: Any) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": path, "value": value}]}


EXTERNAL_IDS = itertools.count(1)
Provoke = Callable[[FlaskClient, dict[str, str]], Operation]


def _invalid(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    return Operation("POST", "/Users", {"schemas": [USER], "userName": "not a login id"})


def _weak_password(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    ann = _create(client, bearer)
    return Operation("PATCH", f"/Users/{ann['id']}", _replace("password", "ann"))


def _duplicate_login(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    ann = _create(client, bearer)
    return Operation("POST", "/Users", {"schemas": [USER], "userName": ann["userName"]})


def _duplicate_external_id(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    taken = f"T-{next(EXTERNAL_IDS)}"
    _create(client, bearer, externalId=taken)
    body = {"schemas": [USER], "name": {"givenName": "Bo", "familyName": "Ng"}, "externalId": taken}
    return Operation("POST", "/Users", body)


def _missing(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    return Operation("DELETE", "/Users/00000000-0000-4000-8000-000000000000")


def _stale_etag_with_password(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    ann = _create(client, bearer)
    moved = client.patch(
        f"/scim/v2/Users/{ann['id']}", json=_replace("displayName", "Annie"), headers=bearer
    )
    assert moved.status_code == 200
    change = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "password", "value": "Purple9Rocket31"},
            {"op": "replace", "path": "displayName", "value": "Ann"},
        ],
    }
    return Operation("PATCH", f"/Users/{ann['id']}", change, version=ann["etag"])


def _denied_write(client: FlaskClient, bearer: dict[str, str]) -> Operation:
    ann = _create(client, bearer)
    return Operation("PATCH", f"/Users/{ann['id']}", _replace(f"{ENTERPRISE}:employeeNumber", "7"))


SCIM_CASES: list[tuple[str, str, Provoke]] = [
    ("InvalidValue", "userName that is no login ID", _invalid),
    ("PolicyViolation", "weak password", _weak_password),
    ("AlreadyExists", "duplicate login ID (entryAlreadyExists)", _duplicate_login),
    ("AlreadyExists", "duplicate externalId (unique overlay)", _duplicate_external_id),
    ("NotFound", "unknown id", _missing),
    ("PreconditionFailed", "stale If-Match, PATCH with a password", _stale_etag_with_password),
    ("DirectoryError", "slapd refuses the bridge a write", _denied_write),
]  # fmt: skip


def _single(client: FlaskClient, bearer: dict[str, str], op: Operation) -> TestResponse:
    headers = bearer | ({"If-Match": op.version} if op.version else {})
    return client.open(
        "/scim/v2" + op.path,
        method=op.method,
        json=op.data,
        headers=headers,
        content_type="application/scim+json",
    )


def _bulk(client: FlaskClient, bearer: dict[str, str], op: Operation) -> TestResponse:
    operation: dict[str, Any] = {"method": op.method, "path": op.path, "bulkId": "b1"}
    if op.data is not None:
        operation["data"] = op.data
    if op.version:
        operation["version"] = op.version
    return client.post(
        "/scim/v2/Bulk",
        json={"schemas": [BULK], "Operations": [operation]},
        headers=bearer,
        content_type="application/scim+json",
    )


def _check_500(body: dict[str, Any], request_id: str, caplog: pytest.LogCaptureFixture) -> None:
    """A 500 names the request id; the log line with that id has the traceback."""
    assert request_id and request_id in body["detail"]
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and all(r.exc_info for r in logged)


@pytest.mark.parametrize(
    ("kind", "provoke"), [(c[0], c[2]) for c in SCIM_CASES], ids=[c[1] for c in SCIM_CASES]
)
def test_scim_single_and_bulk_answer_alike(
    client: FlaskClient,
    bearer: dict[str, str],
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    provoke: Provoke,
) -> None:
    if kind == "DirectoryError":
        request.getfixturevalue("denied")
    expected = EXPECTED[kind].scim
    assert expected is not None
    single_op = provoke(client, bearer)
    single = _single(client, bearer, single_op)
    body = single.get_json()
    assert (single.status_code, body.get("scimType")) == expected, body
    assert body["status"] == str(expected[0]) and not leaks(single.get_data(as_text=True))
    if expected[0] == 500:
        _check_500(body, single.headers[HEADER], caplog)

    bulk = _bulk(client, bearer, provoke(client, bearer))
    assert bulk.status_code == 200
    (outcome,) = bulk.get_json()["Operations"]
    answer = outcome["response"]
    assert (int(outcome["status"]), answer.get("scimType")) == expected, outcome
    assert not leaks(bulk.get_data(as_text=True))
    if expected[0] == 500:
        _check_500(answer, bulk.headers[HEADER], caplog)


def test_scim_when_the_directory_is_down(down: Config, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(down)
    app.testing = True
    client = app.test_client()
    headers = {"Authorization": "Bearer anything"}
    single = client.get("/scim/v2/Users", headers=headers)
    bulk = client.post("/scim/v2/Bulk", json={"schemas": [BULK], "Operations": []}, headers=headers)
    for response in (single, bulk):  # the token check needs the directory: nothing gets further
        assert (response.status_code, response.get_json()["status"]) == (503, "503")
        assert not leaks(response.get_data(as_text=True))
        assert response.headers[HEADER]


# -- the portal's JSON API ---------------------------------------------------------------------


def _signed_in(app: Flask) -> FlaskClient:
    """A portal session of a student who chose her own password."""
    services = app.extensions["mims.portal"].services
    person = services.people.create(
        NewPerson(full_name="Mary Tan", role="student", school="Clementi", password=PASSWORD)
    )
    web = app.test_client()
    signed = web.post(
        "/sspr/api/login", json={"loginId": str(person.login_id), "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.get_json()
    return web


ANSWERS = {"mother_maiden_name": "Lim", "favourite_colour": "Blue", "favourite_city": "Paris"}


def _portal_invalid(web: FlaskClient) -> TestResponse:
    """An address the directory cannot hold (IA5String): slapd's invalidAttributeSyntax."""
    return web.post(
        "/sspr/api/answers",
        json={"answers": ANSWERS, "recoveryEmail": "zoë@x.org", "currentPassword": PASSWORD},
    )


def _portal_weak(web: FlaskClient) -> TestResponse:
    return web.post("/sspr/api/password", json={"currentPassword": PASSWORD, "newPassword": "a"})


def _portal_denied(web: FlaskClient) -> TestResponse:
    return web.post("/sspr/api/answers", json={"answers": ANSWERS, "currentPassword": PASSWORD})


PORTAL_CASES = [
    ("InvalidValue", _portal_invalid),
    ("PolicyViolation", _portal_weak),
    ("DirectoryError", _portal_denied),
]


@pytest.mark.parametrize(("kind", "provoke"), PORTAL_CASES, ids=[c[0] for c in PORTAL_CASES])
def test_portal_api(
    portal_app: Flask,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    provoke: Callable[[FlaskClient], TestResponse],
) -> None:
    if kind == "DirectoryError":
        request.getfixturevalue("denied")
    expected = EXPECTED[kind].portal
    response = provoke(_signed_in(portal_app))
    body = response.get_json()
    assert (response.status_code, body["error"]) == expected, body
    assert body["detail"] and not leaks(response.get_data(as_text=True))
    if response.status_code == 500:
        _check_500(body, response.headers[HEADER], caplog)


def test_portal_api_when_the_directory_is_down(down: Config) -> None:
    app = create_app(down)
    response = app.test_client().post(
        "/sspr/api/login", json={"loginId": "mary_tan@students.edu.sg", "password": PASSWORD}
    )
    assert (response.status_code, response.get_json()["error"]) == EXPECTED[
        "DirectoryUnavailable"
    ].portal
    assert not leaks(response.get_data(as_text=True))


# -- the mims command --------------------------------------------------------------------------


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert not leaks(result.stderr + result.stdout)
    return lines[0]


def test_cli_refusals(tmp_path: Path, cli_env: dict[str, str]) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    assert mims("import", str(roster), env=cli_env).returncode == 0
    cases = {
        "InvalidValue": ["login-id", "()"],
        "NotFound": ["user", "show", "nobody@students.edu.sg"],
        "AlreadyExists": ["token", "create", "--name", "twice", "--scope", "scim:read"],
    }
    assert mims(*cases["AlreadyExists"], env=cli_env).returncode == 0
    for kind, args in cases.items():
        result = mims(*args, env=cli_env)
        assert result.returncode == EXPECTED[kind].cli, (kind, result.stderr)
        _one_line(result)
    mims("token", "revoke", "twice", env=cli_env)


def test_cli_same_syntax_refusal_through_both_write_paths(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """The bulk writer (python-ldap, new rows) and the ldap3 update give the same reason."""
    header = "external_id,full_name,role,school,level,class,email\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "T1,Mary Tan,student,Clementi,,,zoë@x.org\n")
    good = tmp_path / "good.csv"
    good.write_text(header + "T1,Mary Tan,student,Clementi,,,mum@x.org\n")
    rejects = [tmp_path / "new.csv", tmp_path / "update.csv"]
    created = mims("import", str(bad), "--rejects", str(rejects[0]), env=cli_env)
    assert mims("import", str(good), env=cli_env).returncode == 0
    updated = mims("import", str(bad), "--rejects", str(rejects[1]), env=cli_env)
    assert (created.returncode, updated.returncode) == (1, 1)
    reasons = [path.read_text().splitlines()[1].split(",")[1] for path in rejects]
    assert reasons[0] == reasons[1] == "a value has a form the directory cannot hold"


def test_cli_internal_error_is_one_line_exit_70(
    cli_env: dict[str, str], tmp_path: Path, denied: None
) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER)
    assert mims("import", str(roster), env=cli_env).returncode == 0
    result = mims("user", "reset-password", "mary_tan@students.edu.sg", env=cli_env)
    assert result.returncode == EXPECTED["DirectoryError"].cli
    assert "MIMS_DEBUG" in _one_line(result)


def test_cli_when_the_directory_is_down(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "MIMS_LDAP_URL": f"ldaps://127.0.0.1:{free_port()}",
        "MIMS_LDAP_BIND_DN": "cn=bridge,dc=mims,dc=example",
        "MIMS_LDAP_PASSWORD": "x",
    }
    result = mims("user", "show", "mary_tan@students.edu.sg", env=env)
    assert result.returncode == EXPECTED["DirectoryUnavailable"].cli
    assert _one_line(result) == "Error: the directory does not answer"


def test_every_domain_error_has_a_row_in_every_mapping() -> None:
    from bridge.cli.errors import EXIT_CODES
    from bridge.sspr.errors import DOMAIN_ERRORS

    for kind in KINDS.values():
        assert any(k in EXIT_CODES for k in kind.__mro__)
        assert any(k in DOMAIN_ERRORS for k in kind.__mro__)
        assert kind.status >= 400
