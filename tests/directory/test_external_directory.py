"""An existing OpenLDAP, set up from `mims directory export-config`, as the bridge's home.

A plain slapd (made the way a distribution's package makes one, never by `mims slapd`) gets
the exported LDIF through the tools its administrator would use: ldapmodify over ldapi as the
cn=config administrator, ldapadd as the database's rootDN. `mims directory check` fails before
and passes after; then SCIM and the portal work against it over StartTLS.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Config, load_config
from bridge.core.challenges import FAST_PARAMS
from bridge.core.tokens import new_token, token_hash
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import tool
from bridge.directory.tokens import TokenStore
from bridge.services import build
from tests.support.certificates import Certificates, make_certificates
from tests.support.cli import mims
from tests.support.plain_slapd import ADMIN_PASSWORD, PlainSlapd, plain_slapd
from tests.support.portal import ANSWERS, NEWER, make_person, post
from tests.support.scim import PATCH, Scim, new_user

SUFFIX = "dc=school,dc=example"
SERVICE_DN = f"cn=mims-bridge,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "Service-Account-Secret-42"
SECRET_KEY = "k" * 40


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("pki"))


def mims_env(server: PlainSlapd, home: Path) -> dict[str, str]:
    """Return the environment of a `mims` pointed at the plain slapd over StartTLS."""
    toml = home / "mims.toml"
    toml.write_text(f'[directory]\nstarttls = true\nca_file = "{server.certificates.ca}"\n')
    return {
        "HOME": str(home),
        "MIMS_CONFIG": str(toml),
        "MIMS_DATA_DIR": str(home / "unused"),
        "MIMS_LDAP_URL": server.ldap_url,
        "MIMS_LDAP_BIND_DN": SERVICE_DN,
        "MIMS_LDAP_PASSWORD": SERVICE_PASSWORD,
        "MIMS_LDAP_SUFFIX": SUFFIX,
        "MIMS_SECRET_KEY": SECRET_KEY,
    }


def apply_exported_ldif(server: PlainSlapd, env: dict[str, str], folder: Path) -> None:
    """Export both parts and apply them as the directory's administrators would."""
    exported = mims(
        "directory", "export-config", "--existing-suffix", "--out", str(folder), env=env
    )
    assert exported.returncode == 0, exported.stderr
    assert (folder / "mims-data.ldif").stat().st_mode & 0o777 == 0o600
    modify = [tool("ldapmodify"), "-Y", "EXTERNAL", "-H", server.ldapi_url]
    configured = _run([*modify, "-f", str(folder / "mims-config.ldif")])
    assert configured.returncode == 0, configured.stderr
    add = [tool("ldapadd"), "-x", "-H", server.ldapi_url, "-D", server.admin_dn]
    loaded = _run([*add, "-w", ADMIN_PASSWORD, "-f", str(folder / "mims-data.ldif")])
    assert loaded.returncode == 0, loaded.stderr


def _run(command: list[str], input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, input=input_text, capture_output=True, text=True, check=False, timeout=60
    )


def test_the_check_fails_on_a_plain_slapd_and_passes_once_the_exported_ldif_is_applied(
    pki: Certificates, tmp_path: Path
) -> None:
    with plain_slapd(SUFFIX, pki) as server:
        env = mims_env(server, tmp_path)
        before = mims("directory", "check", env=env)
        assert before.returncode == 1, before.stdout + before.stderr
        assert before.stdout.startswith("missing   connection"), before.stdout

        apply_exported_ldif(server, env, tmp_path / "ldif")

        after = mims("directory", "check", env=env)
        assert after.returncode == 0, after.stdout + after.stderr
        lines = after.stdout.splitlines()
        assert all(line.startswith("ok ") for line in lines), after.stdout
        assert f"bound as {SERVICE_DN} at {server.ldap_url} (StartTLS)" in lines[0]
        subjects = {line.split()[1] for line in lines}
        assert {"schema", "policy", "ppolicy", "memberof", "unique", "refint", "sort"} <= subjects
        stored = _run(
            [tool("ldapsearch"), "-LLL", "-x", "-H", server.ldapi_url, "-D", server.admin_dn]
            + ["-w", ADMIN_PASSWORD, "-b", SERVICE_DN, "-s", "base", "userPassword"]
        )
        encoded = stored.stdout.split("userPassword:: ", 1)[1].replace("\n ", "").split()[0]
        assert base64.b64decode(encoded).startswith(b"{ARGON2}")  # hashed on the add, not clear


def test_the_check_names_what_is_different(pki: Certificates, tmp_path: Path) -> None:
    with plain_slapd(SUFFIX, pki) as server:
        env = mims_env(server, tmp_path)
        apply_exported_ldif(server, env, tmp_path / "ldif")
        policy = f"cn=mims,ou=policies,{SUFFIX}"
        changed = _run(
            [tool("ldapmodify"), "-x", "-H", server.ldapi_url, "-D", server.admin_dn]
            + ["-w", ADMIN_PASSWORD],
            input_text=f"dn: {policy}\nchangetype: modify\nreplace: pwdMinLength\npwdMinLength: 3",
        )
        assert changed.returncode == 0, changed.stderr
        result = mims("directory", "check", env=env)
        assert result.returncode == 1
        assert f"different policy           {policy} differs in pwdMinLength" in result.stdout
        assert "1 thing is missing or different" in result.stderr


@pytest.fixture(scope="module")
def external(
    pki: Certificates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Config, PlainSlapd]]:
    """A plain slapd set up from the exported LDIF, and a bridge config pointed at it."""
    home = tmp_path_factory.mktemp("external")
    with plain_slapd(SUFFIX, pki) as server:
        env = mims_env(server, home)
        apply_exported_ldif(server, env, home / "ldif")
        config = load_config(env=env).with_overrides(
            slapd={"no_sync": True},
            sspr={"rate_limit": "10000 per minute", "address_failures": "10000 per hour"},
        )
        yield config, server


@pytest.fixture
def bridge_client(external: tuple[Config, PlainSlapd]) -> Iterator[LdapClient]:
    client = LdapClient(client_settings(external[0]))
    yield client
    client.close()


def test_scim_creates_patches_reads_and_filters_users_there(
    external: tuple[Config, PlainSlapd], bridge_client: LdapClient
) -> None:
    config, _ = external
    secret = new_token()
    TokenStore(bridge_client, SUFFIX).create("tests", token_hash(secret), ("scim:write",))
    app = create_app(config, client=bridge_client)
    scim = Scim(app.test_client(), secret)

    user = new_user(scim, name={"formatted": "Nur Aisyah"}, externalId="S1234567A")
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Aisyah"}],
    }
    patched = scim.patch(f"/Users/{user['id']}", ops)
    assert patched.status_code == 200, patched.json
    read = scim.get(f"/Users/{user['id']}")
    assert read.status_code == 200 and read.json["displayName"] == "Aisyah"
    found = scim.get('/Users?filter=externalId eq "S1234567A"').json
    assert [u["userName"] for u in found["Resources"]] == [user["userName"]]


def test_first_login_in_the_portal_works_there(
    external: tuple[Config, PlainSlapd], bridge_client: LdapClient
) -> None:
    config, _ = external
    services = build(config, bridge_client)
    person = make_person(services, name="Wei Ling")
    temporary = services.passwords.reset(person, "test")
    app = create_app(config, client=bridge_client)
    app.extensions["mims.portal"].params = FAST_PARAMS
    web: FlaskClient = app.test_client()
    login = {"loginId": str(person.login_id), "password": temporary}
    assert next_step(post(web, "login", login)) == "change_password"
    changed = post(web, "password", {"currentPassword": temporary, "newPassword": NEWER})
    assert changed == (200, {"next": "setup_answers"})
    answers = {"answers": ANSWERS, "currentPassword": NEWER}
    assert post(web, "answers", answers) == (200, {"next": "done"})
    web.post("/sspr/api/logout", json={})
    assert next_step(post(web, "login", login | {"password": NEWER})) == "done"


def next_step(answer: tuple[int, dict[str, object]]) -> object:
    status, body = answer
    assert status == 200, body
    return body["next"]


def test_export_config_names_the_database_and_needs_the_service_password(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "MIMS_LDAP_SUFFIX": SUFFIX}
    database = "olcDatabase={2}mdb,cn=config"
    printed = mims(
        "directory", "export-config", "--part", "config", "--database-dn", database, env=env
    )
    assert printed.returncode == 0, printed.stderr
    assert f"dn: olcOverlay=ppolicy,{database}\nchangetype: add" in printed.stdout
    assert f"dn: {database}\nchangetype: modify\nadd: olcAccess" in printed.stdout
    assert "userPassword:" not in printed.stdout
    no_password = mims("directory", "export-config", "--out", str(tmp_path / "ldif"), env=env)
    assert no_password.returncode == 1
    assert no_password.stderr.startswith("Error: [directory] password (MIMS_LDAP_PASSWORD)")
    assert len(no_password.stderr.splitlines()) == 1
    assert not (tmp_path / "ldif").exists()


def test_export_config_never_overwrites_a_file(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "MIMS_LDAP_PASSWORD": SERVICE_PASSWORD}
    (tmp_path / "mims-data.ldif").write_text("mine")
    result = mims("directory", "export-config", "--out", str(tmp_path), env=env)
    assert result.returncode == 1
    refusal = "exists already: remove it or choose another --out folder"
    assert result.stderr == f"Error: {tmp_path / 'mims-data.ldif'} {refusal}\n"
    assert (tmp_path / "mims-data.ldif").read_text() == "mine"
    assert not (tmp_path / "mims-config.ldif").exists()
