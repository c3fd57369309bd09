"""Passwords, policies and locks in the directory, enforced by slapd's ppolicy and by the bridge.

slapd checks length and history (pwdMinLength, pwdMaxLength, pwdInHistory) for every change the
bridge makes, because the bridge's account has ``write`` but not ``manage`` on userPassword.
The bridge adds what ppolicy cannot express (character classes, names, common passwords)
before it writes. People cannot change their own password in slapd (the ACL gives them
``auth`` only, and the policy entries say ``pwdAllowUserChange: FALSE``, which ppolicy applies
to a person's own changes, not to the bridge's), so no change bypasses those rules: they use
the portal, the bridge's LDAP password service (``password_service.py``) or an administrator.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from ldap3 import MODIFY_REPLACE, Connection

from bridge.core import passwords
from bridge.core.accounts import SignIn
from bridge.core.people import Person
from bridge.core.policy_book import PolicyBook
from bridge.directory import decoy, dn, mapping, ppolicy
from bridge.directory.client import LdapClient
from bridge.directory.errors import raise_for_password_result
from bridge.errors import NameTaken, PolicyViolation

audit = logging.getLogger("mims.audit")
POLICY_CLASSES = ["top", "organizationalRole", "pwdPolicy"]


def owner(person: Person) -> passwords.Person:
    """Return whose names and login ID a password must not contain."""
    return passwords.Person(
        full_name=person.full_name,
        given_name=person.given_name,
        family_name=person.family_name,
        login_id=str(person.login_id),
    )


def policy_attributes(policy: passwords.Policy) -> dict[str, list[str]]:
    """Return the pwdPolicy attributes that mirror a configured policy."""
    return {
        "pwdAttribute": ["userPassword"],
        "pwdMinLength": [str(policy.min_length)],
        "pwdMaxLength": [str(policy.max_length)],
        "pwdCheckQuality": ["2"],  # refuse what cannot be checked (never happens: we send clear)
        "pwdInHistory": [str(policy.history)],
        "pwdMaxFailure": [str(policy.max_failures)],
        "pwdLockout": ["TRUE" if policy.max_failures else "FALSE"],
        "pwdLockoutDuration": [str(policy.lockout_seconds)],
        "pwdFailureCountInterval": [str(policy.failure_window_seconds)],
        "pwdMustChange": ["TRUE"],
        # People may not change their own password over LDAP (the ACL says so too); the
        # bridge's account is not the person, so its changes are allowed and still checked.
        "pwdAllowUserChange": ["FALSE"],
        "pwdSafeModify": ["FALSE"],
    }


class CredentialStore:
    """Write policies, set and reset passwords, unlock accounts, and check sign-ins."""

    def __init__(self, directory: LdapClient, suffix: str, book: PolicyBook) -> None:
        self.directory = directory
        self.suffix = suffix
        self.book = book

    def sync_policies(self) -> list[str]:
        """Write every configured policy as a pwdPolicy entry; return their names.

        The sign-in decoys (``decoy.py``), policies of their own, are made here too if missing.
        """
        for name, policy in self.book.policies.items():
            self._upsert(dn.policy_dn(name, self.suffix), name, policy_attributes(policy))
        decoy.ensure(self.directory, self.suffix)
        return sorted(self.book.policies)

    def _upsert(self, entry: str, name: str, values: dict[str, list[str]]) -> None:
        attributes = {"objectClass": POLICY_CLASSES, "cn": [name], **values}
        try:
            self.directory.add(entry, attributes)
        except NameTaken:
            changes = {key: [(MODIFY_REPLACE, value)] for key, value in values.items()}
            self.directory.run(lambda c: c.modify(entry, changes), retry=False)

    def policy_of(self, person: Person) -> str:
        """Return the name of the policy that applies to a person now."""
        return self.book.name_for(person.role, person.school, person.level)

    def check(self, person: Person, password: str) -> None:
        """Raise PolicyViolation with every broken rule of the person's policy."""
        self.book.require(password, self.policy_of(person), owner(person))

    def set_password(self, person: Person, password: str) -> None:
        """Change a password on the person's behalf; slapd also refuses a reused one."""
        self.check(person, password)
        self._write(person, {"userPassword": [(MODIFY_REPLACE, [password])]})

    def reset(self, person: Person, actor: str) -> str:
        """Set a temporary password that must be changed at next sign-in; clear any lock.

        Any self-service reset closed after wrong answers is opened again too.

        Return the temporary password (show it once; it is never stored or logged in clear).
        """
        temporary = passwords.temporary_password(
            self.book.policy(self.policy_of(person)), person=owner(person)
        )
        now = mapping.to_generalized_time(datetime.now(UTC))
        if person.lock.locked:
            self.unlock(person, actor)  # apart: slapd edits the lock itself on a password write
        self._write(
            person,
            {
                "userPassword": [(MODIFY_REPLACE, [temporary])],
                "pwdReset": [(MODIFY_REPLACE, ["TRUE"])],
                "mimsPasswordResetBy": [(MODIFY_REPLACE, [actor])],
                "mimsPasswordResetTime": [(MODIFY_REPLACE, [now])],
                # The school's reset also reopens self-service reset (challenge answers).
                "mimsSsprFailures": [(MODIFY_REPLACE, [])],
                "mimsSsprLockedTime": [(MODIFY_REPLACE, [])],
            },
        )
        audit.info("password reset to a temporary one: account=%s by=%s", person.login_id, actor)
        return temporary

    def unlock(self, person: Person, actor: str) -> None:
        """Lift the locks from failed sign-ins and from wrong answer sets (not a disable)."""
        # The failure times go too, so that one typo after an unlock does not lock again.
        changes: dict[str, list[tuple[str, list[str]]]] = {
            "pwdAccountLockedTime": mapping.UNLOCK,
            "mimsSsprFailures": [(MODIFY_REPLACE, [])],
            "mimsSsprLockedTime": [(MODIFY_REPLACE, [])],
        }
        entry = self._dn(person)
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)
        audit.info("unlocked: account=%s by=%s", person.login_id, actor)

    def assign(self, person: Person) -> bool:
        """Point a person at the policy their role, school and level call for; say if it moved."""
        name = self.policy_of(person)
        if person.policy == name:
            return False
        changes = {
            "pwdPolicySubentry": [(MODIFY_REPLACE, [dn.policy_dn(name, self.suffix)])],
            "mimsPolicyName": [(MODIFY_REPLACE, [name])],
        }
        entry = self._dn(person)
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)
        return True

    def sign_in(self, person: Person | None, password: str) -> SignIn:
        """Bind as the person (so ppolicy counts a failure) and report lock and must-change.

        Every sign-in makes two binds on one connection, so the time does not tell why it was
        refused (``decoy.py``): one that slapd refuses before it checks the password, and one
        that checks it. Nobody (None) and a disabled person bind to the locked decoy and the
        decoy; a person binds as themselves, then to the decoy if slapd refused them as locked,
        else to the locked decoy.
        """
        if person is None or person.disabled:
            decoy = dn.decoy_dn(self.suffix)  # checks the password after the locked decoy
            self.directory.try_bind(
                dn.locked_decoy_dn(self.suffix), password, [ppolicy.REQUEST], then=lambda _: decoy
            )
            return SignIn(ok=False, disabled=person is not None)
        result = self.directory.try_bind(
            self._dn(person), password, [ppolicy.REQUEST], then=self._second_bind
        )
        error = ppolicy.error(result)
        ok = result.get("result") == 0
        return SignIn(
            ok=ok, locked=error == "accountLocked", must_change=error == "changeAfterReset"
        )

    def _second_bind(self, result: dict[str, Any]) -> str:
        """Return the DN of a person's second bind: the one their first did not make.

        Refused as locked, slapd did not check the password: the decoy does. Otherwise it did,
        and the locked decoy stands in for the refusal before any check.
        """
        if ppolicy.error(result) == "accountLocked":
            return dn.decoy_dn(self.suffix)
        return dn.locked_decoy_dn(self.suffix)

    def _write(self, person: Person, changes: dict[str, list[tuple[str, list[str]]]]) -> None:
        write_password(self.directory, self._dn(person), changes)

    def _dn(self, person: Person) -> str:
        return dn.person_dn(person.login_id.local, person.role, self.suffix)


def refuse_hashed(password: str) -> None:
    """Raise PolicyViolation for a password slapd would store as given instead of hashing.

    ppolicy's olcPPolicyHashCleartext hashes a new userPassword unless it starts like a stored
    one ({SCHEME}...). The policy check refuses those already; this is the last word before
    any write, whatever path it came by.
    """
    if passwords.looks_hashed(password):
        raise PolicyViolation([(passwords.HASHED.code, passwords.HASHED.message)])


def write_password(
    directory: LdapClient,
    entry: str,
    changes: dict[str, list[tuple[str, list[str]]]],
    controls: list[Any] | None = None,
) -> None:
    """Modify an entry whose userPassword changes, turning slapd's ppolicy refusals into words."""
    for _operation, values in changes.get("userPassword", []):
        for value in values:
            refuse_hashed(value)

    def modify(connection: Connection) -> None:
        connection.raise_exceptions = False
        try:
            connection.modify(entry, changes, controls=[ppolicy.REQUEST, *(controls or [])])
        finally:
            connection.raise_exceptions = True
        raise_for_password_result(connection.result, ppolicy.error(connection.result))

    directory.run(modify, retry=False)
