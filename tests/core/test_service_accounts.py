"""Service account names, roles and secrets: the rules, with plain values."""

from __future__ import annotations

import pytest

from bridge.core.service_accounts import ROLES, check_name, check_role, new_secret
from bridge.errors import InvalidValue


@pytest.mark.parametrize("name", ["gcds", "keycloak-prod", "sso.school_2", "a" * 64])
def test_short_lowercase_labels_are_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "must be 1 to 64"),
        ("GCDS", "must be 1 to 64"),
        ("2fa", "starting with a letter"),
        ("key cloak", "must be 1 to 64"),
        ("cn=x", "must be 1 to 64"),
        ("a" * 65, "must be 1 to 64"),
        ("mims-bridge", "the bridge's own account"),
    ],
)
def test_other_names_are_refused_in_words(name: str, words: str) -> None:
    with pytest.raises(InvalidValue, match=words):
        check_name(name)


def test_roles_are_the_four_the_access_rules_name() -> None:
    assert ROLES == ("reader", "gcds", "sso", "writer")
    assert [check_role(role) for role in ROLES] == list(ROLES)
    with pytest.raises(InvalidValue, match=r"role 'admin'.*reader\|gcds\|sso\|writer"):
        check_role("admin")
    with pytest.raises(InvalidValue, match="no --role"):
        check_role(None)


def test_secrets_are_long_random_and_never_repeat() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(secret) >= 43 and secret.isascii() for secret in secrets)
