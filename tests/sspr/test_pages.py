"""The portal's pages through Flask's test client: forms, CSRF, and every flow's words."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from bridge.services import Services
from bridge.sspr.service import Portal
from tests.support.portal import ANSWERS, GOOD, NEWER, Account


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def submit(client: FlaskClient, path: str, form: dict[str, str], page: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf(client, page or path)
    return client.post(path, data={"csrf_token": token, **form})


def test_sign_in_page_is_labelled_and_links_to_forgot(web: FlaskClient) -> None:
    page = web.get("/sspr/").get_data(as_text=True)
    assert '<label for="login_id">' in page and '<label for="password">' in page
    assert 'href="/sspr/forgot"' in page
    assert "<script>" not in page and "style=" not in page  # nothing inline: the CSP forbids it


def test_a_form_without_its_csrf_token_is_refused(web: FlaskClient, mary: Account) -> None:
    response = web.post("/sspr/", data={"login_id": mary.login, "password": GOOD})
    assert response.status_code == 400


def test_first_login_walks_password_then_answers(
    web: FlaskClient, mary: Account, services: Services
) -> None:
    temporary = services.passwords.reset(mary.person, "test")
    response = submit(web, "/sspr/", {"login_id": mary.login, "password": temporary})
    assert response.status_code == 302 and response.location.endswith("/sspr/password")
    page = web.get("/sspr/password").get_data(as_text=True)
    assert "Choose your own password" in page and 'data-kind="length"' in page
    response = submit(
        web,
        "/sspr/password",
        {"current_password": temporary, "new_password": "mary", "new_password_again": "mary"},
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Add a number, like 7." in body and "Don&#39;t use your name in it." in body
    assert temporary not in body
    response = submit(
        web,
        "/sspr/password",
        {"current_password": temporary, "new_password": NEWER, "new_password_again": NEWER},
    )
    assert response.location.endswith("/sspr/answers?changed=1")
    form = {f"answer_{q}": a for q, a in ANSWERS.items()} | {"recovery_email": ""}
    response = submit(web, "/sspr/answers", form)
    assert response.status_code == 400 and "current password is not right" in response.get_data(
        as_text=True
    )
    response = submit(web, "/sspr/answers", form | {"current_password": NEWER})
    assert response.location.endswith("/sspr/home?saved=1")
    assert "all set" in web.get("/sspr/home").get_data(as_text=True)


def test_a_locked_account_sees_what_to_do(web: FlaskClient, mary: Account) -> None:
    for _ in range(5):
        submit(web, "/sspr/", {"login_id": mary.login, "password": "Wrong7Password42"})
    response = submit(web, "/sspr/", {"login_id": mary.login, "password": GOOD})
    assert response.status_code == 401  # as for a wrong password: the page tells no more
    page = response.get_data(as_text=True)
    assert "temporarily locked: try again later or ask your form teacher" in page


def test_forgot_password_by_forms(web: FlaskClient, ready: Account, portal: Portal) -> None:
    page = submit(web, "/sspr/forgot", {"login_id": ready.login})
    html = page.get_data(as_text=True)
    ticket = re.search(r'name="ticket" value="([^"]+)"', html)
    assert ticket and "What is your favourite colour?" in html
    token = csrf(web, "/sspr/forgot")
    wrong = {f"answer_{q}": "nope" for q in ANSWERS}
    refused = web.post(
        "/sspr/forgot/answers", data={"csrf_token": token, "ticket": ticket.group(1), **wrong}
    )
    assert refused.status_code == 400 and "did not match" in refused.get_data(as_text=True)
    right = {f"answer_{q}": a for q, a in ANSWERS.items()}
    chosen = web.post(
        "/sspr/forgot/answers", data={"csrf_token": token, "ticket": ticket.group(1), **right}
    )
    html = chosen.get_data(as_text=True)
    reset = re.search(r'name="token" value="([^"]+)"', html)
    assert reset and "Now make a new password" in html
    form = {"csrf_token": token, "token": reset.group(1)}
    done = web.post(
        "/sspr/forgot/password", data=form | {"new_password": NEWER, "new_password_again": NEWER}
    )
    assert "Your new password is saved!" in done.get_data(as_text=True)
    again = web.post(
        "/sspr/forgot/password", data=form | {"new_password": GOOD, "new_password_again": GOOD}
    )
    assert again.status_code == 302 and "expired=1" in again.location


def test_a_session_whose_account_is_gone_goes_back_to_sign_in(
    web: FlaskClient, mary: Account, services: Services
) -> None:
    submit(web, "/sspr/", {"login_id": mary.login, "password": GOOD})
    services.people.delete(mary.person.id)
    response = web.get("/sspr/home")
    assert response.status_code == 302 and response.location.endswith("/sspr/")
