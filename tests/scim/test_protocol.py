"""The SCIM front door: error bodies, media types, unknown routes, bearer tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge.config import Config
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.tokens import TokenStore
from bridge.scim.auth import TokenChecker
from bridge.scim.errors import Unauthorized
from tests.support.cli import mims
from tests.support.scim import BASE, SCIM_JSON, Scim, is_error


def test_without_a_token_every_endpoint_is_401_with_a_bearer_challenge(
    client: FlaskClient,
) -> None:
    for path in ("/Users", "/Groups", "/ServiceProviderConfig", "/Users/x"):
        response = client.get(BASE + path)
        assert is_error(response, 401), path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "bearer  x y"],
)
def test_a_malformed_or_unknown_token_is_401(client: FlaskClient, token: str, header: str) -> None:
    response = client.get(BASE + "/Users", headers={"Authorization": header})
    assert is_error(response, 401)


def test_the_scheme_is_case_insensitive(client: FlaskClient, token: str) -> None:
    response = client.get(BASE + "/Users", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def test_a_read_only_token_reads_but_cannot_write(client: FlaskClient, tokens: TokenStore) -> None:
    secret = new_token()
    tokens.create("reader", token_hash(secret), ("scim:read",))
    reader = Scim(client, secret)
    assert reader.get("/Users").status_code == 200
    assert reader.post("/.search", {"filter": 'userName eq "x@students.edu.sg"'}).status_code == 200
    assert is_error(reader.post("/Users", {"userName": "a@students.edu.sg"}), 403)


def test_only_a_hash_of_the_token_is_stored(token: str, admin, config: Config) -> None:
    admin.search(
        f"ou=tokens,ou=services,{config.directory.suffix}",
        "(objectClass=mimsToken)",
        attributes=["*"],
    )
    stored = admin.entries[0].entry_to_json()
    assert token not in stored
    assert token_hash(token) in stored


def test_verified_tokens_are_cached_and_revocation_lands_within_the_ttl() -> None:
    now = [0.0]
    calls: list[str] = []
    secret = new_token()
    stored = {token_hash(secret)}

    def find(hashed: str):  # type: ignore[no-untyped-def]
        calls.append(hashed)
        from bridge.core.tokens import TokenInfo

        return (TokenInfo("t", ("scim:read",)), hashed) if hashed in stored else None

    checker = TokenChecker(find, ttl=30, clock=lambda: now[0])
    for _ in range(5):
        checker.check(f"Bearer {secret}", "scim:read")
    assert len(calls) == 1  # one lookup, then the cache
    stored.clear()  # revoked in the directory
    now[0] = 29.0
    checker.check(f"Bearer {secret}", "scim:read")  # still cached
    now[0] = 30.5
    with pytest.raises(Unauthorized):
        checker.check(f"Bearer {secret}", "scim:read")


def test_unknown_route_under_scim_is_a_scim_404(scim: Scim) -> None:
    response = scim.get("/Nope")
    assert is_error(response, 404)


def test_wrong_method_is_a_scim_405(scim: Scim) -> None:
    response = scim.request("DELETE", "/ServiceProviderConfig")
    assert is_error(response, 405)


def test_malformed_json_is_400_invalid_syntax(scim: Scim) -> None:
    response = scim.client.post(
        BASE + "/Users", data=b"{not json", headers=scim.headers, content_type=SCIM_JSON
    )
    assert is_error(response, 400, "invalidSyntax")


def test_a_json_array_is_400_invalid_syntax(scim: Scim) -> None:
    assert is_error(scim.post("/Users", []), 400, "invalidSyntax")


def test_plain_application_json_is_accepted(scim: Scim) -> None:
    response = scim.client.post(
        BASE + "/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "name": {"formatted": "Ann Lee"},
        },
        headers=scim.headers,
    )
    assert response.status_code == 201, response.json


def test_another_media_type_is_415(scim: Scim) -> None:
    response = scim.client.post(
        BASE + "/Users", data=b"userName=x", headers=scim.headers, content_type="text/plain"
    )
    assert is_error(response, 415)


def test_responses_are_scim_json(scim: Scim) -> None:
    assert scim.get("/Users").mimetype == SCIM_JSON


def test_health_endpoints_stay_outside_scim(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/nope").status_code == 404


def test_token_commands_create_list_and_revoke(
    config: Config, directory: LdapClient, tokens: TokenStore, client: FlaskClient
) -> None:
    env = {
        "MIMS_DATA_DIR": str(config.slapd.data_dir),
        "HOME": str(Path(config.slapd.data_dir).parent),
    }
    made = mims("token", "create", "--name", "entra-prod", "--scope", "scim:read", env=env)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert len(secret) >= 43 and "cannot be shown again" in made.stderr
    listed = mims("token", "list", env=env)
    assert "entra-prod" in listed.stdout and "scim:read" in listed.stdout
    assert secret not in listed.stdout
    assert Scim(client, secret).get("/Users").status_code == 200
    again = mims("token", "create", "--name", "entra-prod", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert mims("token", "revoke", "entra-prod", env=env).returncode == 0
    gone = mims("token", "revoke", "entra-prod", env=env)
    assert gone.returncode == 1 and "no token" in gone.stderr
    bad = mims("token", "create", "--name", "Bad Name", env=env)
    assert bad.returncode == 1 and "lowercase" in bad.stderr


def test_an_unexpected_error_is_a_500_that_says_nothing_internal(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.directory.people import PeopleStore

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail at /srv/x.py line 3")

    monkeypatch.setattr(PeopleStore, "get", boom)
    response = scim.get("/Users/00000000-0000-0000-0000-000000000000")
    assert is_error(response, 500)
    assert "secret" not in response.get_data(as_text=True)


def test_a_directory_outage_is_a_503(scim: Scim, monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.directory.people import PeopleStore
    from bridge.errors import DirectoryUnavailable

    def down(*args: object, **kwargs: object) -> None:
        raise DirectoryUnavailable("the directory does not answer")

    monkeypatch.setattr(PeopleStore, "get", down)
    assert is_error(scim.get("/Users/00000000-0000-0000-0000-000000000000"), 503)
