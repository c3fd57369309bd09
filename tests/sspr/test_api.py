"""The portal's JSON API against a real slapd: every status the issue lists."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient

from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.services import Services
from bridge.sspr.service import AccountLocked, Portal, ResetRefused
from tests.support.portal import ANSWERS, GOOD, NEWER, Account, make_person, post


def sign_in(web: FlaskClient, account: Account, password: str | None = None) -> str:
    status, body = post(
        web, "login", {"loginId": account.login, "password": password or account.password}
    )
    assert status == 200, body
    return str(body["next"])


def test_wrong_id_and_wrong_password_get_one_answer(web: FlaskClient, mary: Account) -> None:
    unknown = post(web, "login", {"loginId": "nobody@students.edu.sg", "password": GOOD})
    wrong = post(web, "login", {"loginId": mary.login, "password": "Wrong7Password42"})
    nonsense = post(web, "login", {"loginId": "not an id", "password": GOOD})
    assert unknown == wrong == nonsense
    assert unknown[0] == 401 and unknown[1]["error"] == "wrong_login"


def test_first_login_changes_password_then_sets_answers(
    web: FlaskClient, mary: Account, services: Services
) -> None:
    temporary = services.passwords.reset(mary.person, "test")
    assert sign_in(web, mary, temporary) == "change_password"
    status, body = post(web, "answers", {"answers": ANSWERS, "currentPassword": temporary})
    assert (status, body["error"]) == (403, "change_password_first")
    status, body = post(web, "password", {"currentPassword": temporary, "newPassword": NEWER})
    assert (status, body) == (200, {"next": "setup_answers"})
    status, body = post(
        web,
        "answers",
        {"answers": ANSWERS, "recoveryEmail": "mum@example.org", "currentPassword": NEWER},
    )
    assert (status, body) == (200, {"next": "done"})
    web.post("/sspr/api/logout", json={})
    assert sign_in(web, mary, NEWER) == "done"


def test_change_password_lists_every_failed_rule(web: FlaskClient, ready: Account) -> None:
    sign_in(web, ready)
    status, body = post(web, "password", {"currentPassword": GOOD, "newPassword": "mary"})
    assert status == 400 and body["error"] == "password_rules"
    codes = [f["code"] for f in body["failures"]]  # type: ignore[union-attr,index]
    assert codes == ["too_short", "needs_digit", "needs_upper", "contains_name", "too_common"]
    assert "mary" not in str(body["detail"]).lower()


def test_change_password_needs_the_current_one(web: FlaskClient, ready: Account) -> None:
    sign_in(web, ready)
    status, body = post(
        web, "password", {"currentPassword": "Nope7Nope7Nope", "newPassword": NEWER}
    )
    assert (status, body["error"]) == (400, "wrong_current_password")


def test_history_is_enforced_by_slapd(web: FlaskClient, ready: Account) -> None:
    sign_in(web, ready)
    assert post(web, "password", {"currentPassword": GOOD, "newPassword": NEWER})[0] == 200
    status, body = post(web, "password", {"currentPassword": NEWER, "newPassword": GOOD})
    assert status == 400 and body["failures"] == [  # type: ignore[comparison-overlap]
        {"code": "in_history", "message": "You have used this password before. Choose a new one."}
    ]


def test_signed_out_calls_are_refused(web: FlaskClient, ready: Account) -> None:
    sign_in(web, ready)
    assert post(web, "logout", {})[0] == 200
    status, body = post(web, "password", {"currentPassword": GOOD, "newPassword": NEWER})
    assert (status, body["error"]) == (401, "not_signed_in")


def test_a_locked_account_gets_the_answer_of_a_wrong_password(
    web: FlaskClient, mary: Account
) -> None:
    for _ in range(5):
        post(web, "login", {"loginId": mary.login, "password": "Wrong7Password42"})
    locked = post(web, "login", {"loginId": mary.login, "password": GOOD})
    assert locked == post(web, "login", {"loginId": "nobody@students.edu.sg", "password": GOOD})
    assert locked[0] == 401 and locked[1]["error"] == "wrong_login"
    assert "temporarily locked" in str(locked[1]["detail"])
    assert "ask your form teacher" in str(locked[1]["detail"])


def test_answers_are_checked_before_saving(web: FlaskClient, mary: Account) -> None:
    sign_in(web, mary)
    same = dict.fromkeys(ANSWERS, "blue")
    status, body = post(web, "answers", {"answers": same, "currentPassword": GOOD})
    assert status == 400 and body["error"] == "answers"
    assert "blue" not in str(body).lower()
    status, body = post(
        web, "answers", {"answers": ANSWERS, "recoveryEmail": "nope", "currentPassword": GOOD}
    )
    assert (status, body["error"]) == (400, "bad_email")


def test_the_api_takes_json_only(web: FlaskClient) -> None:
    response = web.post("/sspr/api/login", data={"loginId": "x", "password": "y"})
    assert response.status_code == 415
    assert response.get_json()["error"] == "json_only"


def test_reset_start_is_the_same_shape_for_every_id(web: FlaskClient, ready: Account) -> None:
    shapes = []
    for login in (ready.login, "nobody@students.edu.sg", "???"):
        status, body = post(web, "reset/start", {"loginId": login})
        assert status == 200
        shapes.append((sorted(body), body["questions"]))
    assert shapes[0] == shapes[1] == shapes[2]


def reset_token(
    web: FlaskClient, login: str, answers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    _, started = post(web, "reset/start", {"loginId": login})
    return post(web, "reset/verify", {"ticket": started["ticket"], "answers": answers})


def test_forgot_password_end_to_end_and_the_token_works_once(
    web: FlaskClient, ready: Account
) -> None:
    loud = {"mother_maiden_name": "  LIM ", "favourite_colour": "blue", "favourite_city": "PARIS"}
    status, body = reset_token(web, ready.login, loud)
    assert status == 200
    token = body["resetToken"]
    status, body = post(web, "reset/complete", {"resetToken": token, "newPassword": "short"})
    assert status == 400 and body["error"] == "password_rules"
    status, body = post(web, "reset/complete", {"resetToken": token, "newPassword": GOOD})
    assert status == 400 and body["failures"][0]["code"] == "in_history"  # type: ignore[index]
    assert post(web, "reset/complete", {"resetToken": token, "newPassword": NEWER})[0] == 200
    assert sign_in(web, ready, NEWER) == "done"
    status, body = post(
        web, "reset/complete", {"resetToken": token, "newPassword": "Orange8Comet55"}
    )
    assert (status, body["error"]) == (400, "expired")


def test_reset_tokens_expire(
    web: FlaskClient, ready: Account, portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, body = reset_token(web, ready.login, ANSWERS)
    monkeypatch.setattr(portal.store, "clock", lambda: time.time() + 11 * 60)
    status, body = post(
        web, "reset/complete", {"resetToken": body["resetToken"], "newPassword": NEWER}
    )
    assert (status, body["error"]) == (400, "expired")


def test_a_forged_ticket_is_refused(web: FlaskClient, ready: Account) -> None:
    status, body = post(web, "reset/verify", {"ticket": "x.y.z", "answers": ANSWERS})
    assert (status, body["error"]) == (400, "expired")


def test_unknown_no_answers_and_wrong_answers_look_the_same(
    web: FlaskClient, ready: Account, services: Services
) -> None:
    fresh = make_person(services, "Ali Tan")
    wrong = dict(ANSWERS, favourite_city="London")
    results = [
        reset_token(web, "nobody@students.edu.sg", ANSWERS),
        reset_token(web, str(fresh.login_id), ANSWERS),
        reset_token(web, ready.login, wrong),
        reset_token(web, ready.login, {"favourite_city": "Paris"}),
    ]
    assert all(result == results[0] for result in results)
    assert results[0][0] == 400 and results[0][1]["error"] == "reset_refused"


def test_the_attempt_limit_closes_sspr_until_the_school_resets(
    web: FlaskClient, ready: Account, services: Services
) -> None:
    wrong = dict(ANSWERS, favourite_colour="Red")
    for _ in range(5):
        assert reset_token(web, ready.login, wrong)[0] == 400
    status, body = reset_token(web, ready.login, ANSWERS)
    assert (status, body["error"]) == (400, "reset_refused")
    services.passwords.reset(ready.person, "test")
    assert reset_token(web, ready.login, ANSWERS)[0] == 200


def test_a_right_answer_set_clears_earlier_failures(
    web: FlaskClient, ready: Account, services: Services
) -> None:
    wrong = dict(ANSWERS, favourite_colour="Red")
    for _ in range(4):
        reset_token(web, ready.login, wrong)
    assert reset_token(web, ready.login, ANSWERS)[0] == 200
    state = services.answers.find(ready.person.login_id)
    assert state is not None and state.attempts.failures == 0


def test_rate_limits_answer_429_in_json(
    portal_config: Config, directory: LdapClient, ready: Account
) -> None:
    from bridge.app import create_app

    app = create_app(portal_config.with_overrides(sspr={"rate_limit": "3 per minute"}), directory)
    client = app.test_client()
    statuses = [post(client, "reset/start", {"loginId": ready.login})[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert post(client, "reset/start", {"loginId": "x"})[1]["error"] == "too_many_tries"


def test_portal_answers_carry_strict_headers(web: FlaskClient) -> None:
    response = web.get("/sspr/", base_url="https://localhost")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_locked_and_refused_are_errors_a_child_can_read() -> None:
    assert "ask your teacher" in AccountLocked().detail
    assert "ask your teacher" in ResetRefused().detail


def test_a_reset_by_answers_also_opens_a_sign_in_lock(web: FlaskClient, ready: Account) -> None:
    for _ in range(5):
        post(web, "login", {"loginId": ready.login, "password": "Wrong7Password42"})
    assert post(web, "login", {"loginId": ready.login, "password": GOOD})[0] == 401
    _, body = reset_token(web, ready.login, ANSWERS)
    assert (
        post(web, "reset/complete", {"resetToken": body["resetToken"], "newPassword": NEWER})[0]
        == 200
    )
    assert sign_in(web, ready, NEWER) == "done"
