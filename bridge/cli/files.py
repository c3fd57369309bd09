"""Files the `mims` command writes with secrets or children's details: readable by the owner only.

Login cards carry temporary passwords, preset-answer CSVs carry answers, rejected-row CSVs carry
roster rows. Each is created 0600, and a file already there is made 0600 before anything is
written into it (``open`` keeps an existing file's mode, and the umask would leave 0644).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO, TextIO

PRIVATE = 0o600


def _descriptor(path: Path) -> int:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    os.fchmod(descriptor, PRIVATE)
    return descriptor


def open_private_text(path: Path) -> TextIO:
    """Open path for writing CSV text (UTF-8, newline="" as the csv module wants), mode 0600."""
    return os.fdopen(_descriptor(path), "w", newline="", encoding="utf-8")


def open_private_binary(path: Path) -> BinaryIO:
    """Open path for writing bytes (a PDF), mode 0600."""
    return os.fdopen(_descriptor(path), "wb")
