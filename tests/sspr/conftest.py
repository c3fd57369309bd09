"""Portal fixtures: an app with cheap Argon2id (unless a test asks for the real cost)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.core.challenges import FAST_PARAMS
from bridge.directory.client import LdapClient
from bridge.services import Services
from bridge.sspr.service import Portal
from tests.support.portal import ANSWERS, GOOD, Account, make_person


@pytest.fixture
def portal_config(config: Config) -> Config:
    return config.with_overrides(
        sspr={"rate_limit": "10000 per minute", "address_failures": "10000 per hour"}
    )


@pytest.fixture
def portal_app(portal_config: Config, directory: LdapClient) -> Flask:
    app = create_app(portal_config, client=directory)
    app.testing = True
    app.extensions["mims.portal"].params = FAST_PARAMS
    return app


@pytest.fixture
def portal(portal_app: Flask) -> Portal:
    result: Portal = portal_app.extensions["mims.portal"]
    return result


@pytest.fixture
def web(portal_app: Flask) -> FlaskClient:
    return portal_app.test_client()


@pytest.fixture
def mary(services: Services) -> Account:
    person = make_person(services)
    return Account(person, str(person.login_id), GOOD)


@pytest.fixture
def ready(services: Services, portal: Portal, mary: Account) -> Account:
    """Mary with her own password and her three answers set."""
    portal.set_answers(mary.person.id, GOOD, ANSWERS, None)
    return mary
