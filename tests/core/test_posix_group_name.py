"""Tests for bridge.core.posix_group_name: groups' NSS names from their names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.core.posix_group_name import (
    MAX_LENGTH,
    base_name,
    first_free,
    suffix_number,
    with_suffix,
)

# What nslcd, SSSD, shadow-utils and systemd all accept: lower case, a letter first.
NSS_SAFE = re.compile(r"[a-z][a-z0-9._-]*")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Clementi Primary School / P4 / 4A", "clementi-primary-school-p4-4a"),
        ("Chess Club", "chess-club"),
        ("St. Andrew's School", "st-andrews-school"),
        ("École Nationale", "ecole-nationale"),
        ("华侨中学", "huaqiaozhongxue"),
        ("3/A", "group-3-a"),  # a leading digit: shadow-utils and systemd refuse it
        ("2024", "group-2024"),  # all digits: chgrp would read a GID
        ("😀", "group"),
        ("()", "group"),
        ("", "group"),
        ("*)(cn=*", "cn"),
    ],
)
def test_a_group_name_becomes_an_nss_name(name: str, expected: str) -> None:
    assert base_name(name) == expected


def test_a_long_name_is_cut_at_a_hyphen_within_the_limit() -> None:
    name = "Anglo-Chinese School (Independent) / Integrated Programme Year 4 / 4 Faith"
    cut = base_name(name)
    assert len(cut) <= MAX_LENGTH and not cut.endswith("-")
    assert name.lower().replace(" ", "").startswith(cut.split("-")[0])


def test_namesakes_are_suffixed_and_the_suffix_is_read_back() -> None:
    assert [with_suffix("chess-club", n) for n in (1, 2, 10)] == [
        "chess-club",
        "chess-club-2",
        "chess-club-10",
    ]
    assert suffix_number("chess-club-10", "chess-club") == 10
    assert suffix_number("chess-club", "chess-club") == 1
    assert suffix_number("chess-club-02", "chess-club") is None
    assert suffix_number("chess", "chess-club") is None
    assert first_free("Chess Club", {"chess-club", "chess-club-2"}) == "chess-club-3"
    assert first_free("😀", {"group"}) == "group-2"
    with pytest.raises(ValueError):
        with_suffix("chess-club", 0)


@given(st.text(max_size=120), st.integers(min_value=1, max_value=10**6))
def test_every_name_and_suffix_gives_an_nss_safe_name(name: str, n: int) -> None:
    made = with_suffix(base_name(name), n)
    assert NSS_SAFE.fullmatch(made) and len(made) <= MAX_LENGTH
    assert suffix_number(made, base_name(name)) == n
