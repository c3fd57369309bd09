"""Passwords LDAP cannot carry (RFC 4013: control characters, lone surrogates) are simply wrong.

schemathesis (tests/api/test_fuzz.py) found that they answered 500: ldap3 refused to send the
bind. They can be nobody's password, so they get the answers of a wrong password.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.support.portal import Account, post

UNSENDABLE = ["a\ud8b3b", "Sunny7\x00Garden42", "\u008fSunny7Garden42"]


@pytest.mark.parametrize("password", UNSENDABLE)
def test_signing_in_with_an_unsendable_password_is_a_wrong_sign_in(
    web: FlaskClient, mary: Account, password: str
) -> None:
    status, body = post(web, "login", {"loginId": mary.login, "password": password})
    assert (status, body["error"]) == (401, "wrong_login")


@pytest.mark.parametrize("password", UNSENDABLE)
def test_an_unsendable_current_password_is_a_wrong_current_password(
    web: FlaskClient, mary: Account, password: str
) -> None:
    assert post(web, "login", {"loginId": mary.login, "password": mary.password})[0] == 200
    status, body = post(
        web, "password", {"currentPassword": password, "newPassword": "Purple9Rocket31"}
    )
    assert (status, body["error"]) == (400, "wrong_current_password")
