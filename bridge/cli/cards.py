"""Login cards as a private file: the drawing is the core's (``core/card_sheet.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bridge.cli.files import open_private_binary
from bridge.core.card_sheet import Card, render

__all__ = ["Card", "write_cards"]


def write_cards(cards: Sequence[Card], portal_url: str, out: Path) -> int:
    """Write the cards to a PDF at out (mode 0600: it holds passwords); return the pages."""
    pdf, pages = render(cards, portal_url)
    with open_private_binary(out) as handle:
        handle.write(pdf)
    return pages
