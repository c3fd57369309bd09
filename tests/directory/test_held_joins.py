"""The joins an import holds back: by group, until a modify's worth, then all at the end."""

from __future__ import annotations

import pytest

from bridge.directory import held_joins
from bridge.directory.held_joins import HeldJoins


def test_only_groups_with_a_modify_s_worth_are_taken_before_the_end() -> None:
    with HeldJoins(full=3) as held:
        held.hold("cn=4A", ["uid=a", "uid=b"])
        held.hold("cn=4B", ["uid=c"])
        assert held.take_full() == []
        held.hold("cn=4A", ["uid=d"])
        held.hold("cn=4C", [])
        assert held.take_full() == [("cn=4A", ["uid=a", "uid=b", "uid=d"])]
        assert held.take_full() == []  # taken is forgotten
        held.hold("cn=4A", ["uid=e"])
        assert [joins for joins in held.take_all()] == [
            [("cn=4A", ["uid=e"]), ("cn=4B", ["uid=c"])]
        ]
        assert list(held.take_all()) == []


def test_everything_held_comes_back_a_bounded_number_of_groups_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(held_joins, "GROUPS_AT_ONCE", 2)
    with HeldJoins() as held:
        for number in range(5):
            held.hold(f"cn=class {number}", [f"uid=pupil {number}"])
        chunks = list(held.take_all())
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]
    assert [group for chunk in chunks for group, _ in chunk] == [f"cn=class {n}" for n in range(5)]
