"""Sync tests' helpers: the peer target's name and token variable, its users, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import ldap3
import pytest

from bench.peer_server import PeerServer
from bridge.directory import dn
from bridge.directory.slapd import ManagedSlapd
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
