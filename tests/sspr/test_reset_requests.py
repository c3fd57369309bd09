"""A parent's reset request through the portal: one answer for every child, limited, audited."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.services import Backend, audit_file
from tests.support.portal import Account

SCHOOL = "Clementi Primary School"


def form(name: str, contact: str = "+65 9123 4567") -> dict[str, str]:
    return {"childName": name, "school": SCHOOL, "class": "4A", "contact": contact}


@pytest.fixture
def backend(portal_config: Config, directory: LdapClient) -> Backend:
    return Backend(portal_config, directory)


@pytest.fixture
def portal_config(config: Config) -> Config:
    return config.with_overrides(
        sspr={"rate_limit": "10000 per minute", "address_failures": "10000 per hour"},
        console={"request_rate_limit": "10000 per minute"},
    )


def test_a_request_gets_202_and_the_same_bytes_for_a_child_who_exists_or_not(
    web: FlaskClient, mary: Account, backend: Backend
) -> None:
    known = web.post("/sspr/api/reset-request", json=form("mary TAN"))
    unknown = web.post("/sspr/api/reset-request", json=form("Nobody Such-Child"))
    assert known.status_code == unknown.status_code == 202
    assert known.data == unknown.data
    assert known.headers["Content-Type"] == unknown.headers["Content-Type"]
    assert "mary" not in known.get_data(as_text=True).lower()
    waiting = backend.request_desk().store.waiting()
    assert sorted(r.child_name for r in waiting) == ["Nobody Such-Child", "mary TAN"]
    assert {(r.school, r.class_name, r.status) for r in waiting} == {(SCHOOL, "4A", "open")}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contact", "call me"),
        ("contact", "mum@nowhere"),
        ("contact", "12"),
        ("childName", "   "),
        ("class", None),
        ("school", "x" * 200),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_kept(
    web: FlaskClient, backend: Backend, field: str, value: str | None
) -> None:
    body: dict[str, str | None] = {**form("Mary Tan"), field: value}
    response = web.post("/sspr/api/reset-request", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert response.get_json()["field"] == field
    assert backend.request_desk().store.waiting() == []


def test_an_e_mail_contact_is_taken_and_a_form_must_be_json(
    web: FlaskClient, backend: Backend
) -> None:
    assert (
        web.post("/sspr/api/reset-request", json=form("Ali", "mum@example.org")).status_code == 202
    )
    assert web.post("/sspr/api/reset-request", data=form("Ali")).status_code == 415
    assert [r.contact for r in backend.request_desk().store.waiting()] == ["mum@example.org"]


def test_requests_are_limited_by_source_with_their_own_limit(
    portal_config: Config, directory: LdapClient
) -> None:
    config = portal_config.with_overrides(console={"request_rate_limit": "3 per minute"})
    client = create_app(config, directory).test_client()
    statuses = [
        client.post("/sspr/api/reset-request", json=form("Ali")).status_code for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    assert client.post("/sspr/api/reset-request", json=form("Ali")).get_json()["error"] == (
        "too_many_tries"
    )
    # The page shares the count with the API; other portal calls do not.
    page = client.get("/sspr/request").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    sent = client.post("/sspr/request", data={"csrf_token": token.group(1), "child_name": "Ali"})
    assert sent.status_code == 429
    assert client.post("/sspr/api/reset/start", json={"loginId": "x"}).status_code == 200


def test_a_request_is_audited_without_the_parents_contact(
    portal_config: Config, web: FlaskClient
) -> None:
    web.post("/sspr/api/reset-request", json=form("Mary Tan", "mum@example.org"))
    events = [e for e in audit_file(portal_config).events() if e.operation == "request.create"]
    event = events[-1]
    assert (event.actor, event.door, event.outcome) == ("parent", "portal", "success")
    assert event.target.startswith("request:")
    assert event.attributes == ("child_name", "school", "class", "contact")
    assert "example.org" not in str(event.as_json())


def test_the_sign_in_page_links_to_the_request_form_which_answers_alike(
    web: FlaskClient, mary: Account, backend: Backend
) -> None:
    sign_in = web.get("/sspr/").get_data(as_text=True)
    assert 'href="/sspr/request"' in sign_in
    answers = []
    for name in ("Mary Tan", "Nobody Such-Child"):
        page = web.get("/sspr/request").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        fields = {"child_name": name, "school": SCHOOL, "class_name": "4A", "contact": "91234567"}
        sent = web.post("/sspr/request", data={"csrf_token": token.group(1), **fields})
        assert sent.status_code == 202
        answers.append(sent.get_data(as_text=True))
    assert answers[0] == answers[1]
    assert "the school will contact you" in answers[0]
    assert len(backend.request_desk().store.waiting()) == 2


def test_the_form_page_names_a_bad_field_and_keeps_what_was_typed(web: FlaskClient) -> None:
    page = web.get("/sspr/request").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    fields = {"child_name": "Mary Tan", "school": SCHOOL, "class_name": "4A", "contact": "soon"}
    sent = web.post("/sspr/request", data={"csrf_token": token.group(1), **fields})
    assert sent.status_code == 400
    text = sent.get_data(as_text=True)
    assert "phone number" in text and 'value="Mary Tan"' in text
