"""Sorted pages from slapd's sssvlv overlay: a walk's sort is kept for its later pages, and a
walk that starts again gets a sort that holds every change made before it."""

from __future__ import annotations

import pytest

from bridge.core.people import NewPerson
from bridge.core.query import ALL, Compare, Sort
from bridge.directory.people import PeopleStore

UID = [Sort("login_id")]


@pytest.fixture
def people(people_store: PeopleStore) -> PeopleStore:
    for name in ("Gil Ong", "Ada Lim", "Fox Tan", "Bea Koh", "Eli Ng", "Cy Ho", "Di Yeo"):
        people_store.create(NewPerson(full_name=name, role="student"))
    return people_store


def ids(page: list) -> list[str]:  # type: ignore[type-arg]
    return [person.login_id.local for person in page]


def test_pages_walk_the_sorted_result(people: PeopleStore) -> None:
    walked = []
    for start in (1, 3, 5, 7):
        total, page = people.search(ALL, UID, start, 2)
        assert total == 7
        walked += ids(page)
    assert walked == ["ada_lim", "bea_koh", "cy_ho", "di_yeo", "eli_ng", "fox_tan", "gil_ong"]


def test_later_pages_keep_the_walks_sort_and_a_new_walk_sees_every_change(
    people: PeopleStore,
) -> None:
    assert people.search(ALL, UID, 1, 2)[0] == 7
    people.create(NewPerson(full_name="Al Ang", role="student"))
    # A later page comes from the sort the walk began with (RFC 7644 3.4.2.4 allows either).
    total, page = people.search(ALL, UID, 3, 2)
    assert (total, ids(page)) == (7, ["cy_ho", "di_yeo"])
    # A walk from the start is sorted again: the new person is in their place.
    total, page = people.search(ALL, UID, 1, 3)
    assert (total, ids(page)) == (8, ["ada_lim", "al_ang", "bea_koh"])
    assert ids(people.search(ALL, UID, 4, 2)[1]) == ["cy_ho", "di_yeo"]
    gone = people.find_login(page[0].login_id)
    assert gone is not None
    people.delete(gone.id)
    assert ids(people.search(ALL, UID, 1, 2)[1]) == ["al_ang", "bea_koh"]


def test_another_filter_or_order_gets_its_own_sort(people: PeopleStore) -> None:
    people.search(ALL, UID, 1, 2)
    total, page = people.search(Compare("full_name", "co", "o"), UID, 2, 2)
    assert (total, ids(page)) == (5, ["cy_ho", "di_yeo"])  # bea_koh cy_ho di_yeo fox_tan gil_ong
    reverse = [Sort("login_id", descending=True)]
    assert ids(people.search(ALL, reverse, 2, 2)[1]) == ["fox_tan", "eli_ng"]


def test_more_sorts_than_slapd_holds_at_once(people: PeopleStore) -> None:
    """slapd refuses a 65th sort (olcSssVlvMax) while 64 are held: the bridge lets old ones go."""
    for n in range(70):
        total, page = people.search(Compare("full_name", "ne", f"Nobody {n}"), UID, 1, 1)
        assert (total, ids(page)) == (7, ["ada_lim"])


def test_past_the_end_and_count_zero(people: PeopleStore) -> None:
    assert people.search(ALL, UID, 50, 5) == (7, [])
    assert people.search(ALL, UID, 1, 0) == (7, [])
    assert people.search(Compare("full_name", "eq", "Nobody"), UID, 1, 5) == (0, [])
