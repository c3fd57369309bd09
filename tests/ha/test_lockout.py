"""Lockout across two providers: wrong passwords on either count towards one lock (issue 21).

slapd's ppolicy records each failed bind (pwdFailureTime) on the provider that saw it, and
replication carries it to the other; a provider locks the account (pwdAccountLockedTime)
when its own count reaches the policy's maximum. So failures spread over both providers are
all counted, and the lock can come late only by the failures that were in flight on the
other provider at that moment: at most one per provider (the facts of issue 21: up to N).
"""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest
from ldap3.core.exceptions import LDAPException

from bridge.core.people import NewPerson
from tests.support.directory import admin_connection
from tests.support.replicas import Pair, Provider, wait_in_step

PASSWORD = "Right-Password-2026"
MAX_FAILURES = 5  # [policies.mims] max_failures, the policy a student gets by default
PROVIDERS = 2


@pytest.fixture
def person_dn(pair: Pair, request: pytest.FixtureRequest) -> Iterator[str]:
    """Yield the DN of a new student (made through the bridge on the first provider)."""
    with pair.first.bridge() as backend:
        name = f"Lock Out {request.node.name.rsplit('_', 1)[-1].title()}"
        person = backend.services.people.create(
            NewPerson(full_name=name, role="student", password=PASSWORD)
        )
    with admin_connection(pair.first.slapd) as connection:
        connection.search(
            f"ou=people,{pair.first.slapd.suffix}",
            f"(entryUUID={ldap3.utils.conv.escape_filter_chars(person.id)})",
            attributes=["1.1"],
        )
        entry = str(connection.response[0]["dn"])
    wait_in_step(pair.first, pair.second)
    yield entry


def failures(provider: Provider, entry: str) -> tuple[int, bool]:
    """Return the failed binds recorded on ``provider`` and whether it holds a lock."""
    with admin_connection(provider.slapd) as connection:
        connection.search(
            entry,
            "(objectClass=*)",
            ldap3.BASE,
            attributes=["pwdFailureTime", "pwdAccountLockedTime"],
        )
        found = connection.response[0]["raw_attributes"]
    return len(found.get("pwdFailureTime", [])), bool(found.get("pwdAccountLockedTime"))


def binds(provider: Provider, entry: str, password: str) -> bool:
    connection = ldap3.Connection(provider.server(), entry, password)
    try:
        return bool(connection.bind())
    except LDAPException:
        return False
    finally:
        connection.unbind()


def test_failures_on_both_providers_count_towards_one_lock(pair: Pair, person_dn: str) -> None:
    first, second = pair.first, pair.second
    alternate = [first, second] * MAX_FAILURES

    for made, provider in enumerate(alternate[: MAX_FAILURES - 1], start=1):
        assert not binds(provider, person_dn, "Wrong-Password-1")
        wait_in_step(first, second)
        assert failures(first, person_dn) == failures(second, person_dn) == (made, False)

    assert not binds(alternate[MAX_FAILURES - 1], person_dn, "Wrong-Password-1")
    wait_in_step(first, second)
    assert failures(first, person_dn) == failures(second, person_dn) == (MAX_FAILURES, True)
    assert not binds(first, person_dn, PASSWORD)
    assert not binds(second, person_dn, PASSWORD)


def test_fast_alternating_failures_lock_at_most_n_failures_late(pair: Pair, person_dn: str) -> None:
    """No waiting for replication between binds: the lock may come late, by N at most."""
    first, second = pair.first, pair.second
    made = 0
    while not (failures(first, person_dn)[1] or failures(second, person_dn)[1]):
        assert made < 4 * MAX_FAILURES, "never locked: failures are not counted"
        assert not binds(pair.providers[made % PROVIDERS], person_dn, "Wrong-Password-2")
        made += 1

    assert MAX_FAILURES <= made <= MAX_FAILURES + PROVIDERS
    wait_in_step(first, second)
    assert failures(first, person_dn)[1] and failures(second, person_dn)[1]
    assert not binds(first, person_dn, PASSWORD)
    assert not binds(second, person_dn, PASSWORD)
