"""What a login card or password slip says, apart from how it is drawn (``card_sheet``).

The console and ``mims user`` hand cards around without drawing them; keeping the value here
spares those commands loading reportlab and segno, which only the drawing needs.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CARD", "SLIP", "Card"]

CARD = "MIMS login card"  # P1-3: a new temporary password, and the pre-set answers if any
SLIP = "MIMS password slip"  # P4-6 and older: a temporary password, changed at first sign-in


@dataclass(frozen=True)
class Card:
    """What one child's card says."""

    name: str
    class_name: str
    login_id: str
    password: str
    answers: tuple[tuple[str, str], ...] = ()
