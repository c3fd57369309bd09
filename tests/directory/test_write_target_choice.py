"""The write-target rule on plain values: highest epoch, self-confirmed, never lower than seen."""

from __future__ import annotations

import pytest

from bridge.directory.write_target import Choice, Copy, Seen, choose

A, B = "ldaps://a.example:636", "ldaps://b.example:636"
URLS = (A, B)


def names(target: str, epoch: int) -> Copy:
    return Copy(target, epoch, None)


@pytest.mark.parametrize(
    ("seen", "floor", "chosen"),
    [
        pytest.param([Seen(A, True), Seen(B, True)], 0, Choice(A, 0, A), id="no-entry-first-url"),
        pytest.param(
            [Seen(A, True, names(B, 1)), Seen(B, True, names(B, 1))],
            0,
            Choice(B, 1, B),
            id="promoted-and-confirmed",
        ),
        pytest.param(
            [Seen(A, True, names(A, 0)), Seen(B, True, names(B, 1))],
            0,
            Choice(B, 1, B),
            id="old-target-not-caught-up-loses-to-the-higher-epoch",
        ),
        pytest.param(
            [Seen(A, True, names(B, 1)), Seen(B, False)],
            0,
            Choice(None, 1, B),
            id="named-target-unreachable-is-no-target",
        ),
        pytest.param(
            [Seen(A, True, names(B, 2)), Seen(B, True, names(A, 1))],
            0,
            Choice(None, 2, B),
            id="named-target-does-not-name-itself-yet",
        ),
        pytest.param(
            [Seen(A, True, names(A, 0)), Seen(B, False)],
            1,
            Choice(None, 1, None),
            id="never-back-to-a-lower-epoch",
        ),
        pytest.param([Seen(A, True), Seen(B, False)], 1, Choice(None, 1, None), id="entry-gone"),
    ],
)
def test_the_write_target_is_chosen_by_epoch_and_self_confirmation(
    seen: list[Seen], floor: int, chosen: Choice
) -> None:
    assert choose(seen, URLS, floor) == chosen
