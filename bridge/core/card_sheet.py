"""Printable login cards and password slips: A4, eight to a page, cut along the dashed lines.

One drawing for every door that prints them: ``mims cards`` writes the PDF to a private file,
the console answers with it (a class's cards, the start-of-year slips). A pure function of
what the cards say: no files, no directory.

Each card has the name and class, the login ID, the temporary password in a clear monospaced
font (DejaVu Sans Mono when installed: 0/O and 1/l/I look different), the pre-set answers if
the school made them, the portal address and a QR code of it (drawn as vector squares).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from bridge.core.cards import CARD, SLIP, Card

__all__ = ["CARD", "SLIP", "Card", "render"]
COLUMNS, ROWS = 2, 4
MARGIN = 10 * mm
FONTS = Path("/usr/share/fonts/truetype/dejavu")


def _fonts() -> tuple[str, str, str]:
    """Return (regular, bold, mono) font names, registering DejaVu when it is installed."""
    try:
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONTS / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(FONTS / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFont(TTFont("DejaVuSansMono", str(FONTS / "DejaVuSansMono-Bold.ttf")))
    except Exception:  # noqa: BLE001 - any font problem: fall back to the PDF base fonts
        return "Helvetica", "Helvetica-Bold", "Courier-Bold"
    return "DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono"


def render(cards: Sequence[Card], portal_url: str, heading: str = CARD) -> tuple[bytes, int]:
    """Return the cards as one PDF (it holds passwords: keep it private) and its pages."""
    buffer = BytesIO()
    pages = _draw(cards, portal_url, Canvas(buffer, pagesize=A4), heading)
    return buffer.getvalue(), pages


def _draw(cards: Sequence[Card], portal_url: str, canvas: Canvas, heading: str) -> int:
    """Draw the cards, 8 a page, and finish the PDF; return the number of pages."""
    regular, bold, mono = _fonts()
    canvas.setTitle(f"{heading}s")
    width, height = A4
    card_w = (width - 2 * MARGIN) / COLUMNS
    card_h = (height - 2 * MARGIN) / ROWS
    qr = segno.make(portal_url, error="m")
    per_page = COLUMNS * ROWS
    pages = 0
    for index, card in enumerate(cards):
        slot = index % per_page
        if slot == 0:
            if index:
                canvas.showPage()
            pages += 1
        x = MARGIN + (slot % COLUMNS) * card_w
        y = height - MARGIN - (slot // COLUMNS + 1) * card_h
        fonts = (regular, bold, mono)
        _card(canvas, card, x, y, card_w, card_h, qr, portal_url, fonts, heading)
    canvas.save()
    return pages


def _card(
    canvas: Canvas,
    card: Card,
    x: float,
    y: float,
    w: float,
    h: float,
    qr: segno.QRCode,
    url: str,
    fonts: tuple[str, str, str],
    heading: str,
) -> None:
    regular, bold, mono = fonts
    canvas.setDash(3, 3)
    canvas.setStrokeGray(0.6)
    canvas.rect(x, y, w, h)
    canvas.setDash()
    pad = 5 * mm
    width = w - 2 * pad
    qr_size = 21 * mm
    cursor = y + h - pad - 10
    canvas.setFillGray(0)
    canvas.setFont(bold, 12)
    canvas.drawString(x + pad, cursor, heading)
    canvas.setFont(regular, 9)
    canvas.drawRightString(x + w - pad, cursor, card.class_name[:20])
    cursor -= 13
    canvas.drawString(x + pad, cursor, _fit(card.name, regular, 9, width))
    cursor -= 15
    canvas.setFont(regular, 8)
    canvas.drawString(x + pad, cursor, "Login ID")
    for line, size in _login_lines(card.login_id, mono, width):
        cursor -= size + 2
        canvas.setFont(mono, size)
        canvas.drawString(x + pad, cursor, line)
    cursor -= 13
    canvas.setFont(regular, 8)
    canvas.drawString(x + pad, cursor, "Password")
    cursor -= 15
    canvas.setFont(mono, 13)
    canvas.drawString(x + pad, cursor, card.password)
    if card.answers:
        cursor -= 14
        canvas.setFont(bold, 8)
        canvas.drawString(x + pad, cursor, "Secret answers (keep this card safe)")
        for question, answer in card.answers:
            cursor -= 11
            canvas.setFont(regular, 6.5)
            canvas.drawString(x + pad, cursor, _fit(question, regular, 6.5, 45 * mm))
            canvas.setFont(mono, 9)
            canvas.drawString(x + pad + 46 * mm, cursor, _fit(answer, mono, 9, width - 46 * mm))
    canvas.setFont(regular, 7.5)
    room = width - qr_size - 3 * mm
    canvas.drawString(
        x + pad,
        y + pad + 10,
        _fit("Change the password when you first sign in.", regular, 7.5, room),
    )
    canvas.drawString(x + pad, y + pad, _fit(f"Sign in at {url}", regular, 7.5, room))
    _qr(canvas, qr, x + w - pad - qr_size, y + pad - 2 * mm, qr_size)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Return text cut (with an ellipsis) to fit width at size."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."


def _login_lines(login_id: str, font: str, width: float) -> list[tuple[str, float]]:
    """Return the login ID on one line as large as fits, or split before the '@' if tiny."""
    size = min(10.0, width / max(1.0, pdfmetrics.stringWidth(login_id, font, 1)))
    if size >= 7:
        return [(login_id, size)]
    local, _, domain = login_id.partition("@")
    parts = [local, f"@{domain}"]
    size = min(10.0, *(width / max(1.0, pdfmetrics.stringWidth(p, font, 1)) for p in parts))
    return [(part, size) for part in parts]


def _qr(canvas: Canvas, qr: segno.QRCode, x: float, y: float, size: float) -> None:
    """Draw a QR code as filled squares (quiet zone included in size)."""
    rows = list(qr.matrix_iter(scale=1, border=2))
    cell = size / len(rows)
    canvas.setFillGray(0)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x + c * cell, y + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)
