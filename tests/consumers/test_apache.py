"""Apache mod_authnz_ldap with the configuration docs/consumers/apache.md publishes.

Debian's apache2 runs the published mims-ldap.conf (the example site's URI, CA file, service
account and secret swapped for the session slapd's and an ``sso`` account's) with a
small main configuration of its own (tests/support/apache.py). Each protected location echoes
who Apache signed in: ``X-Remote-User`` (what was typed) and ``X-Mail`` (the entry's ``mail``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import Config
from bridge.core.people import NewPerson, Person, PersonChange
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.services import Services, build
from tests.support.apache import Apache, Response, missing, serving
from tests.support.consumers import (
    EXAMPLE_CA,
    EXAMPLE_SECRET,
    EXAMPLE_URI,
    Cast,
    ServiceAccount,
    for_site,
    published_files,
)

EXAMPLE_BIND_DN = "cn=intranet,ou=services,dc=mims,dc=example"
MODULES = {"ldap_module": "mod_ldap.so", "authnz_ldap_module": "mod_authnz_ldap.so"}

pytestmark = pytest.mark.skipif(missing(MODULES) is not None, reason=str(missing(MODULES)))

# What the application behind the published locations would read; here, echoed as headers.
ECHO = (
    'Header set X-Remote-User "expr=%{REMOTE_USER}"\n'
    'Header set X-Mail "expr=%{reqenv:AUTHENTICATE_MAIL}"\n'
)
BY_MAIL = "/login-id/index.html"
BY_UID = "/uid/index.html"


@pytest.fixture(scope="module")
def apache(slapd: ManagedSlapd, sso_account: ServiceAccount) -> Iterator[Apache]:
    def site(folder: Path) -> str:
        # A copy www-data can read, as /etc/mims/ca.pem is on a server.
        ca = shutil.copy(slapd.layout.tls_dir / "ca.pem", folder / "ca.pem")
        published = published_files("apache")["mims-ldap.conf"]
        values = {
            EXAMPLE_URI: str(slapd.ldaps_url()),
            EXAMPLE_CA: str(ca),
            EXAMPLE_BIND_DN: sso_account.dn,
            EXAMPLE_SECRET: sso_account.secret,
        }
        return for_site(published, values) + ECHO

    with serving(site, MODULES, pages=(BY_MAIL[1:], BY_UID[1:])) as running:
        yield running


@pytest.fixture(scope="module")
def people(config: Config, slapd: ManagedSlapd) -> Iterator[Services]:
    """The directory's services, for a test that changes a person of its own."""
    client = LdapClient(client_settings(config))
    yield build(config, client)
    client.close()


def uid(person: Person) -> str:
    """Return the person's ``uid``: their login ID's local part."""
    return str(person.login_id).split("@", 1)[0]


def signed_in_as(answer: Response, person: Person) -> None:
    assert answer.status == 200
    assert answer.headers["X-Mail"] == str(person.login_id)


def test_a_person_signs_in_with_their_login_id(apache: Apache, cast: Cast) -> None:
    answer = apache.get(BY_MAIL, str(cast.student.login_id), cast.password)
    signed_in_as(answer, cast.student)
    assert answer.headers["X-Remote-User"] == str(cast.student.login_id)


def test_namesakes_each_sign_in_as_themselves_by_login_id(apache: Apache, cast: Cast) -> None:
    for person in (cast.student, cast.teacher):
        signed_in_as(apache.get(BY_MAIL, str(person.login_id), cast.password), person)


def test_namesakes_each_sign_in_as_themselves_by_uid(apache: Apache, cast: Cast) -> None:
    for person in (cast.student, cast.teacher):
        answer = apache.get(BY_UID, uid(person), cast.password)
        assert answer.status == 200, apache.error_log()
        signed_in_as(answer, person)
        assert answer.headers["X-Remote-User"] == uid(person)


@pytest.mark.parametrize("path", [BY_MAIL, BY_UID])
def test_a_wrong_password_is_refused(apache: Apache, cast: Cast, path: str) -> None:
    name = str(cast.student.login_id) if path == BY_MAIL else uid(cast.student)
    assert apache.get(path, name, "Not-The-Password-99").status == 401


def test_a_locked_account_is_refused(apache: Apache, cast: Cast) -> None:
    assert apache.get(BY_MAIL, str(cast.locked.login_id), cast.password).status == 401


def test_a_disabled_account_is_refused(apache: Apache, cast: Cast) -> None:
    assert apache.get(BY_MAIL, str(cast.disabled.login_id), cast.password).status == 401


def test_a_temporary_password_does_not_sign_in(apache: Apache, cast: Cast) -> None:
    answer = apache.get(BY_MAIL, str(cast.must_change.login_id), cast.temporary)
    assert answer.status == 401


def test_a_person_disabled_after_signing_in_is_refused_at_the_next_request(
    apache: Apache, people: Services, cast: Cast
) -> None:
    person = people.people.create(
        NewPerson(
            full_name="Ong Kai Wen",
            role="student",
            password=cast.password,
            school="Clementi Primary School",
            level="P4",
            class_name="4A",
        )
    )
    try:
        login = str(person.login_id)
        signed_in_as(apache.get(BY_MAIL, login, cast.password), person)
        people.people.update(person.id, PersonChange(disabled=True))
        assert apache.get(BY_MAIL, login, cast.password).status == 401
    finally:
        people.people.delete(person.id)
