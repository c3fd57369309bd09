"""scim2-tester's checks, run in-process through scim2-client's WSGI client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.scim.conftest import BASE

scim2_tester = pytest.importorskip("scim2_tester")
from scim2_client.engines.wsgi import WSGISCIMClient  # noqa: E402

# The one deviation left in "login-id" mode (docs/decisions.md, known deviations): the MIMS
# extension always carries the server-computed read-only role, loginId and answersSet, which
# scim2-tester expects a PATCH that removes, adds or replaces the whole extension to drop or
# leave out. With usernames = "client" they are returned only when asked for, and nothing is
# left.
LOGIN_ID_MODE_KNOWN = (
    "did not remove attribute 'urn:mims:params:scim:schemas:extension:mims:2.0:User'",
    "returned unexpected value for 'urn:mims:params:scim:schemas:extension:mims:2.0:User'",
)


def check(client: Any, login_ids: bool) -> list[str]:
    """Run every scim2-tester check; return its errors and failures.

    The tester invents its values; where the server rightly refuses random ones (passwords
    must pass the policy, a manager must exist, and in "login-id" mode a userName must be a
    login ID) it is offered acceptable examples instead.
    """
    client.discover()
    user_model = client.get_resource_model("User")
    assert user_model is not None
    if login_ids:
        user_model.model_fields["user_name"].examples = [
            f"t{uuid.uuid4().hex[:16]}@students.edu.sg" for _ in range(10_000)
        ]
    # Strong passwords whose letters (g to z) cannot hold a part of the tester's names, which
    # it makes from hexadecimal UUIDs.
    user_model.model_fields["password"].examples = [
        f"Zq{n:04d}Rymt{n % 7}Wxkp" for n in range(10_000)
    ]
    boss = client.create(user_model(user_name="boss@schools.gov.sg"))
    enterprise = user_model.get_extension_model("EnterpriseUser")
    manager = enterprise.model_fields["manager"].annotation
    manager_model = next(arg for arg in manager.__args__ if arg is not type(None))
    manager_model.model_fields["value"].examples = [boss.id]
    results = scim2_tester.check_server(client, raise_exceptions=False)
    assert len(results) > 90
    failures = [
        f"{result.title}: {result.reason}"
        for result in results
        if result.status.name in ("ERROR", "CRITICAL")
    ]
    return failures


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
