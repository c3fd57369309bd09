"""Sync tests' helpers: the peer target's name and token variable, its users, waiting."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import ldap3
import pytest

from bench.peer_server import PeerServer
from bridge.directory import dn
from bridge.directory.slapd import ManagedSlapd
from tests.support.cli import MIMS
from tests.support.directory import SUFFIX, admin_connection

TOKEN_ENV = "MIMS_TEST_PEER_TOKEN"
TARGET = "peer"
REPO = Path(__file__).resolve().parents[2]


def sync_settings(peer: PeerServer, **overrides: object) -> dict[str, object]:
    """Return the [sync.targets.peer] settings that point at this peer."""
    return {"kind": "scim", "url": peer.base_url, "token_env": TOKEN_ENV, **overrides}


def clear_sync_state(slapd: ManagedSlapd) -> None:
    """Delete every target's sync entry and dead letters."""
    with admin_connection(slapd) as admin:
        base = dn.sync_base(SUFFIX)
        admin.search(base, "(objectClass=*)", ldap3.SUBTREE, attributes=["1.1"])
        below = [e.entry_dn for e in admin.entries if e.entry_dn.lower() != base.lower()]
        for entry in sorted(below, key=lambda d: d.count(","), reverse=True):
            admin.delete(entry)


def peer_users(peer: PeerServer) -> list[dict[str, object]]:
    """Return every User the peer holds (one page: tests stay under 1,000 per page)."""
    users: list[dict[str, object]] = []
    start = 1
    while True:
        status, body = peer.call("GET", f"Users?startIndex={start}&count=1000")
        assert status == 200, body
        page = list(body.get("Resources") or [])
        users += page
        start += len(page)
        if not page or start > int(body["totalResults"]):
            return users


def peer_user(peer: PeerServer, external_id: str) -> dict[str, object] | None:
    """Return the peer's User with this externalId, or None."""
    scim_filter = quote(f'externalId eq "{external_id}"')
    status, body = peer.call("GET", f"Users?filter={scim_filter}")
    assert status == 200, body
    found = list(body.get("Resources") or [])
    assert len(found) <= 1, found
    return found[0] if found else None


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a condition (checked every 0.2 s), failing with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


_WRITE = re.compile(r'"(POST|PUT|PATCH|DELETE) (\S+) HTTP')


def log_size(peer: PeerServer) -> int:
    """Return where the peer's access log ends now (read writes after it with ``writes``)."""
    return peer.log.stat().st_size if peer.log.exists() else 0


def writes(peer: PeerServer, since: int) -> list[tuple[str, str]]:
    """Return each write request (method, path) the peer logged after offset ``since``."""
    with open(peer.log, "rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    return [(m.group(1), m.group(2)) for m in _WRITE.finditer(text)]


def start_mims(*args: str, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    """Start `mims ARGS` in the background, as ``tests.support.cli.mims`` runs it; stderr to
    ``output``. The caller stops it (by its pid)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")} | env
    with open(output, "wb") as stderr:
        return subprocess.Popen(
            [*MIMS, *args], env=environment, stdout=subprocess.DEVNULL, stderr=stderr
        )
