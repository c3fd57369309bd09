"""The sign-in decoy: an account nobody can use, whose refusals cost what a person's do.

An unknown login ID, a locked account and a disabled one must be refused in the same time as
a wrong password, or the time tells an outsider which IDs exist. slapd refuses a bind to a DN
that does not exist, to an account ppolicy has locked (it answers before looking at the
password) and to a disabled one (the ACL) in well under a millisecond, where a wrong password
costs an Argon2 verification and a write (ppolicy records the failure): some 20 ms. For those
cases the bridge binds to the decoy instead, with the password that was typed: the same
verification, of a hash slapd made with the people's parameters, and the same write.

The decoy is a password policy entry (``ou=policies``), and its own policy: every failure is
recorded (``pwdMaxRecordedFailure``, the last five kept) and it never locks
(``pwdMaxFailure`` 0). Its password is random and never kept, so nobody can bind as it, and
an entry outside ``ou=services`` would give nobody any access if they could. Self-service
reset's attempt counter has its twin: a write to the decoy with the same assertion, for an
ID with no attempts to count (``answers.py``).

A locked person costs one bind more: slapd refuses theirs first (the lock), then the decoy
checks the password. So every sign-in makes the same two binds: one that slapd refuses before
it looks at the password, and one that checks it. The first is the person's when ppolicy has
locked them, else the **locked decoy**'s: an entry like the decoy, locked for good
(``pwdAccountLockedTime`` 000001010000Z), which slapd refuses as it refuses a locked person.
Without it a locked account answered some 0.5-1.5 ms later than an unknown one.

Both are made by the first `mims` command (with the policies) and kept from then on.
"""

from __future__ import annotations

import secrets

from bridge.directory import dn
from bridge.directory.client import LdapClient
from bridge.directory.mapping import PERMANENT_LOCK
from bridge.errors import NameTaken

CLASSES = ["top", "organizationalRole", "simpleSecurityObject", "pwdPolicy"]
DESCRIPTION = (
    "Refusals of unknown, locked and disabled accounts bind here, to cost what a wrong"
    " password costs. Nobody knows its password; do not delete it."
)
# What ppolicy keeps of a person's failures before they lock (the seeds' max_failures).
RECORDED_FAILURES = 5


def attributes(suffix: str) -> dict[str, list[str]]:
    """Return the decoy's entry, with a new random password for slapd to hash."""
    return {
        "objectClass": CLASSES,
        "cn": ["sign-in-decoy"],
        "description": [DESCRIPTION],
        "userPassword": [secrets.token_urlsafe(32)],
        "pwdPolicySubentry": [dn.decoy_dn(suffix)],
        "pwdAttribute": ["userPassword"],
        "pwdMaxFailure": ["0"],
        "pwdLockout": ["FALSE"],
        "pwdAllowUserChange": ["FALSE"],  # as every policy entry: no own changes over LDAP
        "pwdMaxRecordedFailure": [str(RECORDED_FAILURES)],
        "pwdFailureCountInterval": ["0"],
    }


def locked_attributes(suffix: str) -> dict[str, list[str]]:
    """Return the locked decoy's entry: the decoy's, locked until an administrator unlocks."""
    entry = dn.locked_decoy_dn(suffix)
    return {
        **attributes(suffix),
        "cn": ["sign-in-decoy-locked"],
        "pwdPolicySubentry": [entry],
        "pwdLockout": ["TRUE"],
        "pwdAccountLockedTime": [PERMANENT_LOCK],
    }


def ensure(directory: LdapClient, suffix: str) -> None:
    """Add the decoy and the locked decoy unless they are there."""
    for entry, values in (
        (dn.decoy_dn(suffix), attributes(suffix)),
        (dn.locked_decoy_dn(suffix), locked_attributes(suffix)),
    ):
        try:
            directory.add(entry, values)
        except NameTaken:
            pass
