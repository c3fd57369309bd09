"""The roster reader's memory of external IDs: a repeat is caught however long ago it came."""

from __future__ import annotations

import pytest

from bridge.core import fingerprints, roster
from bridge.core.fingerprints import Fingerprints
from bridge.core.naming import NamingRules


def test_a_key_added_before_is_told_apart_whether_still_recent_or_merged() -> None:
    seen = Fingerprints(recent=4)  # a merge into the sorted array every 4 new keys
    keys = [f"S{number:05d}" for number in range(30)]
    assert [seen.add(key) for key in keys] == [False] * 30
    # Every key again: the early ones are in the sorted array, the last two still recent.
    assert [seen.add(key) for key in reversed(keys)] == [True] * 30
    assert seen.add("S99999") is False
    assert seen.add("S99999") is True


def test_a_roster_row_repeating_an_external_id_far_back_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fingerprints, "RECENT", 8)  # several merges in a short file
    lines = ["external_id,full_name,role,school,level,class\n"]
    lines += [f"E{n},Pupil {n},staff,Clementi Primary School,,\n" for n in range(40)]
    lines += ["E3,Pupil Again,staff,Clementi Primary School,,\n"]
    items = list(roster.read(lines, NamingRules()))
    rejected = [item for item in items if isinstance(item, roster.Rejected)]
    assert [(r.number, r.reason) for r in rejected] == [
        (42, "this external_id is used by an earlier row")
    ]
