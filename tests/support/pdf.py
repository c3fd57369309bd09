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
