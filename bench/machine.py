"""Facts about the machine and software a result was measured on."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bridge.directory.slapd import tool

PACKAGES = ("mims-bridge", "ldap3", "pyasn1", "flask", "click", "pydantic", "gunicorn")
ROOT = Path(__file__).resolve().parent.parent


def facts() -> dict[str, object]:
    """Return cores, memory, CPU model, kernel, slapd, Python and package versions."""
    return {
        "cores": os.cpu_count(),
        "memory_mb": _meminfo_mb("MemTotal"),
        "memory_available_mb": _meminfo_mb("MemAvailable"),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "slapd": _first_line([tool("slapd"), "-VV"]),
        "ldapadd": _first_line([tool("ldapadd"), "-VV"]),
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": _commit(),
    }


def source_digest() -> str:
    """Return a digest of the code under measurement (bridge/, schemas/, config/).

    The commit alone does not say what ran: a working tree can hold edits, and other people
    may change it while a long run goes on. Taken at the start and the end of a run.
    """
    digest = hashlib.sha256()
    for folder in ("bridge", "schemas", "config"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _meminfo_mb(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _first_line(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in (result.stdout + result.stderr).splitlines():
        if "OpenLDAP" in line:
            return line.strip().replace("@(#) $OpenLDAP: ", "").rstrip(" $")
    return "unknown"


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    """Return the checked-out commit by reading .git (no git program needed)."""
    git = ROOT / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: PATH"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        loose = git / ref
        if loose.exists():
            return loose.read_text().strip()
        common = git / "commondir"
        base = (git / common.read_text().strip()).resolve() if common.exists() else git
        for candidate in (base / ref, base / "packed-refs"):
            if candidate.name == "packed-refs" and candidate.exists():
                for line in candidate.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
            elif candidate.exists():
                return candidate.read_text().strip()
    except (OSError, IndexError):
        pass
    return None
