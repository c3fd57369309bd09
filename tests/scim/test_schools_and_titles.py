"""/Users: a teacher in several schools (MIMS otherSchools), titles, and what round-trips.

``school`` stays the one school a simple client knows; ``otherSchools`` adds the rest for
staff; filters on ``school`` find the teacher in each.
"""

from __future__ import annotations

from urllib.parse import quote

from tests.support.scim import ENTERPRISE, MIMS, PATCH, USER, Scim, is_error, new_user

CLEMENTI = "Clementi Primary School"
BEDOK = "Bedok Secondary School"
TAMPINES = "Tampines Primary School"


def teacher(scim: Scim, **mims: object) -> dict:
    return new_user(
        scim,
        name={"formatted": "Siti Rahmah"},
        title="Head of Mathematics",
        **{
            ENTERPRISE: {"department": "Mathematics", "organization": "MOE"},
            MIMS: {"role": "staff", "school": CLEMENTI} | mims,
        },
    )


def ids(scim: Scim, scim_filter: str) -> list[str]:
    response = scim.get(f"/Users?filter={quote(scim_filter)}")
    assert response.status_code == 200, response.json
    return [user["id"] for user in response.json.get("Resources", [])]


def test_a_teacher_in_several_schools_round_trips_and_is_in_each_schools_group(
    scim: Scim,
) -> None:
    siti = teacher(scim, otherSchools=[TAMPINES, BEDOK])
    assert siti[MIMS]["school"] == CLEMENTI
    assert siti[MIMS]["otherSchools"] == [BEDOK, TAMPINES]
    assert siti["title"] == "Head of Mathematics"
    assert siti[ENTERPRISE]["department"] == "Mathematics"
    assert siti[ENTERPRISE]["organization"] == "MOE"
    assert {group["display"] for group in siti["groups"]} == {CLEMENTI, BEDOK, TAMPINES}
    assert scim.get(f"/Users/{siti['id']}").json == siti


def test_a_filter_on_school_finds_the_teacher_in_each_of_her_schools(scim: Scim) -> None:
    siti = teacher(scim, otherSchools=[BEDOK])
    pupil = new_user(scim, name={"formatted": "Mary Tan"}, **{MIMS: {"school": BEDOK}})
    assert ids(scim, f'{MIMS}:school eq "{CLEMENTI}"') == [siti["id"]]
    assert sorted(ids(scim, f'{MIMS}:school eq "{BEDOK}"')) == sorted([siti["id"], pupil["id"]])
    assert ids(scim, f'{MIMS}:otherSchools eq "{BEDOK}"') == [siti["id"]]
    assert ids(scim, 'title sw "Head"') == [siti["id"]]


def test_a_client_that_knows_one_school_moves_the_main_one_and_keeps_the_others(
    scim: Scim,
) -> None:
    siti = teacher(scim, otherSchools=[BEDOK])
    replace = {"op": "replace", "path": f"{MIMS}:school", "value": TAMPINES}
    moved = scim.patch(f"/Users/{siti['id']}", {"schemas": [PATCH], "Operations": [replace]})
    assert moved.status_code == 200, moved.json
    assert (moved.json[MIMS]["school"], moved.json[MIMS]["otherSchools"]) == (TAMPINES, [BEDOK])
    assert {group["display"] for group in moved.json["groups"]} == {TAMPINES, BEDOK}


def test_a_student_in_two_schools_is_refused_with_the_reason(scim: Scim) -> None:
    body = {
        "schemas": [USER, MIMS],
        "name": {"formatted": "Mary Tan"},
        MIMS: {"school": CLEMENTI, "otherSchools": [BEDOK]},
    }
    response = scim.post("/Users", body)
    assert is_error(response, 400)
    assert "a student belongs to exactly one school" in response.json["detail"]
    mary = new_user(scim, name={"formatted": "Mary Tan"}, **{MIMS: {"school": CLEMENTI}})
    add = {"op": "add", "path": f"{MIMS}:otherSchools", "value": [BEDOK]}
    refused = scim.patch(f"/Users/{mary['id']}", {"schemas": [PATCH], "Operations": [add]})
    assert is_error(refused, 400)
    assert scim.get(f"/Users/{mary['id']}").json == mary


def test_display_name_is_returned_only_when_the_client_gave_one(scim: Scim) -> None:
    mary = new_user(scim, name={"formatted": "Mary Tan"})
    assert "displayName" not in mary  # LDAP consumers still read the full name there
    mei = new_user(scim, name={"formatted": "Mei Tan"}, displayName="Mei")
    assert mei["displayName"] == "Mei"
