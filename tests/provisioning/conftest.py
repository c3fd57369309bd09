"""Sync fixtures: a real SCIM target (scim2-server under gunicorn) and a config that names it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.peer_server import PeerServer
from bridge.config import Config
from bridge.directory.slapd import ManagedSlapd
from tests.support.ports import free_port
from tests.support.sync import TARGET, TOKEN_ENV, clear_sync_state, sync_settings


@pytest.fixture(scope="session")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerServer]:
    with PeerServer(
        tmp_path_factory.mktemp("peer"), workers=1, threads=4, port=free_port()
    ) as server:
        yield server


@pytest.fixture
def empty_peer(peer: PeerServer) -> PeerServer:
    """The peer, restarted: it comes back empty (its store is in memory)."""
    peer.restart()
    return peer


@pytest.fixture
def sync_config(
    config: Config, empty_peer: PeerServer, slapd: ManagedSlapd, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Config]:
    monkeypatch.setenv(TOKEN_ENV, empty_peer.token)
    yield config.with_overrides(sync={"targets": {TARGET: sync_settings(empty_peer)}})
    clear_sync_state(slapd)
