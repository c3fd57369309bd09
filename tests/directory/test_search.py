"""Sorted pages from slapd's sssvlv overlay: VLV sort contexts are reused for later pages."""

from __future__ import annotations

import pytest

from bridge.config import Config
from bridge.core.people import NewPerson
from bridge.core.query import ALL, Compare, Sort
from bridge.directory import search
from bridge.directory.client import LdapClient
from bridge.directory.people import PeopleStore

UID = [Sort("login_id")]


@pytest.fixture
def people(directory: LdapClient, config: Config) -> PeopleStore:
    found = PeopleStore(directory, config.directory.suffix, config.naming.domains)
    for name in ("Gil Ong", "Ada Lim", "Fox Tan", "Bea Koh", "Eli Ng", "Cy Ho", "Di Yeo"):
        found.create(NewPerson(full_name=name, role="student"))
    return found


def ids(page: list) -> list[str]:  # type: ignore[type-arg]
    return [person.login_id.local for person in page]


def test_pages_walk_the_sorted_result_and_reuse_one_sort(people: PeopleStore) -> None:
    walked = []
    for start in (1, 3, 5, 7):
        total, page = people.search(ALL, UID, start, 2)
        assert total == 7
        walked += ids(page)
    assert walked == ["ada_lim", "bea_koh", "cy_ho", "di_yeo", "eli_ng", "fox_tan", "gil_ong"]
    sorting = people.pager._local.sorting
    assert sorting.made == 1 and len(sorting.contexts) == 1  # one sort served every page


def test_another_filter_or_order_gets_its_own_sort(people: PeopleStore) -> None:
    people.search(ALL, UID, 1, 2)
    total, page = people.search(Compare("full_name", "co", "o"), UID, 2, 2)
    assert (total, ids(page)) == (5, ["cy_ho", "di_yeo"])  # bea_koh cy_ho di_yeo fox_tan gil_ong
    reverse = [Sort("login_id", descending=True)]
    assert ids(people.search(ALL, reverse, 2, 2)[1]) == ["fox_tan", "eli_ng"]


def test_a_new_walk_sees_new_people_and_connections_are_recycled(
    people: PeopleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert people.search(ALL, UID, 1, 2)[0] == 7
    people.create(NewPerson(full_name="Hal Lee", role="student"))
    assert people.search(ALL, UID, 1, 2)[0] == 8  # startIndex 1: fresh sort
    first = people.pager._local.sorting.connection
    for _ in range(search.CONTEXTS_PER_CONNECTION):
        people.search(ALL, UID, 1, 1)
    assert people.pager._local.sorting.connection is not first
    assert first.closed


def test_past_the_end_and_count_zero(people: PeopleStore) -> None:
    assert people.search(ALL, UID, 50, 5) == (7, [])
    assert people.search(ALL, UID, 1, 0) == (7, [])
    assert people.search(Compare("full_name", "eq", "Nobody"), UID, 1, 5) == (0, [])
