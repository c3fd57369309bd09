"""Challenge answers, SSPR attempt counters and set-up flags in the directory.

Everything self-service password reset needs to remember lives on the person's entry
(``schemas/mims.ldif``), so any number of bridge processes agree:

- ``mimsChallengeAnswer``: ``<question id>:<Argon2id PHC>``, one value per question, readable
  by the bridge alone (olcAccess); ``mimsChallengeSetTime``: when they were set.
- ``mimsSsprFailures``: attempts at the answers since the last right set, each claimed
  before the answers are checked; ``mimsSsprLockedTime``: when SSPR closed. A claim is a
  compare-and-set: the new count is written with an LDAP assertion (RFC 4528) that the entry
  still has the ``entryCSN`` it was read at, and read again and retried when it does not, so
  parallel attempts in any number of bridge processes never check more than the limit.
- ``mimsMustSetAnswers``: the person must choose new answers at next sign-in.

A reset token is made single-use without server state: it carries the entry's ``entryCSN``
when it was issued, and the password write sends an LDAP assertion (RFC 4528) that the
entry still has that ``entryCSN``. Any write to the entry (the password change itself, a
failed bind counted by ppolicy, an admin reset) changes it, so the token works once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection
from ldap3.operation.search import compile_filter, parse_filter
from pyasn1.codec.ber import encoder

from bridge.core import challenges
from bridge.core.accounts import AccountKey, AnswerState, StaleToken
from bridge.core.challenges import AttemptLimit, SsprAttempts
from bridge.core.naming import LoginId
from bridge.directory import decoy, dn, lookup, mapping, ppolicy
from bridge.directory.client import LdapClient
from bridge.directory.errors import error_for_result, raise_for_password_result
from bridge.directory.passwords import refuse_hashed
from bridge.errors import NotFound

ASSERTION_OID = "1.3.6.1.1.12"  # RFC 4528
_ASSERTION_FAILED = 122
# Each lost race means another attempt was counted, so twice the largest limit is plenty;
# past it the attempt is refused unchecked rather than counted loosely.
_CLAIM_TRIES = 200

ANSWER_READ = [
    "mail",
    "entryUUID",
    "entryCSN",
    "mimsChallengeAnswer",
    "mimsChallengeSetTime",
    "mimsSsprFailures",
    "mimsSsprLockedTime",
    "mimsMustSetAnswers",
    "pwdReset",
    "mimsDisabled",
]


def assertion_control(attribute: str, value: str) -> tuple[str, bool, bytes]:
    """Return an RFC 4528 assertion control: the operation runs only if ``attribute=value``."""
    node = parse_filter(dn.equals(attribute, value), None, False, True, None, False)
    return (ASSERTION_OID, True, encoder.encode(compile_filter(node.elements[0])))


class AnswerStore:
    """Read and write challenge answers and SSPR state on people's entries."""

    def __init__(self, directory: LdapClient, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    def find(self, login_id: LoginId) -> AnswerState | None:
        """Return the SSPR state of the person with this login ID, or None.

        Read through python-ldap (``lookup.py``), from the write target (the attempt is then
        claimed there): decoding the entry in C costs a few microseconds, where ldap3's
        decoding made a found ID 0.18-0.21 ms slower to refuse than an unknown one
        (docs/security.md, "No enumeration").
        """
        query = f"(&(objectClass=mimsPerson){dn.equals('mail', str(login_id))})"
        found = lookup.entries(
            self.directory, dn.people_base(self.suffix), query, ANSWER_READ, [], write_target=True
        )
        return _state(found[0]) if found else None

    def get(self, entry: AccountKey) -> AnswerState:
        """Return the SSPR state of the account ``entry`` names; NotFound if it is gone."""

        def read(connection: Connection) -> dict[str, Any] | None:
            connection.search(entry, "(objectClass=mimsPerson)", "BASE", attributes=ANSWER_READ)
            return dict(connection.response[0]) if connection.response else None

        found = self.directory.run(read)
        if found is None:
            raise NotFound("no such person")
        return _state(found)

    def set_answers(
        self, entry: AccountKey, stored: Sequence[str], recovery_email: str | None = None
    ) -> None:
        """Replace the answers (already hashed), stamp the time, clear the must-set flag."""
        changes: dict[str, list[tuple[str, list[Any]]]] = {
            "mimsChallengeAnswer": [(MODIFY_REPLACE, list(stored))],
            "mimsChallengeSetTime": [(MODIFY_REPLACE, [_now()])],
            "mimsMustSetAnswers": [(MODIFY_REPLACE, [])],
        }
        if recovery_email is not None:
            changes["mimsRecoveryEmail"] = [
                (MODIFY_REPLACE, [recovery_email] if recovery_email else [])
            ]
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)

    def replace_answer(self, entry: AccountKey, old: str, new: str) -> None:
        """Swap one stored value for a rehashed one; skip quietly if it changed meanwhile."""
        changes = {"mimsChallengeAnswer": [(MODIFY_DELETE, [old]), (MODIFY_ADD, [new])]}

        def swap(connection: Connection) -> None:
            connection.raise_exceptions = False
            try:
                connection.modify(entry, changes)
            finally:
                connection.raise_exceptions = True

        self.directory.run(swap, retry=False)

    def claim_attempt(
        self, entry: AccountKey | None, limit: AttemptLimit, known: AnswerState | None = None
    ) -> bool:
        """Count one attempt before the answers are checked; False when SSPR is closed.

        ``known``: the account's state as the caller just read it, so the first try writes
        without reading again (a stale one only costs a retry). With no account (None), or a
        closed one, the decoy (``decoy.py``) takes the write a counted attempt would have
        cost, so the time does not tell them apart.
        """
        if entry is None:
            self._claim_nothing()
            return False
        state = known if known is not None and known.key == entry else None
        for _ in range(_CLAIM_TRIES):
            state = state or self.get(entry)
            claimed = challenges.claim_attempt(state.attempts, limit, datetime.now(UTC))
            if claimed is None:
                self._claim_nothing()
                return False
            locked = claimed.locked_time
            changes = {
                "mimsSsprFailures": [(MODIFY_REPLACE, [str(claimed.failures)])],
                "mimsSsprLockedTime": [
                    (MODIFY_REPLACE, [mapping.to_generalized_time(locked)] if locked else [])
                ],
            }
            if self._write_if(entry, changes, assertion_control("entryCSN", state.version)):
                return True
            state = None
        return False

    def _claim_nothing(self) -> None:
        """Write the decoy as a claim writes a person's entry.

        The same two replacements (one value, and one attribute emptied) under an assertion,
        here one that always holds.
        """
        changes: dict[str, list[tuple[str, list[str]]]] = {
            "description": [(MODIFY_REPLACE, [decoy.DESCRIPTION])],
            "ou": [(MODIFY_REPLACE, [])],
        }
        holds = assertion_control("objectClass", "pwdPolicy")
        try:
            self._write_if(dn.decoy_dn(self.suffix), changes, holds)
        except NotFound:  # deleted by hand: made again at the next start
            return

    def _write_if(
        self,
        entry: str,
        changes: dict[str, list[tuple[str, list[str]]]],
        assertion: tuple[str, bool, bytes],
    ) -> bool:
        """Apply changes only if the entry meets ``assertion`` (RFC 4528); say if it did."""

        def modify(connection: Connection) -> bool:
            connection.raise_exceptions = False
            try:
                connection.modify(entry, changes, controls=[assertion])
            finally:
                connection.raise_exceptions = True
            if connection.result["result"] == _ASSERTION_FAILED:
                return False
            if connection.result["result"] != 0:
                raise error_for_result(connection.result)
            return True

        return self.directory.run(modify, retry=False)

    def clear_failures(self, entry: AccountKey) -> None:
        """Forget counted attempts and any lock after a right set of answers."""
        self.reopen(entry)

    def reopen(self, entry: AccountKey) -> None:
        """Reopen SSPR for an account (the school's reset): clear the counter and the lock."""
        changes: dict[str, list[tuple[str, list[str]]]] = {
            "mimsSsprFailures": [(MODIFY_REPLACE, [])],
            "mimsSsprLockedTime": [(MODIFY_REPLACE, [])],
        }
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)

    def require_new_answers(self, entry: AccountKey) -> None:
        """Make the person choose new answers at next sign-in (the start-of-year reset)."""
        changes = {"mimsMustSetAnswers": [(MODIFY_REPLACE, ["TRUE"])]}
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)

    def clear_answers(self, entry: AccountKey) -> None:
        """Forget the answers, their time and counted attempts; new ones are due at sign-in."""
        changes: dict[str, list[tuple[str, list[Any]]]] = {
            "mimsChallengeAnswer": [(MODIFY_REPLACE, [])],
            "mimsChallengeSetTime": [(MODIFY_REPLACE, [])],
            "mimsMustSetAnswers": [(MODIFY_REPLACE, ["TRUE"])],
            "mimsSsprFailures": [(MODIFY_REPLACE, [])],
            "mimsSsprLockedTime": [(MODIFY_REPLACE, [])],
        }
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)

    def start_year(self, entry: AccountKey) -> None:
        """Make the person choose a new password and new answers at next sign-in.

        pwdReset makes slapd answer a bind with changeAfterReset, as after an admin reset,
        but the password stays the one the person knows.
        """
        changes = {
            "pwdReset": [(MODIFY_REPLACE, ["TRUE"])],
            "mimsMustSetAnswers": [(MODIFY_REPLACE, ["TRUE"])],
        }
        self.directory.run(lambda c: c.modify(entry, changes), retry=False)

    def set_password_once(self, entry: AccountKey, password: str, version: str) -> None:
        """Write a new password only if the entry is still at ``version`` (its entryCSN).

        Raise StaleToken when it is not; PolicyViolation when slapd refuses the password
        (history, length). pwdReset is cleared: the person chose this password themselves.
        """
        refuse_hashed(password)
        changes = {
            "userPassword": [(MODIFY_REPLACE, [password])],
            "pwdReset": [(MODIFY_REPLACE, [])],
        }
        controls = [ppolicy.REQUEST, assertion_control("entryCSN", version)]

        def modify(connection: Connection) -> None:
            connection.raise_exceptions = False
            try:
                connection.modify(entry, changes, controls=controls)
            finally:
                connection.raise_exceptions = True
            if connection.result["result"] == _ASSERTION_FAILED:
                raise StaleToken()
            raise_for_password_result(connection.result, ppolicy.error(connection.result))

        self.directory.run(modify, retry=False)


def _now() -> str:
    return mapping.to_generalized_time(datetime.now(UTC))


def _state(entry: dict[str, Any]) -> AnswerState:
    raw = {key.lower(): value for key, value in entry["raw_attributes"].items()}

    def text(name: str) -> str | None:
        values = raw.get(name) or []
        return values[0].decode() if values else None

    failures = text("mimsssprfailures")
    return AnswerState(
        key=AccountKey(str(entry["dn"])),
        person_id=text("entryuuid") or "",
        stored=tuple(value.decode() for value in raw.get("mimschallengeanswer") or []),
        attempts=SsprAttempts(
            failures=max(0, int(failures)) if failures else 0,
            locked_time=mapping.generalized_time(text("mimsssprlockedtime")),
        ),
        must_set_answers=text("mimsmustsetanswers") == "TRUE",
        must_change_password=text("pwdreset") == "TRUE",
        version=text("entrycsn") or "",
        disabled=text("mimsdisabled") == "TRUE",
    )
