"""SimpleSAMLphp, the school's SSO, over the directory: the configuration of
docs/consumers/simplesamlphp.md, with a pysaml2 service provider in place of an app.

Every sign-in starts from a fresh browser: a reused one would sign in again through the IdP's
session without a password.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.directory.slapd import ManagedSlapd
from tests.support.consumers import Cast, ServiceAccount, published_files
from tests.support.saml import (
    IdentityProvider,
    ServiceProvider,
    SignIn,
    Site,
    missing,
    running_identity_provider,
)

PORTAL = "https://mims.school.example/sspr/"  # the page's example [sspr] portal_url
WRONG_LOGIN = "Incorrect username or password"

MISSING = missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def idp(
    slapd: ManagedSlapd,
    sso_account: ServiceAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[IdentityProvider]:
    ldaps_url, ca_file = slapd.ldaps_url(), slapd.ca_file
    assert ldaps_url is not None and ca_file is not None
    site = Site(ldaps_url, ca_file, sso_account.dn, sso_account.secret)
    folder = tmp_path_factory.mktemp("simplesamlphp")
    with running_identity_provider(published_files("simplesamlphp"), site, folder) as running:
        yield running


@pytest.fixture(scope="module")
def service_provider(idp: IdentityProvider) -> ServiceProvider:
    return ServiceProvider(idp)


def refused(outcome: SignIn, idp: IdentityProvider) -> None:
    """Assert the app got nothing and the person is back at the login page, with the link
    to the password portal (in words: SimpleSAMLphp shows an untranslated text otherwise)."""
    assert not outcome.signed_in, outcome.attributes
    assert WRONG_LOGIN in outcome.page, idp.log()[-3000:]
    assert "temporary password" in outcome.links[PORTAL], outcome.links
    assert "not translated" not in outcome.links[PORTAL]


def test_an_active_student_signs_in_with_her_name_class_and_groups(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    student = cast.student
    outcome = service_provider.sign_in(str(student.login_id), cast.password)
    assert outcome.signed_in, idp.log()[-3000:]
    login_id = str(student.login_id)
    attributes = outcome.attributes
    assert outcome.name_id == login_id
    assert attributes["mail"] == [login_id]
    assert attributes["uid"] == [login_id.split("@")[0]]
    assert attributes["givenName"] == ["Mei Ling"]
    assert attributes["sn"] == ["Tan"]
    # groups: the name (first cn) of each memberOf DN, the class group among them.
    names = [dn.split(",", 1)[0].removeprefix("cn=") for dn in attributes["memberOf"]]
    assert sorted(attributes["groups"]) == sorted(names)
    assert "Clementi Primary School / P4 / 4A" in attributes["groups"]


def test_the_assertion_names_school_class_role_and_display_name(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    outcome = service_provider.sign_in(str(cast.student.login_id), cast.password)
    assert outcome.signed_in, idp.log()[-3000:]
    assert {
        name: outcome.attributes.get(name) for name in ("displayName", "o", "ou", "employeeType")
    } == {
        "displayName": ["Tan Mei Ling"],
        "o": ["Clementi Primary School"],
        "ou": ["4A"],
        "employeeType": ["student"],
    }


def test_the_teacher_namesake_signs_in_as_herself(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    outcome = service_provider.sign_in(str(cast.teacher.login_id), cast.password)
    assert outcome.signed_in, idp.log()[-3000:]
    assert outcome.name_id == str(cast.teacher.login_id) != str(cast.student.login_id)
    assert outcome.attributes["mail"] == [str(cast.teacher.login_id)]


def test_the_namesakes_sign_in_by_uid_each_as_herself(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    # uid must be unique across the directory, or the IdP finds two people and signs in none.
    for person in (cast.student, cast.teacher):
        uid = str(person.login_id).split("@")[0]
        outcome = service_provider.sign_in(uid, cast.password)
        assert outcome.signed_in, idp.log()[-3000:]
        assert outcome.name_id == str(person.login_id)
        assert outcome.attributes["uid"] == [uid]


def test_a_wrong_password_is_refused(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    refused(service_provider.sign_in(str(cast.student.login_id), "Not-The-Password-99"), idp)


def test_a_locked_account_is_refused_with_the_right_password(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    refused(service_provider.sign_in(str(cast.locked.login_id), cast.password), idp)


def test_a_disabled_account_is_refused_with_the_right_password(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    refused(service_provider.sign_in(str(cast.disabled.login_id), cast.password), idp)


def test_a_temporary_password_never_signs_in_to_an_app_and_points_to_the_portal(
    service_provider: ServiceProvider, cast: Cast, idp: IdentityProvider
) -> None:
    refused(service_provider.sign_in(str(cast.must_change.login_id), cast.temporary), idp)
