"""Attacks on the console through its HTTP doors: CSRF, cookies, sessions, limits, leaks."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.services import Backend
from tests.support.console import CLEMENTI, PASSWORD, Cast, sign_in
from tests.support.reset_requests import send_request


def csrf(client: FlaskClient, path: str) -> str:
    """Return the CSRF token a console page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found is not None
    return found.group(1)


def page_sign_in(client: FlaskClient, cast: Cast) -> None:
    login = {"login_id": str(cast.school_admin.login_id), "password": PASSWORD}
    response = client.post("/admin/", data=login | {"csrf_token": csrf(client, "/admin/")})
    assert response.status_code == 302


def test_a_form_post_without_this_browsers_token_is_refused(
    app: Flask, client: FlaskClient, cast: Cast
) -> None:
    login = {"login_id": str(cast.school_admin.login_id), "password": PASSWORD}
    assert client.post("/admin/", data=login).status_code == 400  # no login CSRF either
    page_sign_in(client, cast)
    unlock = f"/admin/people/{cast.locked.id}/unlock"
    stranger = app.test_client()
    foreign = csrf(stranger, "/admin/")  # a token valid for another browser
    for sent in ({}, {"csrf_token": ""}, {"csrf_token": foreign}, {"csrf_token": "0" * 64}):
        assert client.post(unlock, data=sent).status_code == 400, sent
        assert client.post("/admin/sign-out", data=sent).status_code == 400, sent
    assert client.get(f"/admin/api/people/{cast.locked.id}").get_json()["locked"] is True
    response = client.post(
        unlock, data={"csrf_token": csrf(client, f"/admin/people/{cast.locked.id}")}
    )
    assert response.status_code == 302
    assert client.get(f"/admin/api/people/{cast.locked.id}").get_json()["locked"] is False


def test_the_api_takes_no_cross_site_form_body(client: FlaskClient, cast: Cast) -> None:
    sign_in(client, cast.school_admin)
    url = f"/admin/api/people/{cast.classmate.id}/reset"
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = client.post(
            url, data="{}", content_type=kind, headers={"Origin": "https://evil.example"}
        )
        assert response.status_code == 415, kind
    assert client.get(f"/admin/api/people/{cast.classmate.id}").get_json()["mustChange"] is False


def test_the_console_cookie_is_strict_and_a_planted_id_is_replaced(
    client: FlaskClient, cast: Cast
) -> None:
    client.set_cookie("mims_admin", "planted-by-someone-else", path="/admin")
    assert sign_in(client, cast.school_admin) == 200
    cookie = client.get_cookie("mims_admin", path="/admin")
    assert cookie is not None and cookie.value != "planted-by-someone-else"
    assert cookie.http_only and cookie.same_site == "Strict" and cookie.path == "/admin"


def test_a_portal_session_opens_no_console_and_a_console_cookie_no_portal(
    app: Flask, cast: Cast
) -> None:
    portal = app.test_client()
    login = {"loginId": str(cast.school_admin.login_id), "password": PASSWORD}
    assert portal.post("/sspr/api/login", json=login).status_code == 200
    cookie = portal.get_cookie("mims_portal", path="/sspr")
    assert cookie is not None
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    portal_id = serializer.loads(cookie.value)["sid"]
    console = app.test_client()
    console.set_cookie("mims_admin", portal_id, path="/admin")
    assert console.get("/admin/api/people").status_code == 401

    assert sign_in(console, cast.school_admin) == 200
    admin_cookie = console.get_cookie("mims_admin", path="/admin")
    assert admin_cookie is not None
    other = app.test_client()
    other.set_cookie("mims_portal", admin_cookie.value, path="/sspr")
    assert other.get("/sspr/api/session").status_code in (401, 404)


@pytest.fixture
def strict(config: Config) -> Config:
    # Limits of their own (the counts are shared by the session's data folder).
    return config.with_overrides(
        sspr={"rate_limit": "1000 per 17 minutes", "address_failures": "3 per 17 minutes"}
    )


def test_wrong_console_passwords_count_towards_the_address_limit(
    strict: Config, directory: LdapClient, cast: Cast
) -> None:
    app = create_app(strict, client=directory)
    client = app.test_client()
    wrong = {"loginId": str(cast.teacher.login_id), "password": "Wrong-password-9"}
    assert [client.post("/admin/api/login", json=wrong).status_code for _ in range(3)] == [401] * 3
    response = client.post("/admin/api/login", json=wrong | {"password": PASSWORD})
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_tries"
    page = client.post("/admin/", data={"login_id": "x", "password": "y"})
    assert page.status_code == 429


def test_a_form_teacher_sees_only_requests_forwarded_to_them(
    app: Flask, cast: Cast, backend: Backend
) -> None:
    send_request(app.test_client(), "Chloé Lim", CLEMENTI, "5A", "91234567")
    office, teacher = app.test_client(), app.test_client()
    sign_in(office, cast.school_admin)
    sign_in(teacher, cast.form_teacher)
    request_id = office.get("/admin/api/requests").get_json()["items"][0]["id"]
    settled = {"action": "reject", "reason": "The parent phoned: not needed"}
    assert office.post(f"/admin/api/requests/{request_id}/resolve", json=settled).status_code == 200
    # Settled by the office, never forwarded: not the form teacher's to see (nor the contact).
    assert teacher.get(f"/admin/api/requests/{request_id}").status_code == 404
    assert teacher.get(f"/admin/requests/{request_id}").status_code == 404


def test_the_slip_names_the_configured_portal_not_the_host_asked_for(
    client: FlaskClient, cast: Cast, config: Config
) -> None:
    page_sign_in(client, cast)
    url = f"/admin/people/{cast.classmate.id}/reset"
    token = csrf(client, url)
    for name in ("mims_admin", "mims_admin_csrf"):  # the browser sends them to that host
        cookie = client.get_cookie(name, path="/admin")
        assert cookie is not None
        client.set_cookie(name, cookie.value, domain="evil.example", path="/admin")
    slip = client.post(url, data={"csrf_token": token}, base_url="http://evil.example")
    text = slip.get_data(as_text=True)
    assert slip.status_code == 200 and "evil.example" not in text
    assert config.sspr.portal_url in text


def test_a_temporary_password_is_in_no_log_and_not_in_the_audit_file(
    client: FlaskClient, cast: Cast, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sign_in(client, cast.school_admin)
    temporary = client.post(f"/admin/api/people/{cast.classmate.id}/reset", json={}).get_json()[
        "temporaryPassword"
    ]
    assert temporary and temporary not in caplog.text
    assert temporary not in config.audit_file.read_text(encoding="utf-8")
