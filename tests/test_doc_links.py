"""Every relative link in the README, docs/ and bench/README.md names a file that exists.

A page moved or renamed otherwise leaves links that 404 on the forge and in an editor.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")  # [text](target#anchor), anchor ignored


def pages() -> list[Path]:
    return [
        ROOT / "README.md",
        ROOT / "bench" / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
    ]


def broken(page: Path) -> list[str]:
    """Return the relative link targets of ``page`` that do not exist beside it."""
    targets = (match.group(1) for match in LINK.finditer(page.read_text(encoding="utf-8")))
    return [
        target
        for target in targets
        if not re.match(r"^[a-z]+:", target) and not (page.parent / target).exists()
    ]


def test_every_relative_link_names_a_file_that_exists() -> None:
    found = {str(page.relative_to(ROOT)): broken(page) for page in pages()}

    assert {page: links for page, links in found.items() if links} == {}


def test_the_checker_sees_a_broken_link(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "there.md").write_text("")
    page.write_text("[ok](there.md#a) [web](https://x.example) [gone](missing.md)")

    assert broken(page) == ["missing.md"]
