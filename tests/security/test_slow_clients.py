"""Clients that send their body a byte a second do not stall the bridge for everyone else.

Forty such connections held every gunicorn thread, so no one could sign in. Here the default
`mims serve` (no proxy in front) holds 200 of them while a child signs in. The client's
timeout is generous so a loaded machine cannot fail the test; the time measured on a quiet one
is in docs/security.md.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest

from tests.support.attacks import request, slow_clients, still_waiting
from tests.support.cli import Served, serving

PASSWORD = "Sunny7Garden42"


@pytest.fixture(scope="module")
def default_serve() -> Iterator[Served]:
    with serving() as running:
        yield running


def make_student(served: Served) -> str:
    """Create a student with a password over SCIM; return the login ID."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "name": {"givenName": "Siti", "familyName": "Rahman"},
        "password": PASSWORD,
    }
    made = urllib.request.Request(
        served.base + "/scim/v2/Users",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {served.token}",
            "Content-Type": "application/scim+json",
        },
    )
    with urllib.request.urlopen(made, timeout=10) as response:
        login_id: str = json.load(response)["userName"]
    return login_id


def test_a_sign_in_is_answered_while_200_clients_trickle_their_bodies(
    default_serve: Served,
) -> None:
    login_id = make_student(default_serve)
    with slow_clients(default_serve.base, "/sspr/api/login", 200) as held:
        answer = request(
            default_serve.base,
            "POST",
            "/sspr/api/login",
            {"loginId": login_id, "password": PASSWORD},
            {},
            timeout=5,
        )
        assert answer.status == 200, answer
        assert "next" in json.loads(answer.body)
        # The slow connections were still open, unanswered, when the sign-in went through.
        assert still_waiting(held) == 200
