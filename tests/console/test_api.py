"""/admin/api: sign-in, search and actions, each role kept to its scope (by id, search, URL)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bridge.core.naming import LoginId
from bridge.core.people import NewPerson
from bridge.services import Backend
from tests.support.console import CLEMENTI, PASSWORD, Cast, sign_in

ACTIONS = ("unlock", "reset", "clear-answers", "disable", "enable")


def people(client: FlaskClient, **query: str) -> dict[str, object]:
    response = client.get("/admin/api/people", query_string=query)
    assert response.status_code == 200, response.json
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def names(body: dict[str, object]) -> set[str]:
    items = body["items"]
    assert isinstance(items, list)
    return {item["name"] for item in items}


def test_without_a_session_every_call_is_401(client: FlaskClient, cast: Cast) -> None:
    assert client.get("/admin/api/people").status_code == 401
    assert client.get(f"/admin/api/people/{cast.locked.id}").status_code == 401
    for action in ACTIONS:
        response = client.post(f"/admin/api/people/{cast.locked.id}/{action}", json={})
        assert response.status_code == 401
        assert response.get_json()["error"] == "not_signed_in"


def test_sign_in_takes_the_own_password_and_a_grant(client: FlaskClient, cast: Cast) -> None:
    assert sign_in(client, cast.school_admin, "Wrong-password-1") == 401
    assert sign_in(client, cast.nobody) == 403
    assert client.get("/admin/api/people").status_code == 401
    body = client.post("/admin/api/login", json={"loginId": "nobody@schools.gov.sg"}).get_json()
    assert body["error"] == "bad_request"
    assert sign_in(client, cast.school_admin) == 200
    assert client.get("/admin/api/people").status_code == 200


def test_a_form_post_is_refused_json_only(client: FlaskClient, cast: Cast) -> None:
    response = client.post(
        "/admin/api/login", data={"loginId": str(cast.school_admin.login_id), "password": PASSWORD}
    )
    assert response.status_code == 415
    assert response.get_json()["error"] == "json_only"


def test_logout_revokes_the_session(client: FlaskClient, cast: Cast) -> None:
    sign_in(client, cast.school_admin)
    cookie = client.get_cookie("mims_admin", path="/admin")
    assert cookie is not None
    assert client.post("/admin/api/logout", json={}).get_json() == {"next": "signed_out"}
    client.set_cookie("mims_admin", cookie.value, path="/admin")  # a stolen copy of it
    assert client.get("/admin/api/people").status_code == 401


def test_a_school_administrator_finds_by_partial_name_and_class(
    client: FlaskClient, cast: Cast
) -> None:
    sign_in(client, cast.school_admin)
    found = people(client, q="mei", **{"class": "5A"})
    assert names(found) == {"Tan Mei Ling"}  # not Tan Mei Hua of another school
    item = found["items"][0]  # type: ignore[index]
    assert item == {
        "id": cast.locked.id,
        "loginId": str(cast.locked.login_id),
        "name": "Tan Mei Ling",
        "school": "Clementi Primary School",
        "class": "5A",
        "locked": True,
        "disabled": False,
        "mustChange": False,
        "answersSet": False,
    }
    assert names(people(client, q="CHLOE")) == {"Chloé Lim"}  # case and accents
    everyone = people(client, q="", level="P5")
    assert everyone["totalResults"] == 3
    page = people(client, level="P5", startIndex="2", count="1")
    assert page["totalResults"] == 3 and page["startIndex"] == 2 and len(page["items"]) == 1  # type: ignore[arg-type]


def test_two_letters_find_the_names_and_login_ids_that_start_with_them(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    login = LoginId.parse("office_clementi@schools.gov.sg")
    backend.services.people.create(
        NewPerson(full_name="Nur Aini", role="staff", school=CLEMENTI, login_id=login)
    )
    sign_in(client, cast.school_admin)
    # Mei Ling's given name and Lim start with "li"; Ahmad Bin Ali and Kumar Pillai only hold it.
    assert names(people(client, q="LI")) == {"Tan Mei Ling", "Chloé Lim"}
    assert names(people(client, q="ta")) == {"Tan Mei Ling"}  # not Tan Mei Hua of Bukit Timah
    assert names(people(client, q="of")) == {"Nur Aini"}  # the login ID's start
    too_short = {
        "error": "search_too_short",
        "detail": "Type at least 2 letters of the name or login ID.",
    }
    response = client.get("/admin/api/people", query_string={"q": " a "})
    assert (response.status_code, response.get_json()) == (400, too_short)
    page = client.get("/admin/people", query_string={"q": "a", "class": "5A"})
    assert page.status_code == 400 and too_short["detail"] in page.get_data(as_text=True)


def test_a_school_administrator_unlocks_resets_and_disables(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    sign_in(client, cast.school_admin)
    base = f"/admin/api/people/{cast.locked.id}"
    assert client.post(f"{base}/unlock", json={}).get_json()["locked"] is False
    assert client.post(f"{base}/reset").status_code == 415  # JSON only: the CSRF defence
    temporary = client.post(f"{base}/reset", json={}).get_json()["temporaryPassword"]
    assert backend.services.passwords.sign_in(
        backend.services.people.get(cast.locked.id), temporary
    ).ok
    detail = client.get(base).get_json()
    assert detail["mustChange"] is True
    assert detail["role"] == "student" and detail["schools"] == ["Clementi Primary School"]
    history = [(event["operation"], event["actor"], event["door"]) for event in detail["history"]]
    actor = str(cast.school_admin.login_id)
    assert history[:2] == [("password.reset", actor, "console"), ("lock.clear", actor, "console")]
    assert detail["history"][0]["what"] == "Password reset to a temporary one"
    assert client.post(f"{base}/disable", json={}).get_json()["disabled"] is True
    assert client.post(f"{base}/enable", json={}).get_json()["disabled"] is False
    assert client.post(f"{base}/clear-answers", json={}).status_code == 200


def test_a_form_teacher_sees_only_their_class(client: FlaskClient, cast: Cast) -> None:
    sign_in(client, cast.form_teacher)
    assert names(people(client, q="")) == {"Tan Mei Ling", "Chloé Lim"}
    assert names(people(client, q="ahmad")) == set()
    assert names(people(client, q="tan")) == {"Tan Mei Ling"}
    for outside in (cast.other_class, cast.teacher, cast.elsewhere, cast.hq):
        assert client.get(f"/admin/api/people/{outside.id}").status_code == 404
        for action in ACTIONS:
            response = client.post(f"/admin/api/people/{outside.id}/{action}", json={})
            assert response.status_code == 404, (outside.full_name, action)


def test_a_form_teacher_may_not_disable_or_enable(client: FlaskClient, cast: Cast) -> None:
    sign_in(client, cast.form_teacher)
    base = f"/admin/api/people/{cast.classmate.id}"
    for action in ("disable", "enable"):
        response = client.post(f"{base}/{action}", json={})
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"
    assert client.post(f"{base}/reset", json={}).status_code == 200
    assert client.get(base).get_json()["disabled"] is False


@pytest.mark.parametrize("tampered", ["{id}", "{id}x", "..%2F{id}", "{id}%00", "nobody"])
def test_a_school_administrator_cannot_reach_another_school(
    client: FlaskClient, cast: Cast, tampered: str
) -> None:
    sign_in(client, cast.school_admin)
    assert names(people(client, q="Tan Mei Hua")) == set()
    assert names(people(client, q="", level="P5", **{"class": "5A"})) == {
        "Tan Mei Ling",
        "Chloé Lim",
    }
    target = tampered.format(id=cast.elsewhere.id)
    for path in ("", "/unlock", "/reset", "/disable"):
        method = client.get if not path else client.post
        response = method(f"/admin/api/people/{target}{path}", json={} if path else None)
        assert response.status_code == 404, (target, path)
        assert response.get_json()["error"] == "not_found"
    assert client.get(f"/admin/api/people/{cast.hq.id}").status_code == 404


def test_out_of_scope_answers_like_a_missing_id(client: FlaskClient, cast: Cast) -> None:
    sign_in(client, cast.school_admin)
    outside = client.get(f"/admin/api/people/{cast.elsewhere.id}").get_json()
    missing = client.get("/admin/api/people/00000000-0000-0000-0000-000000000000").get_json()
    assert outside == missing


def test_a_revoked_grant_ends_the_session(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    sign_in(client, cast.form_teacher)
    assert client.get("/admin/api/people").status_code == 200
    backend.grants.revoke(cast.form_teacher.login_id)
    assert client.get("/admin/api/people").status_code == 401
