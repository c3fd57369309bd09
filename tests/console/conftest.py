"""The console's tests: the app over the session's slapd, and the cast with their grants."""

from __future__ import annotations

import pytest
from flask import Flask

from bridge.config import Config
from bridge.core.challenges import FAST_PARAMS
from bridge.directory.client import LdapClient
from bridge.services import Backend
from tests.support.console import Cast, make_cast


@pytest.fixture
def backend(config: Config, directory: LdapClient) -> Backend:
    return Backend(config, directory)


@pytest.fixture
def cast(backend: Backend) -> Cast:
    return make_cast(backend)


@pytest.fixture
def app(config: Config, directory: LdapClient) -> Flask:
    from bridge.app import create_app

    fast = config.with_overrides(
        sspr={"rate_limit": "100000 per minute", "address_failures": "100000 per hour"}
    )
    application = create_app(fast, client=directory)
    application.testing = True
    application.extensions["mims.portal"].params = FAST_PARAMS
    return application
