"""Schemathesis against the real app and slapd: no 5xx and no answer the document does not allow.

Every operation of bridge/web/openapi.json gets generated requests, valid and invalid, with a
scim:write token and a signed-in portal session; path ids are real ids as often as not. Each
response is checked for a server error, its status, content type, headers and body against
the document. ``MIMS_FUZZ_EXAMPLES`` sets the examples per operation: a small run in
``make test``, a long one in ``make fuzz``.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from bridge.app import create_app
from bridge.config import Config
from bridge.core.administration import AllSchools
from bridge.core.challenges import FAST_PARAMS
from bridge.core.people import NewPerson
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.tokens import TokenStore
from bridge.services import Backend, Services
from bridge.web.openapi import document_text
from tests.support.portal import ANSWERS, GOOD, make_person

# Per operation, for the fuzzing phase; schemathesis' examples and coverage phases add their own
# cases (about 2,700 in all with 10). `make fuzz` asks for many more, from a fresh seed each run.
FUZZ = os.environ.get("MIMS_FUZZ_EXAMPLES")
EXAMPLES = int(FUZZ or "10")
CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture
def fuzzed_app(config: Config, directory: LdapClient) -> Flask:
    fast = config.with_overrides(
        sspr={"rate_limit": "100000 per minute", "address_failures": "100000 per hour"},
        console={"request_rate_limit": "100000 per minute"},
    )
    app = create_app(fast, client=directory)
    app.extensions["mims.portal"].params = FAST_PARAMS
    return app


@pytest.fixture
def bearer(directory: LdapClient, config: Config) -> Iterator[str]:
    store = TokenStore(directory, config.directory.suffix)
    secret = new_token()
    store.create("fuzz", token_hash(secret), ("scim:write",))
    yield secret
    store.revoke("fuzz")


@dataclass(frozen=True)
class Known:
    """Real values the generated requests may carry instead of random ones."""

    user: str
    group: str
    session: str  # Mary's portal session cookie
    ticket: str  # a reset ticket for Mary
    reset_token: str  # a reset token for Mary (single-use)
    console: str  # a MIMS administrator's console session cookie


@pytest.fixture
def known(services: Services, fuzzed_app: Flask, config: Config, directory: LdapClient) -> Known:
    """Mary, with her answers set and signed in, and a group holding her."""
    person = make_person(services)
    group = services.groups.create("Fuzzers", None, [person.id])
    portal = fuzzed_app.extensions["mims.portal"]
    portal.set_answers(person.id, GOOD, ANSWERS, None)
    web = fuzzed_app.test_client()
    signed_in = web.post(
        "/sspr/api/login", json={"loginId": str(person.login_id), "password": GOOD}
    )
    assert signed_in.status_code == 200, signed_in.json
    cookie = web.get_cookie("mims_portal", path="/sspr")
    assert cookie is not None
    ticket = web.post("/sspr/api/reset/start", json={"loginId": str(person.login_id)}).json
    verified = web.post(
        "/sspr/api/reset/verify", json={"ticket": ticket["ticket"], "answers": ANSWERS}
    )
    assert verified.status_code == 200, verified.json
    admin = services.people.create(NewPerson(full_name="Fuzz Admin", role="hq", password=GOOD))
    Backend(config, directory).grants.grant(admin.login_id, [AllSchools()])
    signed = web.post("/admin/api/login", json={"loginId": str(admin.login_id), "password": GOOD})
    assert signed.status_code == 200, signed.json
    console = web.get_cookie("mims_admin", path="/admin")
    assert console is not None
    return Known(
        person.id,
        group.id,
        cookie.value,
        ticket["ticket"],
        verified.json["resetToken"],
        console.value,
    )


def _half(value: object) -> bool:
    """Pick about half of the generated values, the same ones on every run."""
    return zlib.crc32(repr(value).encode()) % 2 == 0


def _with_known_values(case: schemathesis.Case, known: Known) -> None:
    """Put real ids, tickets and tokens in place of about half of the generated ones."""
    if "id" in case.path_parameters and _half(case.path_parameters["id"]):
        real = known.group if case.path.startswith("/scim/v2/Groups") else known.user
        case.path_parameters["id"] = real
    if isinstance(case.body, dict) and _half(case.body):
        for field, real in (("ticket", known.ticket), ("resetToken", known.reset_token)):
            if field in case.body:
                case.body[field] = real


# Read from the package, as /openapi.json serves it (tests/api/test_openapi.py checks that).
schema = schemathesis.openapi.from_dict(json.loads(document_text()))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=FUZZ is None,  # the same cases on every `make test`
    database=None,
)
def test_the_app_answers_as_its_document_says(
    case: schemathesis.Case, fuzzed_app: Flask, bearer: str, known: Known, cases: Counter[str]
) -> None:
    _with_known_values(case, known)
    headers = {"Authorization": f"Bearer {bearer}"} if case.path.startswith("/scim/") else {}
    cookies = {"mims_portal": known.session} if case.path.startswith("/sspr/") else {}
    if case.path.startswith("/admin/"):
        cookies = {"mims_admin": known.console}
    cases[case.operation.label] += 1
    case.call_and_validate(app=fuzzed_app, headers=headers, cookies=cookies, checks=CHECKS)
