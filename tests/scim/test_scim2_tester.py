"""scim2-tester's checks, run in-process through scim2-client's WSGI client."""

from __future__ import annotations

from flask import Flask
from scim2_client.engines.wsgi import WSGISCIMClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.support.scim import BASE
from tests.support.scim_tester import LOGIN_ID_MODE_KNOWN, check


def test_scim2_tester_finds_nothing_but_the_documented_deviation(app: Flask, token: str) -> None:
    client = WSGISCIMClient(
        app, base_url=f"http://localhost{BASE}", headers={"Authorization": f"Bearer {token}"}
    )
    failures = check(client, login_ids=True)
    assert len(failures) <= len(LOGIN_ID_MODE_KNOWN) + 1  # add and replace report it each
    assert [text for text in failures if not any(k in text for k in LOGIN_ID_MODE_KNOWN)] == []


def test_with_client_user_names_the_tester_finds_nothing(
    config: Config, directory: LdapClient, token: str
) -> None:
    app = create_app(config.with_overrides(scim={"usernames": "client"}), client=directory)
    client = WSGISCIMClient(
        app, base_url=f"http://localhost{BASE}", headers={"Authorization": f"Bearer {token}"}
    )
    assert check(client, login_ids=False) == []
