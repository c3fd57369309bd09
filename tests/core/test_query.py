"""Tests for bridge.core.query: the neutral filter tree and its folding helpers."""

from __future__ import annotations

import pytest

from bridge.core.query import (
    ALL,
    NOTHING,
    And,
    Compare,
    InvalidFilter,
    Not,
    Or,
    Present,
    Query,
    all_of,
    any_of,
    negate,
)

A = Compare("login_id", "eq", "a")
B = Present("email")
C = Compare("active", "eq", True)


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (all_of(A), A),
        (all_of(), ALL),
        (all_of(A, ALL), A),
        (all_of(A, NOTHING, B), NOTHING),
        (all_of(A, all_of(B, C)), And((A, B, C))),
        (all_of(A, any_of(B, C)), And((A, Or((B, C))))),
        (any_of(), NOTHING),
        (any_of(A, NOTHING), A),
        (any_of(A, ALL), ALL),
        (any_of(any_of(A, B), C), Or((A, B, C))),
        (negate(ALL), NOTHING),
        (negate(NOTHING), ALL),
        (negate(negate(A)), A),
        (negate(A), Not(A)),
    ],
)
def test_folding(built: Query, expected: Query) -> None:
    assert built == expected


def test_labels_take_no_part_in_equality() -> None:
    assert Compare("login_id", "eq", "a", "userName") == Compare("login_id", "eq", "a", "USERNAME")
    assert Present("email", "emails") == Present("email")


def test_invalid_filter_is_a_400_with_its_scim_type() -> None:
    assert InvalidFilter.status == 400
    assert InvalidFilter.scim_type == "invalidFilter"
