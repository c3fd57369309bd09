"""Tests for bridge.core.naming: login IDs from full names."""

from __future__ import annotations

import ast
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.core.naming import (
    DEFAULT_CONNECTOR_WORDS,
    InvalidLoginId,
    InvalidName,
    LoginId,
    NamingRules,
    base_local_part,
    candidates,
    with_suffix,
)

BASE_SHAPE = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")


# --- base_local_part: one table per rule -----------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mary Tan", "mary_tan"),
        ("Jon Tan", "jon_tan"),
        ("Muhammad Ali Bin Muhammad Raihan", "muhammad_ali_muhammad_raihan"),
        ("MARY TAN", "mary_tan"),
        ("Tan Ah Kow 2", "tan_ah_kow_2"),
    ],
)
def test_lowercases_and_joins_words_with_underscore(name: str, expected: str) -> None:
    """Lowercase the name and join its words with underscores."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Rajesh s/o Kumar", "rajesh_kumar"),
        ("Rajesh S/O Kumar", "rajesh_kumar"),
        ("Rajesh S / O Kumar", "rajesh_kumar"),
        ("Priya d/o Raman", "priya_raman"),
        ("Arun a/l Muthu", "arun_muthu"),
        ("Devi A/P Muthu", "devi_muthu"),
        ("Siti Binte Ahmad", "siti_ahmad"),
        ("Siti BTE Ahmad", "siti_ahmad"),
        ("Siti Bt. Ahmad", "siti_ahmad"),
        ("Ali bin Ahmad bin Salleh", "ali_ahmad_salleh"),
        ("Ali Bin S/O Ahmad", "ali_ahmad"),
    ],
)
def test_drops_connector_words_case_insensitively(name: str, expected: str) -> None:
    """Drop connector words between two name words, in any letter case."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Tan So Ling", "tan_so_ling"),
        ("Lim Do Hoon", "lim_do_hoon"),
        ("Ahmad Al Kumar", "ahmad_al_kumar"),
        ("Ahmad Ap Kumar", "ahmad_ap_kumar"),
        ("Robin Binte", "robin_binte"),
        ("Nur Aisyah Binti Rahman", "nur_aisyah_rahman"),
        ("Bintang Robin Tan", "bintang_robin_tan"),
        ("Tan s.o. Lim", "tan_s_o_lim"),
    ],
)
def test_keeps_slashless_syllables_and_partial_matches(name: str, expected: str) -> None:
    """Keep bare so/do/al/ap and words that merely contain a connector."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Bin Ahmad", "bin_ahmad"),
        ("Li Bin", "li_bin"),
        ("Kumar s/o", "kumar_s_o"),
        ("Wang Bin Bin", "wang_bin_bin"),
    ],
)
def test_keeps_connector_words_at_start_or_end(name: str, expected: str) -> None:
    """Keep a connector word at the start or end, where it joins nothing."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize("name", ["Bin", "bin binte", "S/O", "  d/o  ", "Bin /"])
def test_rejects_name_of_only_connector_words(name: str) -> None:
    """Reject a name made only of connector words, saying so."""
    with pytest.raises(InvalidName, match="only has connector words"):
        base_local_part(name)


def test_uses_configured_connector_words() -> None:
    """Use the connector words from the rules instead of the defaults."""
    rules = NamingRules(connector_words=frozenset({"Van", "s/o"}))
    assert base_local_part("Jan Van Dijk", rules) == "jan_dijk"
    assert base_local_part("Ali Bin Ahmad", rules) == "ali_bin_ahmad"


def test_rejects_malformed_connector_word() -> None:
    """Reject a connector word that could never match a name token."""
    with pytest.raises(ValueError, match="connector words"):
        NamingRules(connector_words=frozenset({"son of"}))


def test_default_connector_words() -> None:
    """Ship the documented default connector words."""
    assert frozenset({"bin", "binte", "binti", "bte", "bt", "s/o", "d/o", "a/l", "a/p"}) == (
        DEFAULT_CONNECTOR_WORDS
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("José Núñez", "jose_nunez"),
        ("Zoë", "zoe"),
        ("Jose\u0301 Nu\u0301n\u0303ez", "jose_nunez"),
        ("Søren Łukasz", "soren_lukasz"),
        ("Straße", "strasse"),
        ("ＭＡＲＹ ＴＡＮ", "mary_tan"),
        ("陈大文", "chen_da_wen"),
        ("Tan 陈大文", "tan_chen_da_wen"),
        ("김민준", "gim_min_jun"),
        ("முருகன்", "murukn"),
        ("محمد", "mhmd"),
        ("Иван Петров", "ivan_petrov"),
    ],
)
def test_transliterates_to_ascii(name: str, expected: str) -> None:
    """Transliterate accents and other scripts with anyascii."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Lee-Ann Wong", "lee_ann_wong"),
        ("Lee - Ann Wong", "lee_ann_wong"),
        ("Lee\u2013Ann Wong", "lee_ann_wong"),
    ],
)
def test_hyphen_separates_words(name: str, expected: str) -> None:
    """Treat hyphens and dashes as word separators."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("D'Souza", "dsouza"),
        ("O\u2019Brien", "obrien"),
        ("D\u00b4Souza", "dsouza"),
        ("D`Souza", "dsouza"),
        ("Mary D'Souza", "mary_dsouza"),
    ],
)
def test_apostrophe_joins_letters(name: str, expected: str) -> None:
    """Remove apostrophes so the letters around them join."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Tan Ah Kow Jr.", "tan_ah_kow_jr"),
        ("A. Rahman", "a_rahman"),
        ("A.Rahman", "a_rahman"),
    ],
)
def test_dot_separates_words(name: str, expected: str) -> None:
    """Treat dots as word separators."""
    assert base_local_part(name) == expected


def test_comma_separates_and_keeps_order() -> None:
    """Treat a comma as a separator without reordering the words."""
    assert base_local_part("Tan, Mary") == "tan_mary"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Tan Mei Ling (Chen Meiling)", "tan_mei_ling"),
        ("Tan Mei Ling [Chen] {x}", "tan_mei_ling"),
        ("Tan (a (b) c) Mei", "tan_mei"),
        ("Tan(Chen)Mei", "tan_mei"),
        ("陈大文（Chen Da Wen）", "chen_da_wen"),
        ("Tan (Mei Ling", "tan_mei_ling"),
        ("Tan Mei) Ling", "tan_mei_ling"),
    ],
)
def test_drops_bracketed_parts(name: str, expected: str) -> None:
    """Drop balanced bracket groups; treat stray brackets as separators."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Mary   Tan  ", "mary_tan"),
        ("Mary\tTan\n", "mary_tan"),
        ("Mary\u00a0Tan", "mary_tan"),
        ("\u3000Mary\u2003Tan", "mary_tan"),
        ("Ma\u200bry Tan", "mary_tan"),
        ("\ufeffMary\u200d Tan\u00ad", "mary_tan"),
        ("Mary \U0001f600 Tan\u2122", "mary_tan"),
    ],
)
def test_normalises_whitespace_and_invisible_chars(name: str, expected: str) -> None:
    """Collapse any whitespace to one underscore and remove invisible chars."""
    assert base_local_part(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "()", "---", "(Tan)", "...", "\u200b", "\U0001f600"])
def test_rejects_name_that_becomes_empty(name: str) -> None:
    """Reject a name with no letters or digits left, saying so."""
    with pytest.raises(InvalidName, match="no letters or digits"):
        base_local_part(name)


def test_invalid_name_is_value_error() -> None:
    """Make InvalidName catchable as ValueError."""
    assert issubclass(InvalidName, ValueError)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("--Mary__Tan--", "mary_tan"),
        ("_Mary_", "mary"),
        ("Mary - - Tan", "mary_tan"),
    ],
)
def test_no_edge_or_double_underscores(name: str, expected: str) -> None:
    """Never start or end with, or repeat, an underscore."""
    assert base_local_part(name) == expected


def test_long_name_drops_whole_trailing_words() -> None:
    """Cut a too-long name after the last whole word that fits."""
    name = " ".join(["abcdefghi"] * 10)  # 99 characters once joined
    result = base_local_part(name)
    assert result == "_".join(["abcdefghi"] * 6)  # 59 characters
    assert len(result) <= 64


def test_long_name_keeps_word_ending_exactly_at_limit() -> None:
    """Keep a word that ends exactly at the 64th character."""
    name = "a" * 30 + " " + "b" * 33 + " cc"
    assert base_local_part(name) == "a" * 30 + "_" + "b" * 33


def test_long_single_word_is_cut() -> None:
    """Cut a single over-long word to the limit."""
    assert base_local_part("x" * 100) == "x" * 64


def test_long_first_word_is_cut_and_rest_dropped() -> None:
    """Cut an over-long first word and drop the words after it."""
    assert base_local_part("x" * 70 + " Tan") == "x" * 64


def test_respects_configured_max_length() -> None:
    """Cut to the configured maximum length."""
    rules = NamingRules(max_local_length=10)
    assert base_local_part("Mary Tan Mei Ling", rules) == "mary_tan"


@pytest.mark.parametrize("length", [0, 65])
def test_rejects_max_length_outside_rfc_limit(length: int) -> None:
    """Reject a maximum local length outside 1..64."""
    with pytest.raises(ValueError, match="max_local_length"):
        NamingRules(max_local_length=length)


# --- with_suffix and candidates ---------------------------------------------


def test_candidates_number_duplicates_in_order() -> None:
    """Yield base, base_1, base_2 for duplicates."""
    assert list(itertools.islice(candidates("jon_tan"), 4)) == [
        "jon_tan",
        "jon_tan_1",
        "jon_tan_2",
        "jon_tan_3",
    ]


def test_with_suffix_zero_is_base() -> None:
    """Return the base unchanged for n == 0."""
    assert with_suffix("mary_tan", 0) == "mary_tan"


def test_with_suffix_cuts_base_at_word_boundary() -> None:
    """Drop a whole trailing word so that base plus suffix fits in 64."""
    base = "a" * 30 + "_" + "b" * 30 + "_cc"  # 64 characters
    assert with_suffix(base, 0) == base
    assert with_suffix(base, 12) == "a" * 30 + "_" + "b" * 30 + "_12"
    assert len(with_suffix(base, 12)) == 64


def test_with_suffix_cuts_single_word_base() -> None:
    """Cut a one-word base when no word boundary is available."""
    assert with_suffix("x" * 64, 12) == "x" * 61 + "_12"


def test_with_suffix_never_leaves_trailing_underscore() -> None:
    """Cut before the underscore when the cut lands right after one."""
    base = "a" * 61 + "_bb"  # 64 characters; room for "_1" is 62
    assert with_suffix(base, 1) == "a" * 61 + "_1"


def test_with_suffix_stays_distinct_from_base_ending_in_number() -> None:
    """Avoid giving the base back when the base itself ends in _<n>."""
    base = "x" * 62 + "_5"
    assert with_suffix(base, 5) != base
    assert with_suffix(base, 5) == "x" * 61 + "_5"


def test_with_suffix_rejects_negative_n() -> None:
    """Reject a negative suffix number."""
    with pytest.raises(ValueError, match=">= 0"):
        with_suffix("mary_tan", -1)


@pytest.mark.parametrize("base", ["", "_mary", "mary_", "mary__tan", "Mary", "mary.tan"])
def test_with_suffix_rejects_non_generated_base(base: str) -> None:
    """Reject a base that base_local_part could not have produced."""
    with pytest.raises(ValueError, match="not a generated"):
        with_suffix(base, 1)


def test_with_suffix_rejects_suffix_longer_than_limit() -> None:
    """Reject a suffix that leaves no room for the base."""
    rules = NamingRules(max_local_length=3)
    with pytest.raises(ValueError, match="no room"):
        with_suffix("mary", 100, rules)


# --- LoginId ----------------------------------------------------------------


def test_login_id_parses_and_lowercases() -> None:
    """Parse local@domain and lowercase both parts."""
    login = LoginId.parse("Mary_Tan@Students.EDU.sg")
    assert (login.local, login.domain) == ("mary_tan", "students.edu.sg")
    assert str(login) == "mary_tan@students.edu.sg"


def test_login_id_equality_ignores_case() -> None:
    """Compare and hash login IDs case-insensitively."""
    a = LoginId.parse("MARY_TAN@SCHOOLS.GOV.SG")
    b = LoginId("mary_tan", "schools.gov.sg")
    assert a == b
    assert hash(a) == hash(b)
    assert a != LoginId.parse("mary_tan_1@schools.gov.sg")


@pytest.mark.parametrize(
    "text",
    ["mary.tan@hq.moe.gov.sg", "mary-tan@students.edu.sg", "a@b.co", "x" * 64 + "@b.co"],
)
def test_login_id_accepts_client_chosen_forms(text: str) -> None:
    """Accept dots and hyphens in a client-chosen local part."""
    assert str(LoginId.parse(text)) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("mary_tan", "exactly one '@'"),
        ("a@b@c.sg", "exactly one '@'"),
        ("@students.edu.sg", "1 to 64"),
        ("x" * 65 + "@b.co", "1 to 64"),
        (".mary@b.co", "no dot at the start"),
        ("mary.@b.co", "no dot at the start"),
        ("ma..ry@b.co", "no dot at the start"),
        ("mary tan@b.co", "may only use"),
        ("mary+tag@b.co", "may only use"),
        ("zo\u00eb@b.co", "ASCII"),
        ("\u212aim@b.co", "ASCII"),
        ("mary@", "not a valid domain"),
        ("mary@localhost", "not a valid domain"),
        ("mary@-bad.sg", "not a valid domain"),
        ("mary@bad-.sg", "not a valid domain"),
        ("mary@a..sg", "not a valid domain"),
        ("mary@students.edu.sg.", "not a valid domain"),
        ("mary@under_score.sg", "not a valid domain"),
        ("mary@1.2.3.4", "not a valid domain"),
        ("mary@" + "a" * 64 + ".sg", "not a valid domain"),
        ("mary@" + ".".join(["a" * 60] * 5), "not a valid domain"),
    ],
)
def test_login_id_rejects_malformed(text: str, reason: str) -> None:
    """Reject malformed login IDs with a reason."""
    with pytest.raises(InvalidLoginId, match=re.escape(reason)):
        LoginId.parse(text)


def test_login_id_rejects_overlong_address() -> None:
    """Reject an address longer than 254 characters in total."""
    domain = ".".join(["a" * 62] * 3) + ".sg"  # 192 characters
    with pytest.raises(InvalidLoginId, match="254"):
        LoginId("x" * 64, domain)


def test_login_id_is_immutable() -> None:
    """Forbid changing a login ID after it is made."""
    login = LoginId.parse("mary_tan@students.edu.sg")
    with pytest.raises(AttributeError):
        login.local = "other"  # type: ignore[misc]


def test_generated_local_part_is_valid_login_id() -> None:
    """Make a LoginId from a generated local part and a configured domain."""
    local = with_suffix(base_local_part("Muhammad Ali Bin Muhammad Raihan"), 2)
    assert str(LoginId(local, "students.edu.sg")) == (
        "muhammad_ali_muhammad_raihan_2@students.edu.sg"
    )


def test_module_imports_no_web_or_ldap_library() -> None:
    """Keep the core module free of flask and ldap3 imports."""
    import bridge.core.naming as naming

    with open(naming.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots.isdisjoint({"flask", "ldap3"})
    assert "anyascii" in roots


# --- properties ---------------------------------------------------------------


@settings(max_examples=500)
@given(st.text())
def test_property_any_text_gives_valid_base_or_invalid_name(name: str) -> None:
    """Return a well-shaped base of at most 64 chars, or raise InvalidName."""
    try:
        base = base_local_part(name)
    except InvalidName:
        return
    assert BASE_SHAPE.fullmatch(base)
    assert len(base) <= 64


@given(
    st.lists(st.sampled_from(["a", "bb", "s/o", "bin", "x" * 40, "9"]), min_size=1),
)
def test_property_word_lists_give_valid_base(words: list[str]) -> None:
    """Keep the base shape for names built from words and connectors."""
    try:
        base = base_local_part(" ".join(words))
    except InvalidName:
        assert all(w in DEFAULT_CONNECTOR_WORDS for w in words)
        return
    assert BASE_SHAPE.fullmatch(base)
    assert len(base) <= 64


@given(
    st.from_regex(BASE_SHAPE, fullmatch=True),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=2, max_size=5, unique=True),
)
def test_property_suffixes_fit_and_are_distinct(base: str, ns: list[int]) -> None:
    """Keep every candidate within 64 chars and distinct for distinct n."""
    results = [with_suffix(base, n) for n in ns]
    assert len(set(results)) == len(ns)
    for result in results:
        assert len(result) <= 64
        assert BASE_SHAPE.fullmatch(result)


@given(
    st.integers(min_value=1, max_value=64),
    st.integers(min_value=1, max_value=10**6),
)
def test_property_suffix_on_numbered_64_char_base(width: int, n: int) -> None:
    """Stay distinct from a 64-char base that already ends in _<n>."""
    suffix = f"_{n}"
    base = ("a" * width + "_" + "b" * 64)[: 64 - len(suffix)].rstrip("_") + suffix
    assert with_suffix(base, n) != with_suffix(base, 0)
    assert len(with_suffix(base, n)) <= 64
