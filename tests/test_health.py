"""/livez (and /healthz) say the process is up; /readyz runs the readiness checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Backend
from tests.support.directory import SUFFIX, make_config
from tests.support.ports import free_port

TARGET = {"url": "https://apps.example/scim", "token_env": "APPS_TOKEN"}


@pytest.mark.parametrize("path", ["/livez", "/healthz"])
def test_livez_and_its_old_name_answer_without_the_directory(
    client: FlaskClient, path: str
) -> None:
    response = client.get(path)
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_is_200_when_the_write_target_answers(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert list(response.json["checks"]) == ["directory"]
    directory = response.json["checks"]["directory"]
    assert directory["ok"] is True
    assert "answered a bind and a search" in directory["detail"]


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
        assert down.json == {
            "status": "unavailable",
            "checks": {"directory": {"ok": False, "detail": "the write target does not answer"}},
        }
        assert client.get("/livez").status_code == 200
        slapd.start(free_port())
        assert client.get("/readyz").status_code == 200  # reconnects by itself
    finally:
        directory.close()
        slapd.stop()


def test_a_sync_target_is_reported_unattached_until_a_runner_confirms_a_place(
    config: Config, directory: LdapClient
) -> None:
    synced = config.with_overrides(sync={"targets": {"readiness": TARGET}})
    client = create_app(synced, client=directory).test_client()
    response = client.get("/readyz")
    # A downstream target does not take the portal out of the balancer: only the directory does.
    assert (response.status_code, response.json["status"]) == (200, "ready")
    assert response.json["checks"]["sync:readiness"]["ok"] is False
    assert "not attached" in response.json["checks"]["sync:readiness"]["detail"]
    state = Backend(synced, directory).sync_state("readiness")
    state.save_cookie("rid=001,csn=20261205000000.000000Z#000000#000#000000", 1)
    attached = client.get("/readyz").json["checks"]["sync:readiness"]
    assert attached["ok"] is True
    assert "attached to the change feed" in attached["detail"]
    state.record_failure("the target said 503")
    failing = client.get("/readyz").json["checks"]["sync:readiness"]
    assert failing == {
        "ok": False,
        "detail": "1 failed attempts to reach the target since the last success",
    }


def test_an_unexpected_error_is_a_500_that_says_nothing_internal(client: FlaskClient) -> None:
    app = client.application

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals /etc/passwd")

    response = client.get("/boom")
    assert response.status_code == 500
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
