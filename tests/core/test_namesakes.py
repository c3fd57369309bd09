"""The importers' count of namesakes' suffixes, with plain values."""

from __future__ import annotations

from bridge.core.namesakes import HighestSuffixes
from bridge.core.naming import DEFAULT_RULES, NamingRules


def test_the_highest_suffix_of_a_base_counts_only_its_own_suffixed_ids() -> None:
    seen = HighestSuffixes()
    for uid in ["tan", "tan_1", "TAN_3", "tan_2", "tan_04", "tan_wei_7", "lim_9"]:
        seen.add(uid)
    assert seen.highest("tan", DEFAULT_RULES) == 3  # not 04 (no suffix is written so), nor 7
    assert seen.highest("tan_wei", DEFAULT_RULES) == 7
    assert seen.highest("ong", DEFAULT_RULES) == 0


def test_a_base_cut_one_more_for_its_suffix_is_left_to_a_scan() -> None:
    # Twelve characters at most: "abcdefghij_5" is the base itself, and its fifth namesake is
    # "abcdefghi_5"; a count by head cannot tell the two apart.
    rules = NamingRules(max_local_length=12)
    seen = HighestSuffixes()
    seen.add("abcdefghij_5")
    assert seen.highest("abcdefghij_5", rules) is None
