"""/healthz says the process is up; /readyz follows the directory."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from tests.support.directory import SUFFIX, make_config
from tests.support.ports import free_port


def test_healthz_answers_without_the_directory(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_is_200_when_the_directory_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json) == (200, {"status": "ready"})


def test_readyz_turns_503_when_slapd_stops_and_recovers_when_it_returns(tmp_path: Path) -> None:
    slapd = ManagedSlapd(tmp_path / "data", SUFFIX, no_sync=True)
    slapd.init()
    slapd.start(free_port())
    config = make_config(slapd.layout.root)
    directory = LdapClient(client_settings(config))
    client = create_app(config, client=directory).test_client()
    try:
        assert client.get("/readyz").status_code == 200
        slapd.stop()
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json == {"status": "unavailable", "detail": "the directory does not answer"}
        assert client.get("/healthz").status_code == 200
        slapd.start(free_port())
        assert client.get("/readyz").status_code == 200  # reconnects by itself
    finally:
        directory.close()
        slapd.stop()


def test_an_unexpected_error_is_a_500_that_says_nothing_internal(client: FlaskClient) -> None:
    app = client.application

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals /etc/passwd")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
