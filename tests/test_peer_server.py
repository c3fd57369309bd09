"""The peer SCIM server (scim2-server under gunicorn) starts, answers, dies, comes back, stops.

The first run on a machine builds its venv (pip, the network); later runs reuse the cache.
"""

from __future__ import annotations

from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import urlopen

import pytest

from bench.peer_server import PeerServer, alive, worker_pids
from tests.support.ports import free_port

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def mary(user_name: str = "mary_tan@students.edu.sg") -> dict[str, object]:
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "externalId": "S1234567A",
        "name": {"givenName": "Mary", "familyName": "Tan"},
        "emails": [{"type": "work", "value": user_name, "primary": True}],
        "active": True,
        ENTERPRISE: {"employeeNumber": "S1234567A"},
    }


def found(peer: PeerServer, scim_filter: str) -> list[dict[str, object]]:
    status, body = peer.call("GET", f"Users?filter={quote(scim_filter)}")
    assert status == 200, body
    return list(body["Resources"])


@pytest.mark.slow
def test_the_peer_serves_users_dies_comes_back_empty_on_its_port_and_stops(
    tmp_path: Path,
) -> None:
    with PeerServer(tmp_path / "peer", workers=2, threads=2, port=free_port()) as peer:
        assert peer.base_url == f"http://127.0.0.1:{peer.port}/v2/"
        master = peer.pid()
        workers = worker_pids(master)
        assert len(workers) == 1  # one process keeps one store: see bench/peer_server.py
        assert peer.rss_mb() > 10

        assert peer.call("GET", "Users")[0] == 200
        with pytest.raises(HTTPError) as refused:
            urlopen(peer.base_url + "Users", timeout=10)
        refused.value.close()
        assert refused.value.code == 401  # the token in peer.headers is required

        status, created = peer.call("POST", "Users", mary())
        assert status == 201, created
        assert created["externalId"] == "S1234567A"
        assert created[ENTERPRISE] == {"employeeNumber": "S1234567A"}
        [by_name] = found(peer, 'userName eq "MARY_TAN@students.edu.sg"')
        [by_external] = found(peer, 'externalId eq "S1234567A"')
        [by_mail] = found(peer, 'emails[type eq "work"].value eq "mary_tan@students.edu.sg"')
        assert by_name["id"] == by_external["id"] == by_mail["id"] == created["id"]
        assert peer.call("POST", "Users", mary())[0] == 409

        port = peer.port
        peer.kill()
        assert alive([master, *workers]) == []
        with pytest.raises(URLError):
            peer.call("GET", "Users", timeout=5)

        peer.restart()
        assert peer.port == port and peer.pid() != master
        assert found(peer, 'userName eq "mary_tan@students.edu.sg"') == []  # memory only
        assert peer.call("POST", "Users", mary())[0] == 201
        restarted = [peer.pid(), *worker_pids(peer.pid())]

    assert alive([master, *workers, *restarted]) == []
