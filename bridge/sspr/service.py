"""The portal's rules in plain Python: sign in, first-login steps, and reset by 3 answers.

Nothing here knows HTTP or LDAP: views call these methods and render what they return or
raise. Every refusal is a :class:`PortalError` with a status, a stable ``error`` code and
words a 9-year-old can act on. Tickets are signed (itsdangerous) and short-lived; sessions
and reset grants are kept on the server (bridge/web/session_store.py); what must outlive a request
(answers, counters, flags) is in the directory.

A session lasts while the account stays as it was at sign-in: each request reads the person
again, and a disable, a lock or a new password (set by anyone, by any path: the portal, SCIM,
`mims`, or LDAP directly) ends it. Changing answers or the recovery e-mail takes the current
password again: a stolen cookie alone cannot take an account over.

Indistinguishable on purpose, so that neither words, status nor time tell whether a login ID
exists (docs/security.md, "No enumeration"):

- signing in: an unknown login ID, a wrong password, a locked and a disabled account all get
  :class:`WrongSignIn` (401), after the same work: the directory binds to its decoy when
  there is no password of a person's to check (``Credentials.sign_in``);
- starting a reset: an ID without usable answers gets questions chosen from it by a keyed
  hash, as many as a real account's and in the same (the catalogue's) order;
- checking answers: an unknown login ID, an account without answers, an account whose
  self-service reset is closed, and wrong answers all get :class:`ResetRefused`, after the
  same directory work (``Answers.claim_attempt``) and the same Argon2id work
  (``verify_all`` runs dummy verifications where there is nothing to check).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeTimedSerializer

from bridge.config import SsprConfig
from bridge.core import challenges, own_password, passwords
from bridge.core.accounts import AccountKey, AnswerState, StaleToken
from bridge.core.challenges import DEFAULT_PARAMS, HashParams, InvalidAnswer
from bridge.core.people import Person
from bridge.core.services import Services
from bridge.errors import Locked, NotFound, PolicyViolation, Refused
from bridge.web.session_store import ResetGrant, SessionStore, session_person, stamp_of

Next = Literal["done", "change_password", "setup_answers"]
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
ASK_SCHOOL = own_password.ASK_SCHOOL


class PortalError(Refused):
    """A refusal the portal shows as it is: status, code and child-friendly words."""


class WrongSignIn(PortalError):
    """Wrong login ID or password, or a locked or disabled account: one answer for all."""

    status = 401
    code = "wrong_login"
    words = own_password.WRONG_SIGN_IN


class AccountLocked(PortalError):
    """ppolicy locked a signed-in person's account after too many wrong passwords."""

    status = 423
    code = "locked"
    words = own_password.LOCKED


class ResetRefused(PortalError):
    """Any reason self-service reset cannot go on for this login ID, in one set of words."""

    code = "reset_refused"
    words = (
        "Those answers did not match. Check them and try again. If you don't remember them,"
        f" or never set them up, {ASK_SCHOOL} to give you a new password."
    )


class Expired(PortalError):
    """A ticket or reset token that is bad, too old, or already used."""

    code = "expired"
    words = "That took too long, or this reset was already used. Please start again."


class NotSignedIn(PortalError):
    """The session is missing or over."""

    status = 401
    code = "not_signed_in"
    words = "Please sign in first."


class ChangePasswordFirst(PortalError):
    """A temporary password must be changed before anything else."""

    status = 403
    code = "change_password_first"
    words = "Please choose a new password first."


class WrongCurrentPassword(PortalError):
    """The current password given to change it was not right."""

    code = "wrong_current_password"
    words = own_password.WRONG_CURRENT


class MissingFields(PortalError):
    """A request the portal cannot read, or one with a box left empty."""

    code = "bad_request"
    words = "Something is missing. Please fill in every box and try again."


class BadEmail(PortalError):
    """A recovery e-mail that does not look like one."""

    code = "bad_email"
    words = "That e-mail address does not look right. Check it, or leave the box empty."


class ResetClosed(PortalError):
    """The account cannot finish a reset: an administrator disabled it."""

    status = 403
    code = "reset_closed"
    words = f"This account cannot get a new password here. Please {ASK_SCHOOL}."


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, what they must do next, and the account's stamp at that moment."""

    person_id: str
    key: AccountKey
    login_id: str
    next: Next
    stamp: str = ""


@dataclass(frozen=True)
class Rule:
    """One line of the password checklist; ``kind`` and the numbers let a page tick it live.

    ``kind`` is length (``value`` to ``maximum`` characters), digits, lower, upper or letters
    (at least ``value``), or server: checked when the form is sent (names, history, ...).
    """

    kind: str
    text: str
    value: int = 0
    maximum: int = 0


class Portal:
    """Sign-in, first-login set-up, password changes and self-service reset."""

    def __init__(
        self,
        services: Services,
        config: SsprConfig,
        secret: str,
        store: SessionStore,
        params: HashParams = DEFAULT_PARAMS,
    ) -> None:
        self.services = services
        self.store = store
        self.config = config
        self.params = params
        self.questions = {q.id: q.text for q in config.questions}
        lock = timedelta(minutes=config.lockout_minutes) if config.lockout_minutes else None
        self.attempt_limit = challenges.AttemptLimit(config.max_failed_attempts, lock)
        self._secret = secret.encode()
        self._tickets = URLSafeTimedSerializer(secret, salt="mims.sspr.ticket")

    # -- signing in ----------------------------------------------------------------------------

    def sign_in(self, login: str, password: str) -> SignedIn:
        """Check a login ID and password by an LDAP bind; say what comes next.

        Unknown, wrong, locked and disabled are one refusal after the same work.
        """
        if not password:  # before any lookup: the same for every login ID
            self.services.outcomes.sign_in("wrong")
            raise WrongSignIn()
        login_id = _login_id(login)
        person = self.services.people.find_sign_in(login_id) if login_id else None
        result = self.services.passwords.sign_in(person, password)
        if person is None or not result.ok:
            self.services.outcomes.sign_in(
                "disabled" if result.disabled else "locked" if result.locked else "wrong"
            )
            raise WrongSignIn()
        self.services.outcomes.sign_in("success")
        person = self.services.people.get(person.id)  # whole, now that the password was right
        state = self._state(person)
        return SignedIn(
            person.id, state.key, str(person.login_id), self._next(state), stamp_of(person)
        )

    # -- sessions ------------------------------------------------------------------------------

    def start_session(self, signed: SignedIn) -> str:
        """Begin a server-side session for someone who just signed in; return its new id."""
        return self.store.start(signed.person_id, signed.stamp)

    def session_person(self, session_id: str | None) -> str:
        """Return the person a session is for; NotSignedIn once it is over or overtaken."""
        person = session_person(self.store, self.services.people, session_id)
        if person is None:
            raise NotSignedIn()
        return person.id

    def end_sessions(self, person_id: str) -> None:
        """End every session of a person (sign-out, a new password)."""
        self.store.end_person(person_id)

    def renew_session(self, person_id: str) -> str:
        """End a person's sessions and begin one for this browser, at the account's new stamp."""
        person = self.person(person_id)
        self.store.end_person(person_id)
        return self.store.start(person_id, stamp_of(person))

    def next_step(self, person_id: str) -> Next:
        """Return what a signed-in person must do next."""
        return self._next(self._state(self.person(person_id)))

    def person(self, person_id: str) -> Person:
        """Return the signed-in person; NotSignedIn if the account is gone."""
        try:
            return self.services.people.get(person_id)
        except NotFound:
            raise NotSignedIn() from None

    def _state(self, person: Person) -> AnswerState:
        state = self.services.answers.find(person.login_id)
        if state is None:
            raise NotSignedIn()
        return state

    @staticmethod
    def _next(state: AnswerState) -> Next:
        if state.must_change_password:
            return "change_password"
        return "done" if state.answers_set else "setup_answers"

    # -- for a signed-in person ----------------------------------------------------------------

    def change_password(self, person_id: str, current: str, new: str) -> Next:
        """Change the password after checking the current one; return the next step.

        The rules are ``own_password.change``'s, shared with the LDAP password service.
        """
        person = self.person(person_id)
        try:
            own_password.change(self.services, person, current, new)
        except own_password.WrongPassword:
            raise WrongCurrentPassword() from None
        except Locked:
            raise AccountLocked() from None
        return self._next(self._state(person))

    def set_answers(
        self,
        person_id: str,
        current: str,
        answers: Mapping[str, str],
        recovery_email: str | None,
    ) -> Next:
        """Store a new set of answers (hashed) and the optional recovery e-mail.

        The current password is asked again: whoever holds only the session cookie must not
        be able to choose the answers that reset the password.
        """
        person = self.person(person_id)
        state = self._state(person)
        if state.must_change_password:
            raise ChangePasswordFirst()
        self._recheck_password(person, current)
        challenges.check_answer_set(answers, list(self.questions), self.config.answers_required)
        email = (recovery_email or "").strip()
        if email and (len(email) > 256 or not _EMAIL.match(email)):
            raise BadEmail()
        stored = [challenges.hash_answer(q, a, self.params) for q, a in answers.items()]
        self.services.answers.set_answers(
            state.key, stored, email if recovery_email is not None else None
        )
        return self._next(self._state(person))

    def _recheck_password(self, person: Person, current: str) -> None:
        """Check the signed-in person's password again (a failure counts toward the lock)."""
        result = own_password.sign_in(self.services, person, current)
        if result.locked:
            raise AccountLocked()
        if not result.ok:
            raise WrongCurrentPassword()

    def checklist(self, person_id: str) -> list[Rule]:
        """Return the password rules of a person's policy as a checklist."""
        return checklist(self._policy(self.person(person_id)))

    def _policy(self, person: Person) -> passwords.Policy:
        book = self.services.passwords.book
        return book.policy(self.services.passwords.policy_of(person))

    # -- forgot password -----------------------------------------------------------------------

    def start_reset(self, login: str) -> tuple[str, list[tuple[str, str]]]:
        """Return a signed ticket and the questions to ask; the same shape for every ID."""
        login_id = _login_id(login)
        key = str(login_id) if login_id else login.strip().lower()[:320]
        state = self.services.answers.find(login_id) if login_id else None
        stored = _question_ids(state.stored) if state and not state.disabled else []
        # The catalogue's order, as decoys have it: the order answers were set in would tell.
        ids = [q for q in self.questions if q in stored]
        if len(ids) != self.config.answers_required or len(stored) != len(ids):
            ids = self._decoy_questions(key)
        ticket = self._tickets.dumps({"l": key, "q": ids})
        return ticket, [(q, self.questions[q]) for q in ids]

    def _decoy_questions(self, key: str) -> list[str]:
        """Return questions for an ID with none: the same ones every time for that ID."""
        ids = list(self.questions)
        if len(ids) == self.config.answers_required:
            return ids
        digest = hmac.new(self._secret, key.encode(), hashlib.sha256).digest()
        order = sorted(ids, key=lambda q: hmac.new(digest, q.encode(), "sha256").digest())
        return [q for q in ids if q in order[: self.config.answers_required]]

    def questions_of(self, ticket: str) -> list[tuple[str, str]]:
        """Return the questions a ticket was issued for (to show the form again)."""
        data = self._load(self._tickets, ticket, self.config.ticket_minutes)
        return [(q, self.questions[q]) for q in data["q"] if q in self.questions]

    def verify(self, ticket: str, answers: Mapping[str, str], browser: str) -> str:
        """Return a reset token when every answer is right; raise ResetRefused otherwise.

        The token works once, for ``[sspr] token_minutes``, and only for the browser that
        holds ``browser`` (a random value in its cookie).
        """
        data = self._load(self._tickets, ticket, self.config.ticket_minutes)
        login_id = _login_id(str(data["l"]))
        state = self.services.answers.find(login_id) if login_id else None
        required = self.config.answers_required
        # The attempt is counted before the answers are checked, atomically, so parallel
        # tries never check more sets than the limit allows. Without answers to check (or for a
        # disabled account), the claim is made for nobody (None): the same directory work, and
        # nothing counted.
        has_answers = state is not None and not state.disabled and len(state.stored) >= required
        key = state.key if has_answers and state is not None else None
        usable = self.services.answers.claim_attempt(key, self.attempt_limit, state)
        stored = state.stored if usable and state is not None else ()
        answers = {str(k): str(v) for k, v in answers.items()}
        right = challenges.verify_all(stored, answers, required, self.params)
        if not usable or state is None or not right:
            self._count_refusal(state if has_answers else None, usable)
            raise ResetRefused()
        self.services.outcomes.answer_check("right")
        self.services.answers.clear_failures(state.key)
        for value in state.stored:
            if challenges.needs_rehash(value, self.params):
                question_id, _ = challenges.parse_stored(value)
                fresh = challenges.hash_answer(question_id, answers[question_id], self.params)
                self.services.answers.replace_answer(state.key, value, fresh)
        version = self.services.answers.get(state.key).version
        grant = ResetGrant(state.key, version)
        return self.store.grant_reset(grant, browser, self.config.token_minutes * 60)

    def _count_refusal(self, state: AnswerState | None, usable: bool) -> None:
        """Count a refused answer set: locked (closed before), or wrong (a lockout if the last)."""
        outcomes = self.services.outcomes
        if state is not None and not usable:
            outcomes.answer_check("locked")
            return
        outcomes.answer_check("wrong")
        if state is not None:
            after = challenges.claim_attempt(state.attempts, self.attempt_limit, datetime.now(UTC))
            if after is not None and after.locked_time is not None:
                outcomes.lockout()

    def complete(self, token: str, new_password: str, browser: str) -> None:
        """Set the new password once per token; count the outcome (see ``_complete``)."""
        try:
            self._complete(token, new_password, browser)
        except (Refused, PolicyViolation):
            self.services.outcomes.password_reset("refused")
            raise
        self.services.outcomes.password_reset("success")

    def _complete(self, token: str, new_password: str, browser: str) -> None:
        """Set the new password once per token; PolicyViolation lists every broken rule.

        The token is used up only by a password that is written: a refused one may be
        chosen again. The write asserts the version the answers were checked at, so of two
        uses at once only one can write. Every session of the person ends with the old
        password.
        """
        state = self._granted(self.store.reset_grant(token, browser))
        person = self.person(state.person_id)
        self.services.passwords.check(person, new_password)
        try:
            self.services.answers.set_password_once(state.key, new_password, state.version)
        except StaleToken:
            raise Expired() from None
        self.store.use_reset(token, browser)
        self.store.end_person(person.id)

    def token_checklist(self, token: str, browser: str) -> list[Rule]:
        """Return the checklist for the person a reset token is for."""
        state = self._granted(self.store.reset_grant(token, browser))
        return checklist(self._policy(self.person(state.person_id)))

    def _granted(self, grant: ResetGrant | None) -> AnswerState:
        """Return the account a live grant is for, still as it was, and not disabled."""
        if grant is None:
            raise Expired()
        try:
            state = self.services.answers.get(AccountKey(grant.account))
        except NotFound:
            raise Expired() from None
        if state.disabled:
            raise ResetClosed()
        if state.version != grant.version:
            raise Expired()
        return state

    @staticmethod
    def _load(serializer: URLSafeTimedSerializer, value: str, minutes: int) -> dict[str, Any]:
        try:
            data = serializer.loads(value, max_age=minutes * 60)
        except (BadSignature, TypeError, ValueError):
            raise Expired() from None
        if not isinstance(data, dict):
            raise Expired()
        return data


_login_id = own_password.login_id


def _question_ids(stored: tuple[str, ...]) -> list[str]:
    ids = []
    for value in stored:
        try:
            ids.append(challenges.parse_stored(value)[0])
        except ValueError:
            continue
    return ids


def checklist(policy: passwords.Policy) -> list[Rule]:
    """Return a policy's rules as checklist lines, in the words of ``passwords.describe``."""
    lines = passwords.describe(policy)
    kinds: list[tuple[str, int]] = [("length", policy.min_length)]
    if policy.min_digits:
        kinds.append(("digits", policy.min_digits))
    if policy.min_lowercase:
        kinds.append(("lower", policy.min_lowercase))
    if policy.min_uppercase:
        kinds.append(("upper", policy.min_uppercase))
    if policy.min_letters > policy.min_lowercase + policy.min_uppercase:
        kinds.append(("letters", policy.min_letters))
    rules = [
        Rule(kind, text, value, policy.max_length if kind == "length" else 0)
        for (kind, value), text in zip(kinds, lines, strict=False)
    ]
    rules += [Rule("server", text) for text in lines[len(kinds) :]]
    return rules


__all__ = [
    "AccountLocked",
    "MissingFields",
    "ChangePasswordFirst",
    "Expired",
    "InvalidAnswer",
    "Next",
    "NotSignedIn",
    "PolicyViolation",
    "Portal",
    "PortalError",
    "ResetClosed",
    "ResetRefused",
    "Rule",
    "SignedIn",
    "WrongSignIn",
    "checklist",
]
