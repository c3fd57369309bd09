"""Challenge answers, SSPR counters and single-use password writes, through the real slapd."""

from __future__ import annotations

import threading

import ldap3
import pytest

from bridge.core.accounts import StaleToken
from bridge.core.challenges import FAST_PARAMS, AttemptLimit, hash_answer
from bridge.core.people import NewPerson, Person
from bridge.directory.answers import AnswerStore
from bridge.directory.client import LdapClient
from bridge.directory.slapd import ManagedSlapd
from bridge.errors import PolicyViolation
from bridge.services import Services
from tests.support.directory import SUFFIX, closing, ldaps_server

THREE = AttemptLimit(3, None)

GOOD = "Sunny7Garden42"


@pytest.fixture
def mary(services: Services) -> Person:
    return services.people.create(
        NewPerson(full_name="Mary Tan", role="student", school="S", level="P4", password=GOOD)
    )


@pytest.fixture
def answers(directory: LdapClient) -> AnswerStore:
    """The store itself (the services wrap it for the audit trail)."""
    return AnswerStore(directory, SUFFIX)


def test_a_person_without_answers_has_none(answers: AnswerStore, mary: Person) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    assert (state.stored, state.answers_set, state.attempts.failures) == ((), False, 0)
    assert state.person_id == mary.id and state.version


def test_answers_are_stored_hashed_and_readable_by_the_bridge_only(
    answers: AnswerStore, mary: Person, admin: ldap3.Connection, slapd: ManagedSlapd
) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    stored = [hash_answer("favourite_colour", "Blue", FAST_PARAMS)]
    answers.set_answers(state.key, stored, recovery_email="mum@example.org")
    after = answers.get(state.key)
    assert after.stored == tuple(stored) and after.answers_set
    admin.search(state.key, "(objectClass=*)", ldap3.BASE, attributes=["*"])
    entry = admin.entries[0]
    assert "blue" not in str(entry).lower().replace("favourite_colour", "")
    assert entry.mimsRecoveryEmail.value == "mum@example.org"
    assert entry.mimsChallengeSetTime.value is not None
    # A person reading their own entry does not see the hashes.
    server = ldaps_server(slapd)
    with closing(ldap3.Connection(server, state.key, GOOD, auto_bind=True)) as person:
        person.search(state.key, "(objectClass=*)", ldap3.BASE, attributes=["mimsChallengeAnswer"])
        assert not person.response[0]["raw_attributes"].get("mimsChallengeAnswer")


def test_attempts_count_up_and_close_sspr(answers: AnswerStore, mary: Person) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    for expected in (1, 2):
        assert answers.claim_attempt(state.key, THREE)
        attempts = answers.get(state.key).attempts
        assert (attempts.failures, attempts.locked_time) == (expected, None)
    assert answers.claim_attempt(state.key, THREE)
    closed = answers.get(state.key).attempts
    assert closed.failures == 3 and closed.locked_time is not None
    assert not answers.claim_attempt(state.key, THREE)
    assert answers.get(state.key).attempts.failures == 3
    answers.reopen(state.key)
    assert answers.get(state.key).attempts.failures == 0


def test_concurrent_claims_never_pass_the_limit(answers: AnswerStore, mary: Person) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    granted: list[bool] = []

    def claim() -> None:
        for _ in range(5):
            granted.append(answers.claim_attempt(state.key, AttemptLimit(7, None)))
        answers.directory.close()

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 7
    assert answers.get(state.key).attempts.failures == 7


def test_admin_reset_and_unlock_reopen_sspr(
    answers: AnswerStore, mary: Person, services: Services
) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    for lift in (
        lambda: services.passwords.reset(mary, "test"),
        lambda: services.passwords.unlock(mary, "test"),
    ):
        for _ in range(3):
            answers.claim_attempt(state.key, THREE)
        assert not answers.claim_attempt(state.key, THREE)
        lift()
        after = answers.get(state.key).attempts
        assert (after.failures, after.locked_time) == (0, None)


def test_a_password_write_works_once_per_version(
    answers: AnswerStore, mary: Person, services: Services
) -> None:
    services.passwords.reset(mary, "test")
    state = answers.find(mary.login_id)
    assert state is not None and state.must_change_password
    answers.set_password_once(state.key, "Purple9Rocket31", state.version)
    after = answers.get(state.key)
    assert not after.must_change_password
    assert services.passwords.sign_in(mary, "Purple9Rocket31").ok
    with pytest.raises(StaleToken):
        answers.set_password_once(state.key, "Orange8Comet55", state.version)


def test_slapd_refuses_a_reused_password_on_a_single_use_write(
    answers: AnswerStore, mary: Person
) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    with pytest.raises(PolicyViolation) as error:
        answers.set_password_once(state.key, GOOD, state.version)
    assert error.value.failures[0][0] == "in_history"


def test_must_set_answers_flag(answers: AnswerStore, mary: Person) -> None:
    state = answers.find(mary.login_id)
    assert state is not None
    answers.set_answers(state.key, [hash_answer("favourite_city", "Paris", FAST_PARAMS)])
    answers.require_new_answers(state.key)
    after = answers.get(state.key)
    assert after.must_set_answers and not after.answers_set


def test_unknown_login_has_no_state(answers: AnswerStore) -> None:
    from bridge.core.naming import LoginId

    assert answers.find(LoginId.parse("nobody@students.edu.sg")) is None
    assert SUFFIX
