"""/Users over HTTP against the real slapd: create, read, list, replace, patch, delete."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ldap3 import MODIFY_REPLACE

from bridge.scim.listing import SORT_FIELDS
from tests.support.directory import ldaps_server
from tests.support.scim import ENTERPRISE, MIMS, PATCH, USER, Scim, is_error, new_user


def test_post_without_username_derives_the_login_id_by_the_naming_rules(scim: Scim) -> None:
    first = new_user(scim, name={"formatted": "Muhammad Ali Bin Muhammad Raihan"})
    assert first["userName"] == "muhammad_ali_muhammad_raihan@students.edu.sg"
    second = new_user(scim, name={"formatted": "Muhammad Ali Bin Muhammad Raihan"})
    assert second["userName"] == "muhammad_ali_muhammad_raihan_1@students.edu.sg"
    from_parts = new_user(scim, name={"givenName": "Siti", "familyName": "Ahmad"})
    assert from_parts["userName"] == "siti_ahmad@students.edu.sg"
    staff = new_user(scim, name={}, displayName="Lee Ann", **{MIMS: {"role": "staff"}})
    assert staff["userName"] == "lee_ann@schools.gov.sg"


def test_post_returns_location_etag_and_the_whole_user(scim: Scim, admin) -> None:
    response = scim.post(
        "/Users",
        {
            "schemas": [USER, ENTERPRISE, MIMS],
            "userName": "Ann_Lee@Students.edu.sg",
            "externalId": "S123",
            "name": {"formatted": "Ann Lee", "givenName": "Ann", "familyName": "Lee"},
            "displayName": "Ann",
            "password": "Correct-Horse-9",
            ENTERPRISE: {"employeeNumber": "E1", "department": "Science"},
            MIMS: {"school": "Clementi Primary School", "level": "P4", "className": "4A"},
        },
    )
    assert response.status_code == 201, response.json
    user = response.json
    assert user["userName"] == "ann_lee@students.edu.sg"
    assert response.headers["Location"] == user["meta"]["location"]
    assert response.headers["ETag"] == user["meta"]["version"]
    assert user["meta"]["version"].startswith('W/"')
    assert "password" not in user
    assert user["emails"] == [{"value": "ann_lee@students.edu.sg", "type": "work", "primary": True}]
    assert user[ENTERPRISE] == {"employeeNumber": "E1", "department": "Science"}
    assert user[MIMS]["role"] == "student" and user[MIMS]["locked"] is False
    assert {g["display"] for g in user["groups"]} == {
        "Clementi Primary School",
        "Clementi Primary School / P4",
        "Clementi Primary School / P4 / 4A",
    }
    admin.search(
        "ou=people,dc=mims,dc=example", "(uid=ann_lee)", attributes=["userPassword", "entryUUID"]
    )
    entry = admin.entries[0]
    assert entry.entryUUID.value == user["id"]
    stored = entry.userPassword.value
    assert "Correct-Horse-9" not in str(stored) and "{ARGON2}" in str(stored)  # hashed by slapd


def test_post_refuses_a_bad_or_foreign_username_and_a_taken_one(scim: Scim) -> None:
    bad = scim.post("/Users", {"schemas": [USER], "userName": "not an id", "displayName": "X"})
    assert is_error(bad, 400, "invalidValue")
    foreign = scim.post(
        "/Users", {"schemas": [USER], "userName": "a@gmail.com", "displayName": "X"}
    )
    assert is_error(foreign, 400, "invalidValue")
    new_user(scim, userName="mary_tan@students.edu.sg")
    taken = scim.post(
        "/Users", {"schemas": [USER], "userName": "MARY_TAN@students.edu.sg", "displayName": "M"}
    )
    assert is_error(taken, 409, "uniqueness")


def test_post_without_any_name_is_400(scim: Scim) -> None:
    assert is_error(scim.post("/Users", {"schemas": [USER]}), 400, "invalidValue")


def test_get_by_id_404_and_if_none_match(scim: Scim) -> None:
    user = new_user(scim)
    response = scim.get(f"/Users/{user['id']}")
    assert response.status_code == 200 and response.json["id"] == user["id"]
    assert (
        scim.get(f"/Users/{user['id']}", **{"If-None-Match": user["meta"]["version"]}).status_code
        == 304
    )
    assert is_error(scim.get("/Users/00000000-0000-0000-0000-000000000000"), 404)
    assert is_error(scim.get("/Users/not-a-uuid"), 404)


def test_attributes_and_excluded_attributes(scim: Scim) -> None:
    user = new_user(scim, **{ENTERPRISE: {"department": "Maths"}})
    only = scim.get(f"/Users/{user['id']}?attributes=userName,{ENTERPRISE}:department").json
    assert set(only) == {"id", "schemas", "userName", ENTERPRISE}
    assert only[ENTERPRISE] == {"department": "Maths"}
    without = scim.get(f"/Users/{user['id']}?excludedAttributes=groups,name").json
    assert "groups" not in without and "name" not in without and "userName" in without


def test_groups_come_with_their_ids_whenever_a_response_keeps_them(scim: Scim) -> None:
    new_user(scim, **{MIMS: {"school": "Bedok Primary School"}})
    school = scim.get('/Groups?filter=displayName eq "Bedok Primary School"').json["Resources"][0]
    wanted = [{"value": school["id"], "display": "Bedok Primary School"}]
    lookup = '/Users?filter=userName eq "mary_tan@students.edu.sg"'
    for query, expected in [
        ("", wanted),
        ("&attributes=groups", wanted),
        ("&attributes=groups.value", [{"value": school["id"]}]),
        ("&excludedAttributes=groups.display", [{"value": school["id"]}]),
        ("&attributes=userName", None),
        ("&excludedAttributes=groups", None),
    ]:
        [found] = scim.get(lookup + query).json["Resources"]
        kept = [{k: v for k, v in g.items() if k != "$ref"} for g in found.get("groups", [])]
        assert (kept or None) == expected, query


def test_list_filters_with_one_ldap_search(scim: Scim) -> None:
    for name in ("Mary Tan", "John Lim", "Mary Ong"):
        new_user(scim, name={"formatted": name}, externalId=name.replace(" ", ""))
    found = scim.get('/Users?filter=userName eq "mary_tan@students.edu.sg"').json
    assert (
        found["totalResults"] == 1
        and found["Resources"][0]["userName"] == "mary_tan@students.edu.sg"
    )
    found = scim.get('/Users?filter=externalId eq "JohnLim"').json
    assert [u["userName"] for u in found["Resources"]] == ["john_lim@students.edu.sg"]
    found = scim.get(
        '/Users?filter=emails[type eq "work"].value eq "mary_ong@students.edu.sg"'
    ).json
    assert found["totalResults"] == 1
    found = scim.get(
        '/Users?filter=name.formatted sw "mary" or userName eq "john_lim@students.edu.sg"'
    ).json
    assert found["totalResults"] == 3
    bad = scim.get("/Users?filter=userName eq")
    assert is_error(bad, 400, "invalidFilter")
    assert is_error(scim.get('/Users?filter=shoeSize eq "9"'), 400, "invalidFilter")


def test_paging_and_sorting_are_done_by_the_directory(scim: Scim) -> None:
    names = ["Zed Ang", "Amy Ong", "Ben Koh", "Cara Lim", "Dan Ng", "Eve Tan", "Fay Yeo"]
    for name in names:
        new_user(scim, name={"formatted": name, "familyName": name.split()[1]})
    pages = []
    for start in (1, 4, 7):
        page = scim.get(f"/Users?startIndex={start}&count=3").json
        assert page["totalResults"] == 7 and page["startIndex"] == start
        pages += [u["userName"].split("@")[0] for u in page["Resources"]]
    assert pages == sorted(pages) and len(pages) == 7
    page = scim.get("/Users?startIndex=99&count=3").json  # past the end: VLV error 76 handled
    assert page["totalResults"] == 7 and page["Resources"] == []
    only_count = scim.get("/Users?count=0").json
    assert only_count["totalResults"] == 7 and only_count["Resources"] == []
    by_family = scim.get("/Users?sortBy=name.familyName&sortOrder=descending&count=2").json
    assert [u["name"]["familyName"] for u in by_family["Resources"]] == ["Yeo", "Tan"]
    assert is_error(scim.get("/Users?sortBy=password"), 400)
    assert is_error(scim.get("/Users?count=abc"), 400)


def test_a_new_walk_sees_everyone_added_before_it(scim: Scim) -> None:
    for name in ("Ben Koh", "Cara Lim", "Dan Ng"):
        new_user(scim, name={"formatted": name})
    assert scim.get("/Users?count=2").json["totalResults"] == 3  # the bridge keeps this sort
    new_user(scim, name={"formatted": "Al Ang"})
    walked, start, total = [], 1, 0
    while start == 1 or start <= total:
        page = scim.get(f"/Users?startIndex={start}&count=2").json
        total = page["totalResults"]
        assert total == 4
        walked += [user["userName"].split("@")[0] for user in page["Resources"]]
        start += 2
    assert walked == ["al_ang", "ben_koh", "cara_lim", "dan_ng"]  # each once, in order


def _mims(user: dict[str, Any], name: str) -> Any:
    return user.get(MIMS, {}).get(name)


# Every sortBy the bridge takes (listing.SORT_FIELDS), and where a User shows its value.
SORTED_BY: dict[str, Callable[[dict[str, Any]], Any]] = {
    "id": lambda u: u["id"],
    "externalId": lambda u: u["externalId"],
    "meta.created": lambda u: u["meta"]["created"],
    "meta.lastModified": lambda u: u["meta"]["lastModified"],
    "userName": lambda u: u["userName"],
    "name.formatted": lambda u: u["name"]["formatted"],
    "name.givenName": lambda u: u["name"]["givenName"],
    "name.familyName": lambda u: u["name"]["familyName"],
    "displayName": lambda u: u["displayName"],
    "emails": lambda u: u["emails"][0]["value"],
    "emails.value": lambda u: u["emails"][0]["value"],
    "employeeNumber": lambda u: u[ENTERPRISE]["employeeNumber"],
    "department": lambda u: u[ENTERPRISE]["department"],
    "organization": lambda u: u[ENTERPRISE]["organization"],
    "school": lambda u: _mims(u, "school"),
    "level": lambda u: _mims(u, "level"),
    "className": lambda u: _mims(u, "className"),
    "role": lambda u: _mims(u, "role"),
    "loginId": lambda u: _mims(u, "loginId"),
}


def test_every_sort_attribute_orders_the_list(scim: Scim) -> None:
    assert {name.lower() for name in SORTED_BY} == set(SORT_FIELDS["User"])
    # Ascending by most attributes the order is the reverse of the login IDs' (the default).
    rows = [
        ("Eve Ng", "Al", "Ang", "Ava", "10", "Art", "Alpha", "Ang Mo Kio School", None, None),
        ("Dee Lim", "Bo", "Bee", "Bex", "20", "Bio", "Beta", "Bedok Primary School", "P1", "1A"),
        ("Cy Ho", "Cal", "Chua", "Cat", "30", "Chem", "Delta", "Clementi School", "P2", "2B"),
        ("Ann Yeo", "Dee", "Dass", "Dot", "40", "Drama", "Gamma", "Dover School", "P3", "3C"),
    ]
    for index, (
        full,
        given,
        family,
        shown,
        number,
        department,
        org,
        school,
        level,
        form,
    ) in enumerate(rows):
        new_user(
            scim,
            name={"formatted": full, "givenName": given, "familyName": family},
            displayName=shown,
            externalId=f"e{index}",
            **{
                ENTERPRISE: {
                    "employeeNumber": number,
                    "department": department,
                    "organization": org,
                },
                MIMS: {"school": school, "level": level, "className": form}
                | {"role": "staff" if level is None else "student"},
            },
        )
    for name, value in SORTED_BY.items():
        for order in ("ascending", "descending"):
            page = scim.get(f"/Users?sortBy={name}&sortOrder={order}").json
            assert page["totalResults"] == 4, name
            values = [value(user) for user in page["Resources"]]
            shown = [str(v).casefold() for v in values if v is not None]
            assert shown == sorted(shown, reverse=order == "descending"), (name, order, values)


def test_put_replaces_and_clears(scim: Scim) -> None:
    user = new_user(scim, displayName="Mary", **{ENTERPRISE: {"department": "Art"}})
    document = {
        "schemas": [USER],
        "userName": user["userName"],
        "name": {"formatted": "Mary Tan"},
        "active": False,
    }
    response = scim.put(f"/Users/{user['id']}", document)
    assert response.status_code == 200, response.json
    assert response.json["active"] is False
    assert "displayName" not in response.json and ENTERPRISE not in response.json


def test_put_with_a_new_username_renames(scim: Scim) -> None:
    user = new_user(scim)
    document = {
        "schemas": [USER],
        "userName": "mary_tan_lee@students.edu.sg",
        "name": {"formatted": "Mary Tan"},
    }
    renamed = scim.put(f"/Users/{user['id']}", document).json
    assert renamed["userName"] == "mary_tan_lee@students.edu.sg" and renamed["id"] == user["id"]


def test_patch_replace_add_remove_with_value_paths(scim: Scim) -> None:
    user = new_user(scim, displayName="Mary")
    ops = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": "name.givenName", "value": "Mary"},
            {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Music"},
            {"op": "remove", "path": "displayName"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": user["userName"]},
            {"op": "replace", "value": {f"{MIMS}:school": "Bedok Primary School"}},
        ],
    }
    response = scim.patch(f"/Users/{user['id']}", ops)
    assert response.status_code == 200, response.json
    patched = response.json
    assert patched["name"]["givenName"] == "Mary"
    assert patched[ENTERPRISE]["department"] == "Music"
    assert "displayName" not in patched
    assert patched["emails"][0]["value"] == user["userName"]  # read-only, re-sent unchanged
    assert patched[MIMS]["school"] == "Bedok Primary School"


def test_patch_errors(scim: Scim) -> None:
    user = new_user(scim)
    path = f"/Users/{user['id']}"
    assert is_error(scim.patch(path, {"Operations": []}), 400)
    bad_op = {
        "schemas": [PATCH],
        "Operations": [{"op": "move", "path": "displayName", "value": "x"}],
    }
    assert is_error(scim.patch(path, bad_op), 400)
    no_path = {"schemas": [PATCH], "Operations": [{"op": "remove"}]}
    assert is_error(scim.patch(path, no_path), 400, "noTarget")
    bad_path = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "name[", "value": "x"}],
    }
    assert is_error(scim.patch(path, bad_path), 400, "invalidPath")
    bad_bool = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "active", "value": "maybe"}],
    }
    assert is_error(scim.patch(path, bad_bool), 400, "invalidValue")


def test_active_false_disables_and_binds_fail(scim: Scim, slapd) -> None:
    import ldap3

    user = new_user(scim, userName="bind_me@students.edu.sg", password="Secret-Pass-123")

    def can_bind() -> bool:
        conn = ldap3.Connection(
            ldaps_server(slapd),
            "uid=bind_me,ou=students,ou=people,dc=mims,dc=example",
            "Secret-Pass-123",
        )
        ok = conn.bind()
        conn.unbind()
        return bool(ok)

    assert can_bind()
    ops = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim.patch(f"/Users/{user['id']}", ops).json["active"] is False
    assert not can_bind()
    ops = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}
    assert scim.patch(f"/Users/{user['id']}", ops).json["active"] is True
    assert can_bind()


def test_locked_true_locks_and_false_unlocks(scim: Scim) -> None:
    user = new_user(scim)
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": f"{MIMS}:locked", "value": True}],
    }
    assert scim.patch(f"/Users/{user['id']}", ops).json[MIMS]["locked"] is True
    ops["Operations"][0]["value"] = False
    assert scim.patch(f"/Users/{user['id']}", ops).json[MIMS]["locked"] is False


def test_if_match_on_put_patch_delete(scim: Scim) -> None:
    user = new_user(scim)
    path = f"/Users/{user['id']}"
    stale = 'W/"20000101000000.000000Z#000000#000#000000"'
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "M"}],
    }
    assert is_error(scim.patch(path, ops, **{"If-Match": stale}), 412)
    document = {"schemas": [USER], "name": {"formatted": "Mary Tan"}, "userName": user["userName"]}
    assert is_error(scim.put(path, document, **{"If-Match": stale}), 412)
    assert is_error(scim.delete(path, **{"If-Match": stale}), 412)
    current = user["meta"]["version"]
    patched = scim.patch(path, ops, **{"If-Match": current})
    assert patched.status_code == 200
    assert is_error(scim.patch(path, ops, **{"If-Match": current}), 412)  # used up
    assert scim.delete(path, **{"If-Match": patched.json["meta"]["version"]}).status_code == 204


def test_delete_removes_the_entry_and_its_memberships(scim: Scim, admin) -> None:
    user = new_user(scim, **{MIMS: {"school": "Bedok Primary School"}})
    assert scim.delete(f"/Users/{user['id']}").status_code == 204
    assert is_error(scim.get(f"/Users/{user['id']}"), 404)
    assert is_error(scim.delete(f"/Users/{user['id']}"), 404)
    admin.search("ou=groups,dc=mims,dc=example", "(cn=Bedok Primary School)", attributes=["member"])
    assert admin.entries[0].member.values == []  # the group stays, with no member value


def test_enterprise_manager_by_id(scim: Scim) -> None:
    boss = new_user(scim, name={"formatted": "Big Boss"}, **{MIMS: {"role": "staff"}})
    kid = new_user(
        scim, name={"formatted": "Kim Lee"}, **{ENTERPRISE: {"manager": {"value": boss["id"]}}}
    )
    assert kid[ENTERPRISE]["manager"]["value"] == boss["id"]
    found = scim.get(f'/Users?filter={ENTERPRISE}:manager.value eq "{boss["id"]}"').json
    assert [u["id"] for u in found["Resources"]] == [kid["id"]]
    other = new_user(scim, name={"formatted": "Other Boss"})
    entra = {
        "schemas": [PATCH],
        "Operations": [{"op": "Add", "path": f"{ENTERPRISE}:manager", "value": other["id"]}],
    }
    assert (
        scim.patch(f"/Users/{kid['id']}", entra).json[ENTERPRISE]["manager"]["value"] == other["id"]
    )
    unknown = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "nobody"}}
        ],
    }
    assert is_error(scim.patch(f"/Users/{kid['id']}", unknown), 400, "invalidValue")
    assert scim.delete(f"/Users/{other['id']}").status_code == 204  # refint drops the reference
    assert "manager" not in scim.get(f"/Users/{kid['id']}").json.get(ENTERPRISE, {})


@contextmanager
def deref_overlay_off(admin) -> Iterator[None]:
    """Disable slapd's deref overlay for a while, as in a directory that lacks it."""
    admin.search("cn=config", "(objectClass=olcOverlayConfig)", attributes=["olcOverlay"])
    [overlay] = [e.entry_dn for e in admin.entries if str(e.olcOverlay).endswith("}deref")]
    admin.modify(overlay, {"olcDisabled": [(MODIFY_REPLACE, ["TRUE"])]})
    try:
        yield
    finally:
        admin.modify(overlay, {"olcDisabled": [(MODIFY_REPLACE, ["FALSE"])]})


def test_groups_and_manager_ids_are_the_same_with_or_without_the_deref_overlay(
    scim: Scim, admin
) -> None:
    boss = new_user(scim, name={"formatted": "Ann Boss"}, userType="staff")
    worker = new_user(
        scim,
        name={"formatted": "Mary Tan"},
        **{
            MIMS: {"school": "Bedok Primary School"},
            ENTERPRISE: {"manager": {"value": boss["id"]}},
        },
    )
    school = scim.get('/Groups?filter=displayName eq "Bedok Primary School"').json["Resources"][0]

    def seen() -> list[tuple[list[str], str | None]]:
        one = scim.get(f"/Users/{worker['id']}").json
        listed = scim.get("/Users?sortBy=userName").json["Resources"]
        return [
            ([g["value"] for g in user.get("groups", [])], user[ENTERPRISE]["manager"]["value"])
            for user in [one, *[u for u in listed if u["id"] == worker["id"]]]
        ]

    with_deref = seen()
    with deref_overlay_off(admin):
        without = seen()
    assert with_deref == without == [([school["id"]], boss["id"])] * 2


def test_a_teacher_namesake_of_a_student_gets_a_uid_of_her_own(scim: Scim) -> None:
    """uid is unique over the whole directory: consumers searching by uid find one person."""
    student = new_user(scim, name={"formatted": "Tan Mei Ling"})
    teacher = new_user(scim, name={"formatted": "Tan Mei Ling"}, **{MIMS: {"role": "staff"}})
    assert student["userName"] == "tan_mei_ling@students.edu.sg"
    assert teacher["userName"] == "tan_mei_ling_1@schools.gov.sg"


def test_post_and_patch_answer_what_a_get_reads_just_after(scim: Scim) -> None:
    """The written person comes back with the write (post-read): exactly as a read shows them."""
    boss = new_user(scim, name={"formatted": "Ann Boss"}, userType="staff")
    other = new_user(scim, name={"formatted": "Ben Boss"}, userType="staff")
    posted = new_user(
        scim,
        name={"formatted": "Kim Lee"},
        password="Correct-Horse-9",
        **{ENTERPRISE: {"manager": {"value": boss["id"]}}},
    )
    assert scim.get(f"/Users/{posted['id']}").json == posted
    placed = new_user(scim, name={"formatted": "Siti Rahman"}, **{MIMS: {"school": "Bedok"}})
    for person, operation in (
        (posted, {"op": "Replace", "path": "displayName", "value": "Kim"}),  # manager kept
        (posted, {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": other["id"]}),
        (placed, {"op": "Replace", "path": "title", "value": "Prefect"}),  # groups kept
        (placed, {"op": "Replace", "path": f"{MIMS}:level", "value": "P4"}),  # groups change
    ):
        patched = scim.patch(
            f"/Users/{person['id']}", {"schemas": [PATCH], "Operations": [operation]}
        )
        assert patched.status_code == 200, patched.json
        assert scim.get(f"/Users/{person['id']}").json == patched.json
        assert patched.json["meta"]["version"] != person["meta"]["version"]
        person.update(patched.json)
    assert posted[ENTERPRISE]["manager"]["value"] == other["id"] and posted["displayName"] == "Kim"
    assert {g["display"] for g in placed["groups"]} == {"Bedok", "Bedok / P4"}
