"""The portal's outcomes as /metrics counts them: answers, lockouts, resets, throttling, disables.

In one process (no multiprocess folder): /metrics shows this process's counts, so each test
compares the page before and after what it did.
"""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from bridge.config import Config
from bridge.core.people import PersonChange
from bridge.directory.client import LdapClient
from bridge.services import Services
from tests.support.portal import ANSWERS, GOOD, Account, post

WRONG = dict(ANSWERS, favourite_colour="Red")


def counts(web: FlaskClient) -> dict[tuple[str, str], float]:
    response = web.get("/metrics")
    assert response.status_code == 200
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name.endswith("_total"):
                found[(sample.name, sample.labels.get("outcome", ""))] = sample.value
    return found


def moved(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float]) -> dict:
    keys = set(before) | set(after)
    changes = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in keys}
    wanted = ("mims_sign_ins_total", "mims_answer_checks_total", "mims_password_resets_total")
    wanted += ("mims_lockouts_total",)
    return {k: v for k, v in changes.items() if v and k[0] in wanted}


def check(web: FlaskClient, login: str, answers: dict[str, str]) -> tuple[int, dict]:
    _, started = post(web, "reset/start", {"loginId": login})
    return post(web, "reset/verify", {"ticket": started["ticket"], "answers": answers})


def test_wrong_answer_sets_then_the_lock_then_a_reset(web: FlaskClient, ready: Account) -> None:
    before = counts(web)
    for _ in range(5):  # [sspr] max_failed_attempts: the fifth closes the reset
        assert check(web, ready.login, WRONG)[0] == 400
    assert check(web, ready.login, ANSWERS)[0] == 400  # right, but closed
    assert moved(before, counts(web)) == {
        ("mims_answer_checks_total", "wrong"): 5,
        ("mims_lockouts_total", ""): 1,
        ("mims_answer_checks_total", "locked"): 1,
    }


def test_a_reset_that_sets_a_password_and_one_refused(web: FlaskClient, ready: Account) -> None:
    before = counts(web)
    status, verified = check(web, ready.login, ANSWERS)
    assert status == 200
    token = verified["resetToken"]
    assert post(web, "reset/complete", {"resetToken": token, "newPassword": "short"})[0] == 400
    new = {"resetToken": token, "newPassword": "Harbour8Gentle55"}
    assert post(web, "reset/complete", new)[0] == 200
    assert moved(before, counts(web)) == {
        ("mims_answer_checks_total", "right"): 1,
        ("mims_password_resets_total", "refused"): 1,
        ("mims_password_resets_total", "success"): 1,
    }


def test_a_disabled_account_and_a_throttled_address(
    portal_config: Config, directory: LdapClient, services: Services, mary: Account
) -> None:
    from bridge.app import create_app

    app = create_app(portal_config.with_overrides(sspr={"rate_limit": "2 per minute"}), directory)
    web = app.test_client()
    before = counts(web)
    services.people.update(mary.person.id, PersonChange(disabled=True))
    body = {"loginId": mary.login, "password": GOOD}
    assert [post(web, "login", body)[0] for _ in range(3)] == [401, 401, 429]
    assert moved(before, counts(web)) == {
        ("mims_sign_ins_total", "disabled"): 2,
        ("mims_sign_ins_total", "throttled"): 1,
    }
