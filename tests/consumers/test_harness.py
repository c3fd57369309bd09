"""The consumer harness itself: the cast is what the consumer tests assume it is."""

from __future__ import annotations

import ldap3

from bridge.directory.slapd import ManagedSlapd
from tests.support.consumers import Cast, ServiceAccount
from tests.support.directory import bound


def test_the_cast_has_two_namesakes_and_one_of_each_state(cast: Cast) -> None:
    assert cast.student.full_name == cast.teacher.full_name
    assert cast.student.login_id != cast.teacher.login_id
    assert cast.locked.lock.locked and not cast.disabled.lock.locked
    assert cast.disabled.disabled and not cast.student.disabled


def test_the_sso_account_reads_people(
    slapd: ManagedSlapd, sso_account: ServiceAccount, cast: Cast
) -> None:
    with bound(slapd, sso_account.dn, sso_account.secret) as connection:
        connection.search(
            f"ou=people,{slapd.suffix}",
            f"(mail={cast.student.login_id})",
            ldap3.SUBTREE,
            attributes=["mail"],
        )
        assert [str(e.mail) for e in connection.entries] == [str(cast.student.login_id)]
