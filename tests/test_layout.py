"""Test modules share helpers through tests/support and fixtures, never by importing each other."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    crossing = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("tests") and not name.startswith("tests.support"):
                    crossing.append(f"{path.relative_to(TESTS)}: {name}")
    assert crossing == []
