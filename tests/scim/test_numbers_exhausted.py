"""A used-up uidNumber or gidNumber range: a clear refusal naming the setting, nothing written."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.directory.client import LdapClient
from tests.support.scim import GROUP, USER, Scim, is_error

# Ranges the session's counter is already past (it starts at the default ranges' starts).
SPENT = {"uid_number_min": 1000, "uid_number_max": 1001}
SPENT_GIDS = {"gid_number_min": 2000, "gid_number_max": 2001}


@pytest.fixture
def spent(config: Config, directory: LdapClient, token: str) -> Scim:
    narrow = config.with_overrides(posix=SPENT | SPENT_GIDS)
    app = create_app(narrow, client=directory)
    app.testing = True
    client: FlaskClient = app.test_client()
    return Scim(client, token)


def test_a_new_user_past_the_uid_range_is_refused_naming_the_setting(
    spent: Scim, scim: Scim
) -> None:
    refused = spent.post("/Users", {"schemas": [USER], "name": {"formatted": "Mary Tan"}})
    assert is_error(refused, 507), refused.json
    assert "[posix] uid_number_max" in refused.json["detail"]
    users = scim.get("/Users").json.get("Resources", [])
    # Nothing written for her (the list itself is shown: a full run once found one user here).
    assert not [u for u in users if u.get("name", {}).get("formatted") == "Mary Tan"], users


def test_a_new_group_past_the_gid_range_is_refused_naming_the_setting(
    spent: Scim, scim: Scim
) -> None:
    refused = spent.post("/Groups", {"schemas": [GROUP], "displayName": "3/A"})
    assert is_error(refused, 507), refused.json
    assert "[posix] gid_number_max" in refused.json["detail"]
    assert scim.get("/Groups").json["totalResults"] == 0
