"""SSSD, as a school's Linux machines run it: docs/consumers/sssd.md's sssd.conf, the real sssd.

People and groups are looked up with `getent -s sss`, sign-ins go through pamtester and a PAM
service of pam_sss alone. Password changes (`ldap_chpass_uri`) go to a real
`mims password-service` over the same data folder, started for the module. One SSSD runs per
machine, so every SSSD test is in this module (the tests run with --dist loadfile: one worker
takes all of them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import ldap3
import pytest
from ldap3.utils.conv import escape_filter_chars

from bridge.config import Config
from bridge.core.people import NewPerson, Person
from bridge.directory.client import LdapClient
from bridge.directory.settings import client_settings
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import PolicyViolation
from bridge.services import build
from tests.support.consumers import (
    EXAMPLE_CA,
    EXAMPLE_PASSWORD_URI,
    EXAMPLE_SECRET,
    EXAMPLE_URI,
    NEW_PASSWORD,
    PASSWORD,
    Cast,
    ServiceAccount,
)
from tests.support.directory import admin_connection
from tests.support.password_service import PasswordService, running_password_service
from tests.support.sssd import (
    EXAMPLE_ACCOUNT_DN,
    Answer,
    getent,
    machine_changes_passwords_through_sssd,
    missing_programs,
    pam_service,
    pamtester,
    running_sssd,
    sssd_conf,
)
from tests.support.sssd import passwd as real_passwd

pytestmark = [
    pytest.mark.skipif(
        bool(missing_programs()),
        reason=f"SSSD's programs are not installed: {', '.join(missing_programs())} "
        "(Debian: sssd-ldap sssd-tools libpam-sss libnss-sss pamtester)",
    ),
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="SSSD runs as root, and pamtester needs a PAM service in /etc/pam.d",
    ),
]

SHADOW_EXPIRE_PAST = "19000"  # days since 1970: 8 January 2022
SCHOOL = "Clementi Primary School"  # the cast's


def uid(person: Person) -> str:
    """Return the name a person signs in to Linux with: their login ID's local part."""
    return person.login_id.local


@dataclass(frozen=True)
class Posix:
    """A person's or group's numbers and names as the directory holds them."""

    name: str
    number: int
    home: str = ""
    shell: str = ""


def posix_person(slapd: ManagedSlapd, person: Person) -> Posix:
    """Read a person's posix attributes from the directory."""
    with admin_connection(slapd) as connection:
        connection.search(
            f"ou=people,{slapd.suffix}",
            f"(mail={person.login_id})",
            ldap3.SUBTREE,
            attributes=["uid", "uidNumber", "homeDirectory", "loginShell"],
        )
        (entry,) = connection.entries
        return Posix(
            str(entry.uid),
            int(entry.uidNumber.value),
            str(entry.homeDirectory),
            str(entry.loginShell),
        )


def posix_group(slapd: ManagedSlapd, name: str) -> Posix:
    """Read a group's NSS name and gidNumber from the directory, by its human name (cn)."""
    with admin_connection(slapd) as connection:
        connection.search(
            f"ou=groups,{slapd.suffix}",
            f"(cn={escape_filter_chars(name)})",
            ldap3.SUBTREE,
            attributes=["mimsPosixName", "gidNumber"],
        )
        (entry,) = connection.entries
        return Posix(str(entry.mimsPosixName), int(entry.gidNumber.value))


@dataclass(frozen=True)
class Expired:
    """An active person whose account expired (shadowExpire in the past), made so by hand."""

    person: Person
    password: str = PASSWORD


@pytest.fixture(scope="module")
def expired(config: Config, slapd: ManagedSlapd) -> Iterator[Expired]:
    # No product path sets a date in the past (disabling sets 1): the test writes one itself.
    client = LdapClient(client_settings(config))
    people = build(config, client).people
    new = NewPerson(full_name="Ong Kah Hui", role="student", password=PASSWORD, school=SCHOOL)
    person = people.create(new)
    with admin_connection(slapd) as connection:
        connection.search(f"ou=people,{slapd.suffix}", f"(mail={person.login_id})", ldap3.SUBTREE)
        (entry,) = connection.entries
        changed = connection.modify(
            entry.entry_dn, {"shadowExpire": [(ldap3.MODIFY_REPLACE, [SHADOW_EXPIRE_PAST])]}
        )
        assert changed, connection.result
    yield Expired(person)
    people.delete(person.id)
    client.close()


@pytest.fixture(scope="module")
def password_service(config: Config, slapd: ManagedSlapd) -> Iterator[PasswordService]:
    with running_password_service(config, slapd) as service:
        yield service


@pytest.fixture(scope="module")
def sssd(
    slapd: ManagedSlapd,
    password_service: PasswordService,
    sso_account: ServiceAccount,
    cast: Cast,
    expired: Expired,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    url = slapd.ldaps_url()
    assert url is not None
    conf = sssd_conf(
        {
            EXAMPLE_URI: url,
            EXAMPLE_PASSWORD_URI: password_service.url,
            EXAMPLE_CA: str(slapd.ca_file),
            EXAMPLE_ACCOUNT_DN: sso_account.dn,
            EXAMPLE_SECRET: sso_account.secret,
        }
    )
    with ExitStack() as stack:
        stack.enter_context(running_sssd(conf, tmp_path_factory.mktemp("sssd"), uid(cast.student)))
        stack.enter_context(pam_service())
        yield


def sign_in(person: Person, password: str) -> Answer:
    """Sign in as a person does at a login prompt: the password, then the account's checks."""
    return pamtester(uid(person), "authenticate", "acct_mgmt", answers=(password,))


# -- what getent sees ------------------------------------------------------------------------


@pytest.mark.usefixtures("sssd")
def test_namesakes_are_two_people_with_their_own_numbers_home_and_shell(
    slapd: ManagedSlapd, cast: Cast
) -> None:
    seen = {}
    for person in (cast.student, cast.teacher):
        posix = posix_person(slapd, person)
        answer = getent("passwd", uid(person))
        assert answer.returncode == 0, answer
        name, _, number, group, gecos, home, shell = answer.stdout.strip().split(":")
        assert (name, int(number), int(group)) == (uid(person), posix.number, posix.number)
        assert (gecos, home, shell) == (person.full_name, posix.home, posix.shell)
        assert home == f"/home/{uid(person)}" and shell == "/bin/bash"  # the defaults
        seen[name] = int(number)
    assert len(seen) == 2 and len(set(seen.values())) == 2


@pytest.mark.usefixtures("sssd")
def test_each_persons_primary_group_is_their_own(slapd: ManagedSlapd, cast: Cast) -> None:
    posix = posix_person(slapd, cast.student)
    answer = getent("group", uid(cast.student))
    assert answer.returncode == 0, answer
    name, _, number, _members = answer.stdout.strip().split(":")
    assert (name, int(number)) == (uid(cast.student), posix.number)


@pytest.mark.usefixtures("sssd")
def test_class_groups_are_visible_with_their_members(
    slapd: ManagedSlapd, cast: Cast, expired: Expired
) -> None:
    group = posix_group(slapd, f"{SCHOOL} / P4 / 4A")
    answer = getent("group", group.name)
    assert answer.returncode == 0, answer
    name, _, number, members = answer.stdout.strip().split(":")
    assert (name, int(number)) == (group.name, group.number)
    # Everyone of the cast is in 4A (the teacher as its form teacher); Ong Kah Hui is in none.
    in_4a = (cast.student, cast.teacher, cast.locked, cast.disabled, cast.must_change)
    assert set(members.split(",")) == {uid(person) for person in in_4a}
    assert uid(expired.person) not in members.split(",")
    memberships = getent("initgroups", uid(cast.student))
    assert str(group.number) in memberships.stdout.split(), memberships


@pytest.mark.usefixtures("sssd")
def test_someone_not_in_the_directory_is_not_seen() -> None:
    assert getent("passwd", "nobody_of_this_school").returncode == 2


# -- signing in ------------------------------------------------------------------------------


@pytest.mark.usefixtures("sssd")
def test_an_active_person_signs_in(cast: Cast) -> None:
    for person in (cast.student, cast.teacher):
        answer = sign_in(person, cast.password)
        assert answer.returncode == 0, answer
        assert "account management done" in answer.stdout


@pytest.mark.usefixtures("sssd")
def test_a_wrong_password_is_refused(cast: Cast) -> None:
    answer = sign_in(cast.teacher, "Wrong-Kettle-Orbit-41")
    assert answer.returncode != 0
    assert "Authentication failure" in answer.output


@pytest.mark.usefixtures("sssd")
def test_someone_not_in_the_directory_cannot_sign_in() -> None:
    answer = pamtester("nobody_of_this_school", "authenticate", answers=(PASSWORD,))
    assert answer.returncode != 0
    assert "User not known to the underlying authentication module" in answer.output


@pytest.mark.usefixtures("sssd")
def test_a_locked_person_is_refused_even_with_the_right_password(cast: Cast) -> None:
    answer = sign_in(cast.locked, cast.password)
    assert answer.returncode != 0
    assert "Authentication failure" in answer.output


@pytest.mark.usefixtures("sssd")
def test_a_locked_person_is_refused_without_a_password_too(cast: Cast) -> None:
    # What an SSH key sign-in asks: only the account checks (ppolicy's lock).
    answer = pamtester(uid(cast.locked), "acct_mgmt")
    assert answer.returncode != 0
    assert "Permission denied" in answer.output


@pytest.mark.usefixtures("sssd")
def test_a_disabled_person_is_refused_with_or_without_a_password(cast: Cast) -> None:
    answer = sign_in(cast.disabled, cast.password)
    assert answer.returncode != 0
    assert "Authentication failure" in answer.output
    answer = pamtester(uid(cast.disabled), "acct_mgmt")  # shadowExpire: 1
    assert answer.returncode != 0
    assert "User account has expired" in answer.output


@pytest.mark.usefixtures("sssd")
def test_an_expired_account_is_refused_after_the_right_password(expired: Expired) -> None:
    answer = sign_in(expired.person, expired.password)
    assert "successfully authenticated" in answer.stdout
    assert answer.returncode != 0
    assert "User account has expired" in answer.output


@pytest.mark.usefixtures("sssd")
def test_a_temporary_password_must_be_changed(cast: Cast) -> None:
    answer = sign_in(cast.must_change, cast.temporary)
    assert answer.returncode != 0
    assert "Password expired. Change your password now." in answer.stdout
    assert "new one required" in answer.stderr


# -- changing a password from Linux -----------------------------------------------------------


@pytest.fixture(scope="module")
def newcomer(config: Config) -> Iterator[Callable[[str], Person]]:
    """Make people of their own for the password changes, so the cast keeps its passwords."""
    client = LdapClient(client_settings(config))
    people = build(config, client).people
    made: list[Person] = []

    def make(name: str) -> Person:
        family, given = name.split(" ", 1)
        new = NewPerson(
            full_name=name,
            role="student",
            password=PASSWORD,
            school=SCHOOL,
            given_name=given,
            family_name=family,
        )
        made.append(people.create(new))
        return made[-1]

    yield make
    for person in made:
        people.delete(person.id)
    client.close()


def passwd(slapd: ManagedSlapd, person: Person, *answers: str, expired: bool = False) -> Answer:
    """Change a password as the person does with `passwd`: pam_sss's chauthtok, as them.

    ``expired``: as at sign-in with a temporary password (PAM_CHANGE_EXPIRED_AUTHTOK).
    """
    operation = "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)" if expired else "chauthtok"
    number = posix_person(slapd, person).number
    return pamtester(uid(person), operation, answers=answers, uid=number)


def portal_words(config: Config, person: Person, new: str) -> str:
    """Return what the portal says of a new password that breaks its rules."""
    client = LdapClient(client_settings(config))
    try:
        with pytest.raises(PolicyViolation) as portal:
            build(config, client).passwords.check(person, new)
    finally:
        client.close()
    return str(portal.value)


@pytest.mark.usefixtures("sssd")
def test_passwd_changes_the_password_through_the_password_service(
    slapd: ManagedSlapd, newcomer: Callable[[str], Person], password_service: PasswordService
) -> None:
    person = newcomer("Chen Jia Hui")
    answer = passwd(slapd, person, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert answer.returncode == 0, (answer, password_service.output())
    assert "authentication token altered successfully" in answer.stdout
    assert "password changed from" in password_service.output()
    assert str(person.login_id) not in password_service.output()  # never logged
    assert sign_in(person, NEW_PASSWORD).returncode == 0
    assert "Authentication failure" in sign_in(person, PASSWORD).output


@pytest.mark.usefixtures("sssd")
@pytest.mark.parametrize(
    "new",
    [
        "Mango-Kettle-Orbit-Fig",  # no digit: a rule slapd's ppolicy cannot check
        "Wong-Kai-Ming-Kettle-42",  # the person's name
        "kaiming",  # several rules at once: every one is listed
    ],
)
def test_passwd_refuses_a_password_breaking_a_rule_with_the_portals_words(
    config: Config,
    slapd: ManagedSlapd,
    newcomer: Callable[[str], Person],
    password_service: PasswordService,
    new: str,
) -> None:
    person = newcomer("Wong Kai Ming")
    words = portal_words(config, person, new)
    answer = passwd(slapd, person, PASSWORD, new, new)
    assert answer.returncode != 0
    assert f"Password change failed. Server message: {words}" in answer.stdout, answer
    # SSSD reports the refusal (constraintViolation) to PAM as "a new one required".
    assert "Authentication token is no longer valid; new one required" in answer.stderr
    assert sign_in(person, PASSWORD).returncode == 0
    assert sign_in(person, new).returncode != 0


@pytest.mark.usefixtures("sssd")
def test_a_temporary_password_is_replaced_from_linux(
    config: Config,
    slapd: ManagedSlapd,
    newcomer: Callable[[str], Person],
    password_service: PasswordService,
) -> None:
    person = newcomer("Siti Nurhaliza")
    client = LdapClient(client_settings(config))
    temporary = build(config, client).passwords.reset(person, "consumer-test")
    client.close()
    assert "Password expired" in sign_in(person, temporary).stdout
    answer = passwd(slapd, person, temporary, NEW_PASSWORD, NEW_PASSWORD, expired=True)
    assert answer.returncode == 0, (answer, password_service.output())
    after = sign_in(person, NEW_PASSWORD)  # no longer must-change: acct_mgmt passes
    assert after.returncode == 0, after
    assert "account management done" in after.stdout


@pytest.mark.usefixtures("sssd")
def test_passwd_with_a_wrong_current_password_changes_nothing(
    slapd: ManagedSlapd, newcomer: Callable[[str], Person]
) -> None:
    person = newcomer("Lee Hui Min")
    answer = passwd(slapd, person, "Wrong-Kettle-Orbit-41", NEW_PASSWORD, NEW_PASSWORD)
    # The bind is refused: SSSD says so in its own words and asks for no new password.
    assert answer.returncode != 0
    assert "Password change failed. Server message: Old password not accepted." in answer.stdout
    assert "New Password" not in answer.stderr
    assert "Authentication failure" in answer.stderr
    assert sign_in(person, PASSWORD).returncode == 0
    assert sign_in(person, NEW_PASSWORD).returncode != 0


@pytest.mark.usefixtures("sssd")
@pytest.mark.skipif(
    not machine_changes_passwords_through_sssd(),
    reason="no passwd, or /etc/pam.d/common-password has no pam_sss (pam-auth-update --enable sss)",
)
def test_the_real_passwd_program_changes_the_password_and_shows_the_portals_words(
    config: Config, slapd: ManagedSlapd, newcomer: Callable[[str], Person]
) -> None:
    # What a person at a terminal sees: `passwd` through the machine's own PAM stack.
    person = newcomer("Koh Bee Hoon")
    number = posix_person(slapd, person).number
    bad = "Mango-Kettle-Orbit-Fig"
    words = portal_words(config, person, bad)
    refused = real_passwd(number, (PASSWORD, bad, bad))
    assert refused.returncode != 0
    assert f"Password change failed. Server message: {words}" in refused.stdout
    assert "passwd: password unchanged" in refused.stderr
    changed = real_passwd(number, (PASSWORD, NEW_PASSWORD, NEW_PASSWORD))
    assert changed.returncode == 0, changed
    assert "passwd: password updated successfully" in changed.stderr
    assert sign_in(person, NEW_PASSWORD).returncode == 0
