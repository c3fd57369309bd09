"""The parents' request queue through the console's API, against a real slapd."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import ldap3
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.core.administration import School, SchoolClass
from bridge.core.people import Person
from bridge.directory.client import LdapClient
from bridge.services import Backend, audit_file
from tests.support.directory import SUFFIX
from tests.support.reset_requests import (
    BUKIT,
    CLEMENTI,
    administrator,
    send_request,
    signed_in,
    student,
)

NEW_PASSWORD = "Purple9Rocket31"


@dataclass
class School_:
    mei_ling: Person  # Clementi 4A
    namesake: Person  # "Tan Mei-Ling", Clementi 5B: the name matches, the class not
    elsewhere: Person  # Tan Mei Ling of Bukit Timah 4A
    clementi_admin: Person
    bukit_admin: Person
    form_teacher: Person  # Clementi 4A


@pytest.fixture
def queue_config(config: Config) -> Config:
    return config.with_overrides(
        sspr={"rate_limit": "10000 per minute", "address_failures": "10000 per hour"},
        console={"request_rate_limit": "10000 per minute", "request_days": 14},
    )


@pytest.fixture
def queue_app(queue_config: Config, directory: LdapClient) -> Flask:
    app = create_app(queue_config, client=directory)
    app.testing = True
    return app


@pytest.fixture
def backend(queue_config: Config, directory: LdapClient) -> Backend:
    return Backend(queue_config, directory)


@pytest.fixture
def cast(backend: Backend) -> School_:
    return School_(
        mei_ling=student(backend, "Tan Mei Ling", CLEMENTI, "4A"),
        namesake=student(backend, "Tan Mei-Ling", CLEMENTI, "5B"),
        elsewhere=student(backend, "Tan Mei Ling", BUKIT, "4A"),
        clementi_admin=administrator(backend, "Siti Rahman", CLEMENTI, School(CLEMENTI)),
        bukit_admin=administrator(backend, "Lim Boon Huat", BUKIT, School(BUKIT)),
        form_teacher=administrator(backend, "Kumar Pillai", CLEMENTI, SchoolClass(CLEMENTI, "4A")),
    )


def as_admin(app: Flask, person: Person) -> FlaskClient:
    return signed_in(app.test_client(), person)


def queue(client: FlaskClient) -> list[dict[str, object]]:
    response = client.get("/admin/api/requests")
    assert response.status_code == 200, response.get_json()
    items: list[dict[str, object]] = response.get_json()["items"]
    return items


def resolve(client: FlaskClient, request_id: object, **body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(f"/admin/api/requests/{request_id}/resolve", json=body)
    return response.status_code, response.get_json()


def test_each_school_sees_its_own_requests_oldest_first_with_matches(
    queue_app: Flask, cast: School_
) -> None:
    parent = queue_app.test_client()
    send_request(parent, "tan mei ling", "clementi primary school", "4 a")
    send_request(parent, "Tan Mei Ling", BUKIT, "4A")
    send_request(parent, "Nobody Such-Child", CLEMENTI, "4A", "mum@example.org")

    clementi = queue(as_admin(queue_app, cast.clementi_admin))
    assert [r["childName"] for r in clementi] == ["tan mei ling", "Nobody Such-Child"]
    assert [r["status"] for r in clementi] == ["open", "open"]
    matches = clementi[0]["matches"]
    assert [(m["id"], m["sameClass"]) for m in matches] == [  # type: ignore[index,union-attr]
        (cast.mei_ling.id, True),
        (cast.namesake.id, False),
    ]
    assert clementi[1]["matches"] == [] and clementi[1]["contact"] == "mum@example.org"

    bukit = queue(as_admin(queue_app, cast.bukit_admin))
    assert [r["school"] for r in bukit] == [BUKIT]
    assert [m["id"] for m in bukit[0]["matches"]] == [cast.elsewhere.id]  # type: ignore[index,union-attr]

    # Another school's request is not found, by id or by action; nor without a session.
    other = as_admin(queue_app, cast.clementi_admin)
    assert other.get(f"/admin/api/requests/{bukit[0]['id']}").status_code == 404
    status, _ = resolve(other, bukit[0]["id"], action="reject", reason="not ours")
    assert status == 404
    assert queue_app.test_client().get("/admin/api/requests").status_code == 401
    # A form teacher sees nothing until a request is forwarded to their class.
    assert queue(as_admin(queue_app, cast.form_teacher)) == []


def test_a_reset_gives_the_slip_closes_the_request_and_is_in_the_audit_trail(
    queue_app: Flask, queue_config: Config, cast: School_
) -> None:
    send_request(queue_app.test_client(), "Tan Mei Ling", CLEMENTI, "4A")
    admin = as_admin(queue_app, cast.clementi_admin)
    request_id = queue(admin)[0]["id"]

    status, body = resolve(admin, request_id, action="reset", personId=cast.mei_ling.id)
    assert status == 200, body
    temporary = body["temporaryPassword"]
    assert body["person"]["loginId"] == str(cast.mei_ling.login_id)
    settled = body["request"]
    assert settled["status"] == "resolved"
    assert settled["resolution"]["by"] == str(cast.clementi_admin.login_id)
    assert settled["resolution"]["personId"] == cast.mei_ling.id
    assert queue(admin) == []
    assert admin.get(f"/admin/api/requests/{request_id}").get_json()["status"] == "resolved"
    assert resolve(admin, request_id, action="reject", reason="late")[0] == 409

    # The child signs in with the temporary password and must change it.
    child = queue_app.test_client()
    login = {"loginId": str(cast.mei_ling.login_id), "password": temporary}
    assert child.post("/sspr/api/login", json=login).get_json() == {"next": "change_password"}

    events = [e for e in audit_file(queue_config).events() if request_id in e.target]
    assert [e.operation for e in events] == ["request.create", "request.match", "request.reset"]
    assert events[1].login == events[2].login == str(cast.mei_ling.login_id)
    assert events[2].actor == str(cast.clementi_admin.login_id)
    resets = [
        e
        for e in audit_file(queue_config).events()
        if e.target == cast.mei_ling.id and "password" in e.operation
    ]
    assert resets and resets[-1].actor == str(cast.clementi_admin.login_id)


def test_a_reset_of_a_child_out_of_scope_is_not_found_and_leaves_the_request_open(
    queue_app: Flask, cast: School_
) -> None:
    send_request(queue_app.test_client(), "Tan Mei Ling", CLEMENTI, "4A")
    admin = as_admin(queue_app, cast.clementi_admin)
    request_id = queue(admin)[0]["id"]
    assert resolve(admin, request_id, action="reset", personId=cast.elsewhere.id)[0] == 404
    status, body = resolve(admin, request_id, action="reset")
    assert (status, body["field"]) == (400, "personId")
    assert [r["status"] for r in queue(admin)] == ["open"]


def test_a_rejection_needs_a_reason_and_keeps_it(queue_app: Flask, cast: School_) -> None:
    send_request(queue_app.test_client(), "Tan Mei Ling", CLEMENTI, "4A")
    admin = as_admin(queue_app, cast.clementi_admin)
    request_id = queue(admin)[0]["id"]
    status, body = resolve(admin, request_id, action="reject")
    assert (status, body["error"], body["field"]) == (400, "invalid_request", "reason")
    status, body = resolve(admin, request_id, action="reject", reason="The parent withdrew it")
    assert status == 200 and "temporaryPassword" not in body
    assert body["request"]["status"] == "rejected"
    assert body["request"]["resolution"]["reason"] == "The parent withdrew it"
    assert queue(admin) == []
    assert resolve(admin, request_id, action="dance")[0] in (400, 409)


def test_a_forwarded_request_reaches_the_form_teacher_who_may_reset(
    queue_app: Flask, cast: School_
) -> None:
    send_request(queue_app.test_client(), "Tan Mei Ling", CLEMENTI, "4A")
    admin = as_admin(queue_app, cast.clementi_admin)
    teacher = as_admin(queue_app, cast.form_teacher)
    request_id = queue(admin)[0]["id"]
    assert teacher.get(f"/admin/api/requests/{request_id}").status_code == 404

    status, body = resolve(admin, request_id, action="forward", reason="Her form teacher knows")
    assert status == 200 and body["request"]["status"] == "forwarded"
    waiting = queue(teacher)
    assert [r["id"] for r in waiting] == [request_id]
    assert [m["id"] for m in waiting[0]["matches"]] == [cast.mei_ling.id]  # type: ignore[index,union-attr]
    assert resolve(teacher, request_id, action="forward")[0] == 400
    status, body = resolve(teacher, request_id, action="reset", personId=cast.mei_ling.id)
    assert status == 200 and body["request"]["status"] == "resolved"
    assert body["request"]["resolution"]["by"] == str(cast.form_teacher.login_id)
    assert queue(teacher) == [] and queue(admin) == []


def test_a_request_nobody_settles_expires_after_request_days(
    queue_app: Flask, queue_config: Config, cast: School_, admin: ldap3.Connection
) -> None:
    parent = queue_app.test_client()
    send_request(parent, "Tan Mei Ling", CLEMENTI, "4A")
    send_request(parent, "Tan Mei-Ling", CLEMENTI, "5B")
    office = as_admin(queue_app, cast.clementi_admin)
    old, fresh = (r["id"] for r in queue(office))
    # Make the first request 15 days old, as if it had waited since then.
    then = (datetime.now(UTC) - timedelta(days=15)).strftime("%Y%m%d%H%M%S.%fZ")
    entry = f"cn={old},ou=requests,ou=services,{SUFFIX}"
    admin.modify(entry, {"mimsRequestCreated": [(ldap3.MODIFY_REPLACE, [then])]})

    assert [r["id"] for r in queue(office)] == [fresh]
    expired = office.get(f"/admin/api/requests/{old}").get_json()
    assert expired["status"] == "expired" and expired["resolution"]["by"] == "expiry"
    assert resolve(office, old, action="reset", personId=cast.mei_ling.id)[0] == 409
    operations = [e.operation for e in audit_file(queue_config).events() if old in e.target]
    assert operations == ["request.create", "request.expire"]
