"""SCIM fixtures: a bearer token in the real directory and a client that sends it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bridge.config import Config
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.tokens import TokenStore

BASE = "/scim/v2"
SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MIMS = "urn:mims:params:scim:schemas:extension:mims:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
def tokens(directory: LdapClient, config: Config) -> Iterator[TokenStore]:
    store = TokenStore(directory, config.directory.suffix)
    yield store
    for info in store.list():
        store.revoke(info.name)


@pytest.fixture
def token(tokens: TokenStore) -> str:
    secret = new_token()
    tokens.create("tests", token_hash(secret), ("scim:write",))
    return secret


class Scim:
    """The Flask test client with a bearer token and SCIM JSON on every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, json: Any = None, **headers: str) -> TestResponse:
        kwargs: dict[str, Any] = {"headers": self.headers | headers}
        if json is not None:
            kwargs["json"] = json
            kwargs["content_type"] = SCIM_JSON
        return self.client.open(BASE + path, method=method, **kwargs)

    def get(self, path: str, **headers: str) -> TestResponse:
        return self.request("GET", path, **headers)

    def post(self, path: str, json: Any, **headers: str) -> TestResponse:
        return self.request("POST", path, json, **headers)

    def put(self, path: str, json: Any, **headers: str) -> TestResponse:
        return self.request("PUT", path, json, **headers)

    def patch(self, path: str, json: Any, **headers: str) -> TestResponse:
        return self.request("PATCH", path, json, **headers)

    def delete(self, path: str, **headers: str) -> TestResponse:
        return self.request("DELETE", path, **headers)


@pytest.fixture
def scim(client: FlaskClient, token: str) -> Scim:
    return Scim(client, token)


def is_error(response: TestResponse, status: int, scim_type: str | None = None) -> bool:
    """Whether a response is an RFC 7644 error body with this status (and scimType)."""
    body = response.get_json(force=True)
    ok = (
        response.status_code == status
        and response.mimetype == SCIM_JSON
        and body["schemas"] == [ERROR]
        and body["status"] == str(status)
        and bool(body.get("detail"))
    )
    return ok and (scim_type is None or body.get("scimType") == scim_type)
