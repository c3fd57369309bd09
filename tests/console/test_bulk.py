"""/admin/api: a P1-3 child's login card, and a class's or level's cards and start-of-year reset."""

from __future__ import annotations

from flask.testing import FlaskClient

from bridge.core.people import Person
from bridge.services import Backend
from tests.support.console import BUKIT, CLEMENTI, PASSWORD, Cast, sign_in, student
from tests.support.pdf import pdf_text


def history(client: FlaskClient, person: Person) -> list[tuple[str, str]]:
    detail = client.get(f"/admin/api/people/{person.id}").get_json()
    return [(event["operation"], event["actor"]) for event in detail["history"]]


def test_a_form_teacher_resets_their_class_with_one_pdf_of_slips(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    sign_in(client, cast.form_teacher)
    preview = client.get("/admin/api/classes", query_string={"school": CLEMENTI, "class": "5A"})
    group = preview.get_json()
    assert group["totalResults"] == 2 and group["actions"] == ["reset"]
    assert {item["name"] for item in group["items"]} == {"Tan Mei Ling", "Chloé Lim"}

    body = {"school": CLEMENTI, "class": "5A", "people": 2}
    done = client.post("/admin/api/classes/reset", json=body).get_json()
    assert (done["touched"], done["done"], done["failed"]) == (2, 2, [])
    text = pdf_text(done["pdf"])
    assert "MIMS password slip" in text and "http://127.0.0.1:8080/sspr/" in text
    services = backend.services
    actor = str(cast.form_teacher.login_id)
    for item in done["items"]:
        assert item["loginId"] in text and item["temporaryPassword"] in text
        person = services.people.get(item["id"])
        assert person.must_change
        assert services.passwords.sign_in(person, item["temporaryPassword"]).ok
        assert not services.passwords.sign_in(services.people.get(item["id"]), PASSWORD).ok
        assert ("password.reset", actor) in history(client, person)
        assert ("account.start_year", actor) in history(client, person)


def test_a_form_teacher_cannot_bulk_reset_another_class(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    sign_in(client, cast.form_teacher)
    for school, klass in ((CLEMENTI, "5B"), (BUKIT, "5A"), (CLEMENTI, "9Z")):
        body = {"school": school, "class": klass, "people": 1}
        response = client.post("/admin/api/classes/reset", json=body)
        assert response.status_code == 404, (school, klass)
        assert response.get_json()["error"] == "not_found"
        query = {"school": school, "class": klass}
        assert client.get("/admin/api/classes", query_string=query).status_code == 404
    # The level reaches only the students of their class, never the rest of P5.
    level = client.get("/admin/api/classes", query_string={"school": CLEMENTI, "level": "P5"})
    assert {item["name"] for item in level.get_json()["items"]} == {"Tan Mei Ling", "Chloé Lim"}
    services = backend.services
    assert services.passwords.sign_in(services.people.get(cast.other_class.id), PASSWORD).ok


def test_a_wrong_count_or_level_changes_nobody(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    sign_in(client, cast.school_admin)
    body = {"school": CLEMENTI, "class": "5A", "people": 3}
    changed = client.post("/admin/api/classes/reset", json=body)
    assert changed.status_code == 409 and changed.get_json()["error"] == "changed"
    cards = client.post("/admin/api/classes/cards", json=body | {"people": 2})
    assert cards.status_code == 400  # login cards are for P1 to P3
    missing = client.post("/admin/api/classes/reset", json={"school": CLEMENTI, "people": 2})
    assert missing.status_code == 400
    assert (
        client.post("/admin/api/classes/reset", json={**body, "people": "two"}).status_code == 400
    )
    services = backend.services
    assert services.passwords.sign_in(services.people.get(cast.classmate.id), PASSWORD).ok
    assert not services.people.get(cast.classmate.id).must_change


def test_a_young_childs_login_card_has_a_password_and_preset_answers(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    services = backend.services
    young = student(services, "Lim Wei Jie", CLEMENTI, "2A")
    sign_in(client, cast.form_teacher)
    assert client.post(f"/admin/api/people/{young.id}/card", json={}).status_code == 404
    older = client.post(f"/admin/api/people/{cast.classmate.id}/card", json={})
    assert older.status_code == 400  # cards are for P1 to P3

    sign_in(client, cast.school_admin)
    card = client.post(f"/admin/api/people/{young.id}/card", json={}).get_json()
    assert len(card["answers"]) == 3
    text = " ".join(pdf_text(card["pdf"]).split())
    assert "MIMS login card" in text and str(young.login_id) in text
    assert card["temporaryPassword"] in text
    for answer in card["answers"]:
        assert answer["answer"] in text
    assert services.passwords.sign_in(services.people.get(young.id), card["temporaryPassword"]).ok
    assert services.people.get(young.id).answers_set
    actor = str(cast.school_admin.login_id)
    seen = history(client, young)
    for operation in ("card.print", "password.reset", "answers.set"):
        assert (operation, actor) in seen


def test_a_level_gets_its_cards_in_one_pdf(
    client: FlaskClient, cast: Cast, backend: Backend
) -> None:
    services = backend.services
    children = [student(services, name, CLEMENTI, "2B") for name in ("Ong Li Hua", "Yap Jun")]
    sign_in(client, cast.school_admin)
    group = client.get("/admin/api/classes", query_string={"school": CLEMENTI, "level": "P2"})
    assert group.get_json()["actions"] == ["cards"]
    body = {"school": CLEMENTI, "level": "P2", "people": 2}
    done = client.post("/admin/api/classes/cards", json=body).get_json()
    assert done["done"] == 2 and done["failed"] == []
    text = pdf_text(done["pdf"])
    assert text.count("MIMS login card") == 2
    assert {item["loginId"] for item in done["items"]} == {str(c.login_id) for c in children}


def test_the_level_page_counts_only_the_children_in_scope(client: FlaskClient, cast: Cast) -> None:
    sign_in(client, cast.school_admin)
    page = client.get(f"/admin/levels/{CLEMENTI}/P5").get_data(as_text=True)
    assert "Level P5" in page and "Start-of-year reset (3)" in page
    sign_in(client, cast.form_teacher)
    page = client.get(f"/admin/levels/{CLEMENTI}/P5").get_data(as_text=True)
    assert "Start-of-year reset (2)" in page and "Ahmad" not in page
    confirm = client.get(
        "/admin/class-actions/reset", query_string={"school": CLEMENTI, "level": "P5"}
    )
    assert "This touches <b>2 people</b> in level P5" in confirm.get_data(as_text=True)
    other = {"school": CLEMENTI, "class": "5B"}
    assert client.get("/admin/class-actions/reset", query_string=other).status_code == 404
