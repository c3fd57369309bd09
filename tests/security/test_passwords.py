"""Passwords an attacker or a careless admin could slip in, through every door that sets one.

- A password starting ``{SCHEME}`` (``{CLEARTEXT}...``, ``{SSHA}...``) was stored by slapd as
  given: in clear, or as a hash the client chose. It is refused at SCIM POST, PUT and PATCH,
  the portal's change and reset, and ``mims password check``; the stored values are read back
  as the rootDN to prove nothing but slapd's own {ARGON2} hashes is there.
- ``Aaaaaaaaaaa1`` and ``Welcome12345`` met the seeds' rules; they are refused, saying what to do.
- slapd's Argon2 and the answers' Argon2id cost at least OWASP's m=19 MiB, t=2, p=1, read from
  stored hashes.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap3
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.tokens import TokenStore
from bridge.services import Services
from tests.support.cli import MIMS as MIMS_COMMAND
from tests.support.cli import mims
from tests.support.directory import SUFFIX
from tests.support.portal import ANSWERS, GOOD, make_person, post
from tests.support.scim import MIMS, PATCH, USER, Scim

PEOPLE = f"ou=people,{SUFFIX}"
PRE_HASHED = [
    "{CLEARTEXT}Purple-Rocket-42",
    "{cleartext}Purple-Rocket-42",
    "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    "{ARGON2}$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
]
WEAK = ["Aaaaaaaaaaa1", "Welcome12345"]
STRONG = "MyCatLikesMango7"
# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB (19456 KiB), t=2, p=1 at the least.
OWASP = {"m": 19456, "t": 2, "p": 1}


@pytest.fixture
def scim(client: FlaskClient, directory: LdapClient, config: Config) -> Iterator[Scim]:
    store = TokenStore(directory, config.directory.suffix)
    secret = new_token()
    store.create("security", token_hash(secret), ("scim:write",))
    yield Scim(client, secret)
    store.revoke("security")


@pytest.fixture
def web(config: Config, directory: LdapClient) -> FlaskClient:
    app: Flask = create_app(
        config.with_overrides(sspr={"rate_limit": "10000 per minute"}), client=directory
    )
    app.testing = True
    return app.test_client()


def stored_passwords(admin: ldap3.Connection) -> dict[str, bytes]:
    """Return every person's userPassword as slapd keeps it, read as the rootDN."""
    admin.search(PEOPLE, "(uid=*)", attributes=["uid", "userPassword"])
    found = {}
    for entry in admin.entries:
        for value in entry.userPassword.raw_values:
            found[entry.uid.value] = value
    return found


def only_slapd_hashes(admin: ldap3.Connection) -> None:
    for uid, value in stored_passwords(admin).items():
        assert value.startswith(b"{ARGON2}$argon2"), (uid, value[:20])
        assert b"Purple-Rocket-42" not in value and b"W6ph5Mm5" not in value, uid


def cost(phc: str) -> dict[str, int]:
    """Return the m, t and p of an Argon2 PHC string."""
    match = re.search(r"\$argon2(?:i|d|id)\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", phc)
    assert match, phc[:40]
    return {"m": int(match[1]), "t": int(match[2]), "p": int(match[3])}


def user(password: str, **fields: Any) -> dict[str, Any]:
    return {
        "schemas": [USER, MIMS],
        "userName": "ann_lee@students.edu.sg",
        "name": {"formatted": "Ann Lee", "givenName": "Ann", "familyName": "Lee"},
        "password": password,
        MIMS: {"school": "Clementi Primary School", "level": "P5"},
    } | fields


def codes(response: Any) -> str:
    return str(response.get_json(force=True).get("detail"))


# --- {SCHEME} passwords --------------------------------------------------------


@pytest.mark.parametrize("password", PRE_HASHED)
def test_scim_refuses_a_password_slapd_would_store_as_given(
    scim: Scim, admin: ldap3.Connection, password: str
) -> None:
    created = scim.post("/Users", user(password))
    assert created.status_code == 400, created.get_json()
    assert "curly bracket" in codes(created)
    ann = scim.post("/Users", user(STRONG))
    assert ann.status_code == 201, ann.get_json()
    path = f"/Users/{ann.json['id']}"
    before = stored_passwords(admin)["ann_lee"]
    replaced = scim.put(path, user(password, id=ann.json["id"]))
    operation = {"op": "replace", "path": "password", "value": password}
    patched = scim.patch(path, {"schemas": [PATCH], "Operations": [operation]})
    assert (replaced.status_code, patched.status_code) == (400, 400)
    assert "curly bracket" in codes(replaced) and "curly bracket" in codes(patched)
    assert stored_passwords(admin)["ann_lee"] == before
    only_slapd_hashes(admin)


def test_the_portal_refuses_it_on_change_and_on_reset(
    web: FlaskClient, services: Services, admin: ldap3.Connection
) -> None:
    mary = make_person(services)
    login = str(mary.login_id)
    assert post(web, "login", {"loginId": login, "password": GOOD})[0] == 200
    assert post(web, "answers", {"answers": ANSWERS, "currentPassword": GOOD})[0] == 200
    for password in PRE_HASHED[:2]:
        status, body = post(web, "password", {"currentPassword": GOOD, "newPassword": password})
        assert (status, body["error"]) == (400, "password_rules")
        assert [f["code"] for f in body["failures"]] == ["looks_hashed"]  # type: ignore[union-attr,index]
    web.post("/sspr/api/logout", json={})
    _, started = post(web, "reset/start", {"loginId": login})
    status, verified = post(web, "reset/verify", {"ticket": started["ticket"], "answers": ANSWERS})
    assert status == 200, verified
    status, body = post(
        web, "reset/complete", {"resetToken": verified["resetToken"], "newPassword": PRE_HASHED[0]}
    )
    assert (status, body["error"]) == (400, "password_rules")
    only_slapd_hashes(admin)


def test_mims_password_check_refuses_it(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")}
    checked = subprocess.run(
        [*MIMS_COMMAND, "password", "check", "--policy", "mims", "--full-name", "Ann Lee"],
        input=PRE_HASHED[0] + "\n",
        capture_output=True,
        text=True,
        env=environment | {"HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )
    assert checked.returncode == 1
    assert "Don't start it with a curly bracket" in checked.stdout


# --- weak passwords ------------------------------------------------------------


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_saying_what_to_do(
    scim: Scim, web: FlaskClient, services: Services, password: str
) -> None:
    refused = scim.post("/Users", user(password))
    assert refused.status_code == 400
    assert "easy to guess" in codes(refused)
    mary = make_person(services)
    assert post(web, "login", {"loginId": str(mary.login_id), "password": GOOD})[0] == 200
    status, body = post(web, "password", {"currentPassword": GOOD, "newPassword": password})
    assert (status, body["error"]) == (400, "password_rules")
    messages = " ".join(f["message"] for f in body["failures"])  # type: ignore[union-attr,index]
    assert "easy to guess" in messages and "only you would think of" in messages


def test_a_password_of_a_few_words_passes(scim: Scim) -> None:
    assert scim.post("/Users", user(STRONG)).status_code == 201


# --- Argon2 cost -----------------------------------------------------------------


def test_slapd_hashes_passwords_at_owasp_cost_or_more(scim: Scim, admin: ldap3.Connection) -> None:
    assert scim.post("/Users", user(STRONG)).status_code == 201
    stored = stored_passwords(admin)["ann_lee"].decode("ascii", "replace")
    assert all(value >= OWASP[key] for key, value in cost(stored).items()), stored[:50]


def test_preset_answers_are_hashed_at_owasp_cost_or_more(
    config: Config, directory: LdapClient, admin: ldap3.Connection, tmp_path: Path
) -> None:
    env = {"MIMS_DATA_DIR": str(config.slapd.data_dir), "HOME": str(tmp_path)}
    roster = tmp_path / "roster.csv"
    roster.write_text("external_id,full_name,role,school,level,class\nA1,Tom Ong,student,C,P2,2A\n")
    assert mims("import", str(roster), env=env).returncode == 0
    out = tmp_path / "answers.csv"
    preset = ("answers", "preset", "--school", "C", "--level", "P2", "--out", str(out))
    assert mims(*preset, env=env).returncode == 0
    admin.search(PEOPLE, "(uid=tom_ong)", attributes=["mimsChallengeAnswer"])
    stored = admin.entries[0].mimsChallengeAnswer.values
    assert len(stored) == 3
    for value in stored:
        assert all(v >= OWASP[k] for k, v in cost(value).items()), value[:50]
