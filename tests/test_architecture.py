"""The layers hold: only bridge/directory speaks LDAP (docs/architecture.md).

import-linter's contracts (pyproject.toml) check the imports; this reads the code itself for
what an import check cannot see: an LDAP filter or DN written as a string outside the directory.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parent.parent / "bridge"
# "(uid=x)", "(&(objectClass=...)...)", "(!(a=*))": an RFC 4515 filter.
FILTER = re.compile(r"\(\s*[&|!]?\s*\(?[A-Za-z][\w.-]*[~<>]?=[^=]")
# "uid=x,ou=people", "cn=config": an RFC 4514 DN (an attribute=value pair, then a comma or end).
DN = re.compile(r"^\s*(uid|cn|ou|dc|o|mail)=[^,=]+(,[A-Za-z]+=[^,=]+)*\s*$", re.IGNORECASE)
# The default of the `suffix` setting is configuration, not code that builds a DN.
ALLOWED = {("config.py", "dc=mims,dc=example")}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def ldap_literals(path: Path) -> list[str]:
    """Return the string literals of a module that are LDAP filters or DNs (not docstrings)."""
    tree = ast.parse(path.read_text())
    docstrings = _docstrings(tree)
    relative = str(path.relative_to(BRIDGE))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docstrings or (relative, node.value) in ALLOWED:
            continue
        if FILTER.search(node.value) or DN.match(node.value):
            found.append(f"{relative}:{node.lineno}: {node.value!r}")
    return found


def outside_directory() -> list[Path]:
    return [p for p in BRIDGE.rglob("*.py") if "directory" not in p.relative_to(BRIDGE).parts]


def test_no_module_outside_the_directory_writes_an_ldap_filter_or_dn() -> None:
    found = [line for path in outside_directory() for line in ldap_literals(path)]
    assert found == []


def test_no_module_outside_the_directory_imports_an_ldap_library() -> None:
    imports = []
    for path in outside_directory():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            imports += [f"{path}: {n}" for n in names if n.split(".")[0] in ("ldap3", "ldap")]
    assert imports == []


@pytest.mark.parametrize(
    ("text", "is_ldap"),
    [
        ("(&(objectClass=mimsPerson)(uid=x))", True),
        ("(uid=*)", True),
        ("uid=ann,ou=students,ou=people,dc=mims,dc=example", True),
        ("cn=config", True),
        ("ann_lee@students.edu.sg", False),
        ("the directory (slapd) refused it", False),
        ("sync target is disabled (enabled = false)", False),
        ('userName eq "ann"', False),
    ],
)
def test_the_check_itself_tells_ldap_text_from_ordinary_text(text: str, is_ldap: bool) -> None:
    assert bool(FILTER.search(text) or DN.match(text)) is is_ldap


def test_the_import_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(linter), "--no-cache"], capture_output=True, text=True, cwd=BRIDGE.parent
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
