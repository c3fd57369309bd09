"""Policies, history, lockout, disable and admin reset, through the real slapd."""

from __future__ import annotations

import subprocess

import ldap3
import pytest

from bridge.config import Config
from bridge.core.people import NewPerson, Person, PersonChange
from bridge.directory import ppolicy
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import PolicyViolation
from bridge.services import Services, build
from tests.support.directory import SUFFIX, ldaps_server, tls_environment

GOOD = "Sunny7Garden42"
NEWER = "Purple9Rocket31"


@pytest.fixture
def mary(services: Services) -> Person:
    return services.people.create(
        NewPerson(
            full_name="Mary Tan",
            given_name="Mary",
            family_name="Tan",
            role="student",
            external_id="T1",
            school="Clementi Primary School",
            level="P4",
            class_name="4A",
            password=GOOD,
        )
    )


def person_dn(person: Person) -> str:
    return f"uid={person.login_id.local},ou=students,ou=people,{SUFFIX}"


def bind(slapd: ManagedSlapd, person: Person, password: str) -> tuple[int, str | None]:
    """Bind as the person over ldaps, as an SSO tool does; return the result and ppolicy error."""
    server = ldaps_server(slapd)
    connection = ldap3.Connection(server, person_dn(person), password)
    connection.open()
    connection.bind(controls=[ppolicy.REQUEST])
    result = dict(connection.result)
    connection.unbind()
    return result["result"], ppolicy.error(result)


def codes(error: pytest.ExceptionInfo[PolicyViolation]) -> list[str]:
    return [code for code, _ in error.value.failures]


def test_every_person_points_at_their_policy_entry(mary: Person, admin: ldap3.Connection) -> None:
    admin.search(
        person_dn(mary),
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["pwdPolicySubentry", "mimsPolicyName", "userPassword"],
    )
    entry = admin.entries[0]
    assert entry.pwdPolicySubentry.value == f"cn=mims,ou=policies,{SUFFIX}"
    assert mary.policy == "mims"
    stored = entry.userPassword.value  # Debian's argon2 module leaves trailing bytes: binds work
    raw = stored if isinstance(stored, bytes) else stored.encode()
    assert raw.startswith(b"{ARGON2}$argon2i$")  # hashed by slapd, never in clear
    assert GOOD.encode() not in raw


def test_policy_entries_mirror_the_configuration(admin: ldap3.Connection) -> None:
    admin.search(f"ou=policies,{SUFFIX}", "(cn=icon)", attributes=["*"])
    icon = admin.entries[0]
    assert (icon.pwdMinLength.value, icon.pwdMaxLength.value, icon.pwdInHistory.value) == (
        "8",
        "24",
        "3",
    )
    lockout = (icon.pwdMaxFailure.value, icon.pwdLockout.value, icon.pwdMustChange.value)
    assert lockout == ("5", "TRUE", "TRUE")


def test_a_bad_password_gets_every_failed_rule_and_changes_nothing(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    with pytest.raises(PolicyViolation) as error:
        services.passwords.set_password(mary, "marytan")
    assert codes(error) == [
        "too_short",
        "needs_digit",
        "needs_upper",
        "contains_name",
        "contains_login_id",
        "too_weak",
    ]
    assert "Add a number" in str(error.value)
    assert bind(slapd, mary, GOOD) == (0, None)


def test_a_reused_password_is_refused_by_slapd_on_the_bridge_path(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    services.passwords.set_password(mary, NEWER)
    with pytest.raises(PolicyViolation) as error:
        services.passwords.set_password(mary, GOOD)  # the first password, from the history
    assert codes(error) == ["in_history"]
    assert bind(slapd, mary, NEWER) == (0, None)


def test_a_person_cannot_change_their_own_password_over_ldap(
    mary: Person, slapd: ManagedSlapd
) -> None:
    server = ldaps_server(slapd)
    connection = ldap3.Connection(server, person_dn(mary), GOOD, auto_bind=True)
    connection.extend.standard.modify_password(person_dn(mary), GOOD, "Weak1but-Long-Enough")
    assert connection.result["description"] == "insufficientAccessRights"
    connection.unbind()
    assert bind(slapd, mary, GOOD) == (0, None)


def test_failed_binds_lock_the_account_and_unlock_lifts_it(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    for _ in range(5):
        assert bind(slapd, mary, "wrong")[0] == 49
    assert bind(slapd, mary, GOOD) == (49, "accountLocked")
    locked = services.people.get(mary.id)
    assert (locked.lock.locked, locked.lock.failures) == (True, 5)
    assert services.passwords.sign_in(locked, GOOD).locked
    services.passwords.unlock(locked, "test")
    assert bind(slapd, mary, GOOD) == (0, None)
    assert services.people.get(mary.id).lock.locked is False


def test_an_unlocked_account_starts_counting_failures_again_from_zero(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    """One typo after an unlock does not lock again: the failure times went with the lock."""
    for _ in range(5):
        assert bind(slapd, mary, "wrong")[0] == 49
    services.passwords.unlock(services.people.get(mary.id), "test")
    assert services.people.get(mary.id).lock.failures == 0
    assert bind(slapd, mary, "wrong") == (49, None)
    assert bind(slapd, mary, GOOD) == (0, None)


def test_an_unlock_through_people_update_clears_failures_too(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    for _ in range(5):
        bind(slapd, mary, "wrong")
    unlocked = services.people.update(mary.id, PersonChange(), locked=False)
    assert (unlocked.lock.locked, unlocked.lock.failures) == (False, 0)
    assert bind(slapd, mary, "wrong") == (49, None)
    assert bind(slapd, mary, GOOD) == (0, None)


def test_failures_collected_while_disabled_are_gone_when_enabled(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    services.people.update(mary.id, PersonChange(disabled=True))
    for _ in range(5):
        assert bind(slapd, mary, "wrong")[0] == 49
    enabled = services.people.update(mary.id, PersonChange(disabled=False))
    assert (enabled.lock.locked, enabled.lock.failures) == (False, 0)
    assert bind(slapd, mary, "wrong") == (49, None)
    assert bind(slapd, mary, GOOD) == (0, None)


def test_disable_is_not_a_lock_and_survives_an_unlock(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    disabled = services.people.update(mary.id, PersonChange(disabled=True))
    assert (disabled.active, disabled.lock.locked) == (False, False)
    assert bind(slapd, mary, GOOD)[0] == 49  # the ACL refuses auth
    services.passwords.unlock(disabled, "test")
    assert bind(slapd, mary, GOOD)[0] == 49
    services.people.update(mary.id, PersonChange(disabled=False))
    assert bind(slapd, mary, GOOD) == (0, None)


def test_admin_reset_sets_a_temporary_password_that_must_be_changed(
    services: Services, mary: Person, slapd: ManagedSlapd
) -> None:
    for _ in range(5):
        bind(slapd, mary, "wrong")
    temporary = services.passwords.reset(services.people.get(mary.id), "teacher@school")
    assert not any(ch in temporary for ch in "0O1lI")
    assert bind(slapd, mary, temporary) == (0, "changeAfterReset")  # the lock is gone too
    after = services.people.get(mary.id)
    assert after.lock.locked is False
    whoami = subprocess.run(
        [
            "ldapwhoami",
            "-H",
            str(slapd.ldaps_url()),
            "-D",
            person_dn(mary),
            "-w",
            temporary,
            "-e",
            "ppolicy",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=tls_environment(slapd),
    )
    assert "Password must be changed" in whoami.stdout + whoami.stderr
    services.passwords.set_password(after, NEWER)  # the first-login change
    assert bind(slapd, mary, NEWER) == (0, None)


def test_a_reset_is_recorded_without_the_password(
    services: Services, mary: Person, admin: ldap3.Connection
) -> None:
    temporary = services.passwords.reset(mary, "teacher@school")
    admin.search(
        person_dn(mary),
        "(objectClass=*)",
        ldap3.BASE,
        attributes=["mimsPasswordResetBy", "mimsPasswordResetTime"],
    )
    assert admin.entries[0].mimsPasswordResetBy.value == "teacher@school"
    assert admin.entries[0].mimsPasswordResetTime.value is not None
    assert temporary not in str(admin.entries[0])


def test_rules_choose_the_policy_and_moves_follow_them(
    config: Config, directory: LdapClient
) -> None:
    rule = {"policy": "icon", "role": "student", "level": "P2"}
    services = build(config.with_overrides(passwords={"rules": (rule,)}), directory)
    young = services.people.create(
        NewPerson(
            full_name="Ali Bin Osman",
            role="student",
            level="P2",
            external_id="Y1",
            password="Kite2go"[:6] + "Xy8",
        )
    )
    assert young.policy == "icon"
    older = services.people.update(young.id, PersonChange(level="P4"))
    assert older.policy == "mims"
    with pytest.raises(PolicyViolation) as error:
        services.passwords.set_password(older, "Kite2goXy8")  # fine for iCON, too short for MIMS
    assert codes(error) == ["too_short"]
