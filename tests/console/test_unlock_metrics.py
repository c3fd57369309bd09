"""/metrics counts the console's sign-ins and its unlocks (outcomes only, never who)."""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.support.console import PASSWORD, Cast, sign_in


def total(client: FlaskClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_a_console_sign_in_and_an_unlock_are_counted(client: FlaskClient, cast: Cast) -> None:
    signed, unlocked = (
        total(client, "mims_sign_ins_total", outcome="success"),
        total(client, "mims_unlocks_total"),
    )
    wrong = total(client, "mims_sign_ins_total", outcome="wrong")
    assert sign_in(client, cast.school_admin, PASSWORD + "x") == 401
    assert sign_in(client, cast.school_admin) == 200
    assert client.post(f"/admin/api/people/{cast.locked.id}/unlock", json={}).status_code == 200
    assert total(client, "mims_sign_ins_total", outcome="wrong") == wrong + 1
    assert total(client, "mims_sign_ins_total", outcome="success") == signed + 1
    assert total(client, "mims_unlocks_total") == unlocked + 1
