"""PDF text for tests of cards and slips: poppler's pdftotext, as a school's printer reads it."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest


def pdf_text(pdf: bytes | str) -> str:
    """Return the text of a PDF (bytes, or base64 as the console's API sends it)."""
    if not shutil.which("pdftotext"):
        pytest.skip("needs pdftotext (Debian package poppler-utils)")
    data = base64.b64decode(pdf) if isinstance(pdf, str) else pdf
    assert data.startswith(b"%PDF-")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return done.stdout.decode()


def passwords_on_cards(text: str) -> dict[str, str]:
    """Return {login ID: temporary password} read from cards' text (pdftotext -layout).

    Cards stand side by side, so a row's login IDs are on one line and, two lines down (after
    "Password"), their passwords in the same order.
    """
    lines = [line.split() for line in text.splitlines()]
    found: dict[str, str] = {}
    for index, words in enumerate(lines[:-2]):
        if words and all("@" in word for word in words) and set(lines[index + 1]) == {"Password"}:
            found.update(zip(words, lines[index + 2], strict=True))
    return found
