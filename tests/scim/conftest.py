"""SCIM fixtures: a bearer token in the real directory and a client that sends it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from bridge.config import Config
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.tokens import TokenStore
from tests.support.scim import Scim


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


@pytest.fixture
def scim(client: FlaskClient, token: str) -> Scim:
    return Scim(client, token)
