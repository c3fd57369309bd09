"""Tests for bridge.core.group_address: groups' e-mail addresses from their names."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.core import group_address
from bridge.core.group_address import (
    DEFAULT_GROUP_DOMAIN,
    AddressRules,
    base_local_part,
    candidates,
    suffix_number,
    with_suffix,
)

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Clementi Primary School", "clementi-primary-school"),
        ("Clementi Primary School / P4", "clementi-primary-school-p4"),
        ("Clementi Primary School / P4 / 4A", "clementi-primary-school-p4-4a"),
        ("Chess Club", "chess-club"),
        ("CHESS  club!", "chess-club"),
        ("  -- Chess -- Club --  ", "chess-club"),
        ("Chess_Club", "chess-club"),
        ("chess.club@example.org", "chess-club-example-org"),
        ("*)(uid=*", "uid"),
        ("a,b=c\\", "a-b-c"),
        ("P6 2026", "p6-2026"),
    ],
)
def test_lowercases_and_makes_each_run_of_other_characters_one_hyphen(
    name: str, expected: str
) -> None:
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("St. Andrew's School", "st-andrews-school"),
        ("O’Brien Fans", "obrien-fans"),
        ("École Nationale", "ecole-nationale"),
        ("Zoë's Choir", "zoes-choir"),
        ("华侨中学", "huaqiaozhongxue"),
        ("Mary😀Tan", "mary-tan"),
        ("Coding™ Club", "coding-club"),
        ("zero\u200bwidth", "zerowidth"),
        ("Ｆｕｌｌ Ｗｉｄｔｈ", "full-width"),
    ],
)
def test_other_scripts_become_ascii_and_apostrophes_join(name: str, expected: str) -> None:
    assert base_local_part(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "()", "---", "😀", "\u200b", "!!!"])
def test_a_name_with_nothing_usable_gets_the_fallback(name: str) -> None:
    assert base_local_part(name) == group_address.FALLBACK_LOCAL_PART == "group"


def test_a_long_name_is_cut_at_a_hyphen() -> None:
    name = "The Very Long Name Of A Co-Curricular Activity Group For Upper Primary Pupils"
    base = base_local_part(name)
    assert base == "the-very-long-name-of-a-co-curricular-activity-group-for-upper"
    assert len(base) <= 64
    assert base_local_part("x" * 100) == "x" * 64  # no hyphen to cut at: a hard cut


def test_suffixes_start_at_two_and_fit_in_64_characters() -> None:
    assert [with_suffix("chess-club", n) for n in (1, 2, 3, 10)] == [
        "chess-club",
        "chess-club-2",
        "chess-club-3",
        "chess-club-10",
    ]
    long = base_local_part("word " * 20)
    assert len(with_suffix(long, 2)) <= 64
    assert with_suffix(long, 2).endswith("-2")
    assert list(itertools.islice(candidates("chess-club"), 3)) == [
        f"chess-club@{DEFAULT_GROUP_DOMAIN}",
        f"chess-club-2@{DEFAULT_GROUP_DOMAIN}",
        f"chess-club-3@{DEFAULT_GROUP_DOMAIN}",
    ]
    assert next(candidates("chess-club", start=5)) == f"chess-club-5@{DEFAULT_GROUP_DOMAIN}"


def test_a_64_character_base_already_ending_in_the_suffix_stays_distinct() -> None:
    base = ("a" * 40 + "-" + "b" * 30)[:62] + "-2"
    assert len(base) == 64
    assert with_suffix(base, 2) != with_suffix(base, 1)
    assert len(with_suffix(base, 2)) <= 64


@pytest.mark.parametrize(("base", "n"), [("Chess", 2), ("chess club", 2), ("chess", 0)])
def test_with_suffix_refuses_what_is_not_a_slug_or_a_number_below_one(base: str, n: int) -> None:
    with pytest.raises(ValueError):
        with_suffix(base, n)


def test_suffix_number_reads_back_only_this_bases_addresses() -> None:
    domain = DEFAULT_GROUP_DOMAIN
    assert suffix_number(f"chess-club@{domain}", "chess-club") == 1
    assert suffix_number(f"Chess-Club-12@{domain.upper()}", "chess-club") == 12
    assert suffix_number(f"chess-club-x@{domain}", "chess-club") is None
    assert suffix_number("chess-club-2@students.edu.sg", "chess-club") is None
    assert suffix_number(f"chess-club-kids-2@{domain}", "chess-club") is None
    assert suffix_number(f"chess-club-02@{domain}", "chess-club") is None


def test_the_domain_is_checked_and_lowercased() -> None:
    assert AddressRules("Groups.Example.ORG").domain == "groups.example.org"
    assert AddressRules("groups.example.org").address("a-b") == "a-b@groups.example.org"
    for bad in ("not a domain", "nodot", "-x.example.org", ""):
        with pytest.raises(ValueError, match="domain"):
            AddressRules(bad)
    with pytest.raises(ValueError, match="max_local_length"):
        AddressRules(max_local_length=65)


def test_the_core_module_imports_neither_flask_nor_ldap3() -> None:
    tree = ast.parse(Path(group_address.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported}.isdisjoint({"flask", "ldap3"})


# --- properties ---------------------------------------------------------------


@settings(max_examples=500)
@given(st.text())
def test_property_any_name_gives_a_slug_of_at_most_64_characters(name: str) -> None:
    base = base_local_part(name)
    assert SLUG.fullmatch(base)
    assert 1 <= len(base) <= 64


@given(st.text(), st.integers(min_value=8, max_value=64))
def test_property_the_limit_is_kept_for_any_configured_length(name: str, limit: int) -> None:
    rules = AddressRules(max_local_length=limit)
    base = base_local_part(name, rules)
    assert SLUG.fullmatch(base)
    assert len(base) <= limit


@given(
    st.from_regex(SLUG, fullmatch=True),
    st.lists(st.integers(min_value=1, max_value=10**6), min_size=2, max_size=5, unique=True),
)
def test_property_candidates_fit_are_distinct_and_read_back(base: str, ns: list[int]) -> None:
    results = [with_suffix(base, n) for n in ns]
    assert len(set(results)) == len(ns)
    for n, local in zip(ns, results, strict=True):
        assert SLUG.fullmatch(local)
        assert len(local) <= 64
        assert suffix_number(f"{local}@{DEFAULT_GROUP_DOMAIN}", base) == n
