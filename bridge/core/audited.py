"""The core's ports with an audit trail: every change through any front door is recorded once.

``audited(services, audit)`` wraps the writing ports of a :class:`Services` bundle; reads pass
straight through (remembering login IDs for the request's events). Each change becomes an
:class:`~bridge.core.audit.Event` with the current :class:`~bridge.core.audit.Origin`, the
names of the fields it set (never their values) and its outcome, recorded whether it succeeded
or not. The composition root applies it, so SCIM, the portal and the ``mims`` command are all
covered without each door recording for itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridge.core.accounts import AccountKey, AnswerState, SignIn, StaleToken
from bridge.core.audit import SUCCESS, UNKNOWN, Event, origin
from bridge.core.challenges import AttemptLimit
from bridge.core.naming import LoginId
from bridge.core.people import PERSON_FIELDS, Group, NewPerson, Person, PersonChange, Role
from bridge.core.ports import Answers, Audit, Credentials, Groups, People, RosterImport, Tokens
from bridge.core.query import Query, Sort
from bridge.core.roster import Rejected, Row, Summary
from bridge.core.services import Services
from bridge.core.tokens import Scope, TokenInfo
from bridge.errors import BridgeError

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Pending:
    """A change being made: what its event will say once the outcome is known."""

    operation: str
    target: str = ""
    login: str = ""
    attributes: tuple[str, ...] = ()
    outcome: str = SUCCESS
    skip: bool = False


@dataclass
class Trail:
    """Turns changes into events for the ``Audit`` port, with the current origin."""

    audit: Audit
    clock: Clock = field(default=_now)

    @contextmanager
    def change(
        self, operation: str, target: str = "", attributes: Iterable[str] = ()
    ) -> Iterator[Pending]:
        """Record the change made inside the block, with its outcome, even when it fails."""
        pending = Pending(operation, target, self.known(target), tuple(attributes))
        try:
            yield pending
        except BridgeError as error:
            pending.outcome = type(error).__name__
            raise
        except StaleToken:
            pending.outcome = "StaleToken"
            raise
        except Exception:
            pending.outcome = "internal"
            raise
        finally:
            if not pending.skip:
                self._record(pending)

    def _record(self, pending: Pending) -> None:
        now = origin()
        login = pending.login or self.known(pending.target)
        actor = now.actor if now.actor is not None else (login or pending.target or "self")
        self.audit.record(
            Event(
                time=self.clock(),
                door=now.door,
                actor=actor,
                source=now.source,
                request_id=now.request_id,
                operation=pending.operation,
                target=pending.target,
                login=login,
                attributes=pending.attributes,
                outcome=pending.outcome,
            )
        )

    @staticmethod
    def note(key: str, value: str) -> None:
        """Remember for this request: a person's id -> login ID, an account key -> person's id."""
        now = origin()
        if now is not UNKNOWN and len(now.seen) < 1000:  # a request's own, never shared
            seen = now.seen
            seen[key] = value

    @staticmethod
    def known(key: str) -> str:
        """Return what was noted for ``key`` in this request, or ''."""
        return origin().seen.get(key, "") if key else ""

    def note_person(self, person: Person | None) -> Person | None:
        """Remember a person read in this request (its id and login ID)."""
        if person is not None:
            self.note(person.id, str(person.login_id))
            self.note(f"locked:{person.id}", str(person.lock.locked))
        return person


def _fields_of_new(new: NewPerson) -> tuple[str, ...]:
    names = [name for name in PERSON_FIELDS if getattr(new, name, None)]  # those given
    return ("role", *names, *(["password"] if new.password else []))


class AuditedPeople:
    """``People`` whose changes are recorded."""

    def __init__(self, inner: People, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail

    def get(self, person_id: str) -> Person:
        """Return the person with this id; NotFound if there is none."""
        person = self.inner.get(person_id)
        self.trail.note_person(person)
        return person

    def find_login(self, login_id: LoginId) -> Person | None:
        """Return the person with this login ID, or None."""
        return self.trail.note_person(self.inner.find_login(login_id))

    def find_sign_in(self, login_id: LoginId) -> Person | None:
        """Return the person with this login ID as a sign-in needs them, or None."""
        return self.trail.note_person(self.inner.find_sign_in(login_id))

    def search(
        self,
        query: Query,
        order: Sequence[Sort] = (),
        start: int = 1,
        count: int = 1000,
        links: bool = True,
    ) -> tuple[int, list[Person]]:
        """Return how many people match and ``count`` of them from ``start`` (1-based)."""
        return self.inner.search(query, order, start, count, links)

    def iter_people(self, school: str | None = None, level: str | None = None) -> Iterator[Person]:
        """Yield every person (optionally of one school and level), streamed."""
        return self.inner.iter_people(school, level)

    def role_for(self, login_id: LoginId, role: Role | None = None) -> Role:
        """Return the role a login ID's domain stands for."""
        return self.inner.role_for(login_id, role)

    def create(self, new: NewPerson) -> Person:
        """Add a person, recorded with the fields given."""
        with self.trail.change("person.create", attributes=_fields_of_new(new)) as pending:
            if new.login_id is not None:
                pending.login = str(new.login_id)
            person = self.inner.create(new)
            pending.target, pending.login = person.id, str(person.login_id)
        return person

    def update(
        self,
        person_id: str,
        change: PersonChange,
        version: str | None = None,
        password: str | None = None,
        locked: bool | None = None,
        before: Person | None = None,
    ) -> Person:
        """Change fields, password and lock, recorded with the names of what changed."""
        names: list[str] = [*change.changed()]
        names += ["password"] if password is not None else []
        # A client that sends the whole resource repeats the lock as it is: not a change.
        if locked is not None and self.trail.known(f"locked:{person_id}") != str(locked):
            names.append("locked")
        with self.trail.change("person.update", person_id, names) as pending:
            person = self.inner.update(person_id, change, version, password, locked, before)
            pending.login = str(person.login_id)
        return person

    def rename_login(self, person_id: str, login_id: LoginId | None = None) -> Person:
        """Give a person a new login ID, recorded."""
        with self.trail.change("person.rename", person_id, ["login_id"]) as pending:
            person = self.inner.rename_login(person_id, login_id)
            pending.login = str(person.login_id)
        return person

    def change_role(self, person_id: str, role: Role) -> Person:
        """Move a person to another role, recorded."""
        with self.trail.change("person.change_role", person_id, ["role"]) as pending:
            person = self.inner.change_role(person_id, role)
            pending.login = str(person.login_id)
        return person

    def delete(self, person_id: str, version: str | None = None) -> None:
        """Remove a person, recorded."""
        with self.trail.change("person.delete", person_id):
            self.inner.delete(person_id, version)


class AuditedGroups:
    """``Groups`` whose changes are recorded."""

    def __init__(self, inner: Groups, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail

    def get(self, group_id: str, members: bool = True) -> Group:
        """Return the group with this id."""
        return self.inner.get(group_id, members)

    def search(
        self,
        query: Query,
        order: Sequence[Sort] = (),
        start: int = 1,
        count: int = 1000,
        members: bool = True,
    ) -> tuple[int, list[Group]]:
        """Return how many groups match and ``count`` of them from ``start``."""
        return self.inner.search(query, order, start, count, members)

    def ids_of(self, names: Iterable[str]) -> dict[str, str]:
        """Return {group name: id} for the groups among these names."""
        return self.inner.ids_of(names)

    def create(self, name: str, external_id: str | None, member_ids: Sequence[str]) -> Group:
        """Add a group, recorded."""
        names = ["name", *(["external_id"] if external_id else []), "members"]
        with self.trail.change("group.create", attributes=names) as pending:
            pending.login = name
            group = self.inner.create(name, external_id, member_ids)
            pending.target = group.id
        return group

    def change(
        self,
        group_id: str,
        *,
        name: str | None = None,
        external_id: str | None | bool = False,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        replace: list[str] | None = None,
        version: str | None = None,
    ) -> None:
        """Rename, set externalId and change members, recorded."""
        names = ["name"] if name is not None else []
        names += ["external_id"] if external_id is not False else []
        names += ["members"] if add or remove or replace is not None else []
        with self.trail.change("group.update", group_id, names):
            self.inner.change(
                group_id,
                name=name,
                external_id=external_id,
                add=add,
                remove=remove,
                replace=replace,
                version=version,
            )

    def delete(self, group_id: str, version: str | None = None) -> None:
        """Remove a group, recorded."""
        with self.trail.change("group.delete", group_id):
            self.inner.delete(group_id, version)


class AuditedCredentials:
    """``Credentials`` whose changes (passwords, locks, policies) are recorded."""

    def __init__(self, inner: Credentials, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail
        self.book = inner.book

    def sync_policies(self) -> list[str]:
        """Write every configured policy (idempotent at each start: not recorded)."""
        return self.inner.sync_policies()

    def policy_of(self, person: Person) -> str:
        """Return the name of the policy that applies to a person now."""
        return self.inner.policy_of(person)

    def check(self, person: Person, password: str) -> None:
        """Raise PolicyViolation with every rule the password breaks."""
        self.inner.check(person, password)

    def set_password(self, person: Person, password: str) -> None:
        """Change a password on the person's behalf, recorded."""
        self.trail.note_person(person)
        with self.trail.change("password.set", person.id, ["password"]):
            self.inner.set_password(person, password)

    def reset(self, person: Person, actor: str) -> str:
        """Set a temporary password, recorded (never the password)."""
        self.trail.note_person(person)
        with self.trail.change("password.reset", person.id, ["password", "must_change"]):
            return self.inner.reset(person, actor)

    def unlock(self, person: Person, actor: str) -> None:
        """Lift a lock, recorded."""
        self.trail.note_person(person)
        with self.trail.change("lock.clear", person.id, ["locked"]):
            self.inner.unlock(person, actor)

    def assign(self, person: Person) -> bool:
        """Point a person at their policy; recorded when it changed."""
        self.trail.note_person(person)
        with self.trail.change("policy.assign", person.id, ["policy"]) as pending:
            changed = self.inner.assign(person)
            pending.skip = not changed
        return changed

    def sign_in(self, person: Person | None, password: str) -> SignIn:
        """Check a password as the directory does (a sign-in, not a change)."""
        self.trail.note_person(person)
        return self.inner.sign_in(person, password)


class AuditedAnswers:
    """``Answers`` whose changes (answers, reset attempts, flags, passwords) are recorded."""

    def __init__(self, inner: Answers, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail

    def _noted(self, state: AnswerState | None, login: str = "") -> AnswerState | None:
        if state is not None:
            login = login or self.trail.known(state.person_id)
            self.trail.note(state.key, state.person_id)
            if login:
                self.trail.note(state.person_id, login)
        return state

    @contextmanager
    def _about(
        self, operation: str, key: AccountKey, attributes: Iterable[str]
    ) -> Iterator[Pending]:
        """Record a change to the account ``key`` names, as a change to its person."""
        if not self.trail.known(key):
            try:
                self.get(key)
            except BridgeError:
                pass  # the change below meets the same error and records it
        with self.trail.change(operation, self.trail.known(key), attributes) as pending:
            yield pending

    def find(self, login_id: LoginId) -> AnswerState | None:
        """Return the state of the account with this login ID, or None."""
        return self._noted(self.inner.find(login_id), str(login_id))

    def get(self, key: AccountKey) -> AnswerState:
        """Return the state of the account ``key`` names."""
        state = self.inner.get(key)
        self._noted(state)
        return state

    def set_answers(
        self, key: AccountKey, stored: Sequence[str], recovery_email: str | None = None
    ) -> None:
        """Replace the answers (and recovery e-mail), recorded without either."""
        names = ["answers", *(["recovery_email"] if recovery_email is not None else [])]
        with self._about("answers.set", key, names):
            self.inner.set_answers(key, stored, recovery_email)

    def replace_answer(self, key: AccountKey, old: str, new: str) -> None:
        """Swap one stored hash for a rehashed one, recorded."""
        with self._about("answers.rehash", key, ["answers"]):
            self.inner.replace_answer(key, old, new)

    def claim_attempt(
        self, key: AccountKey | None, limit: AttemptLimit, known: AnswerState | None = None
    ) -> bool:
        """Count one attempt at the answers, recorded (``closed`` when reset is closed).

        Without a key (an unknown login ID, or an account without answers) the same work is
        done and recorded as ``no_account``: a probe is worth seeing, and an attempt that
        wrote no line would answer faster than one at a real account.
        """
        if key is None:
            with self.trail.change("answers.attempt", "", ["reset_attempts"]) as pending:
                claimed = self.inner.claim_attempt(key, limit, known)
                pending.outcome = "no_account"
            return claimed
        with self._about("answers.attempt", key, ["reset_attempts"]) as pending:
            claimed = self.inner.claim_attempt(key, limit, known)
            pending.outcome = SUCCESS if claimed else "closed"
        return claimed

    def clear_failures(self, key: AccountKey) -> None:
        """Forget counted attempts after a right set of answers, recorded."""
        with self._about("answers.passed", key, ["reset_attempts"]):
            self.inner.clear_failures(key)

    def reopen(self, key: AccountKey) -> None:
        """Open self-service reset again, recorded."""
        with self._about("answers.reopen", key, ["reset_attempts"]):
            self.inner.reopen(key)

    def require_new_answers(self, key: AccountKey) -> None:
        """Make the person choose new answers, recorded."""
        with self._about("answers.require_new", key, ["must_set_answers"]):
            self.inner.require_new_answers(key)

    def clear_answers(self, key: AccountKey) -> None:
        """Forget the person's answers, recorded."""
        names = ["answers", "reset_attempts", "must_set_answers"]
        with self._about("answers.clear", key, names):
            self.inner.clear_answers(key)

    def start_year(self, key: AccountKey) -> None:
        """Make the person choose a new password and answers, recorded."""
        names = ["must_change", "must_set_answers"]
        with self._about("account.start_year", key, names):
            self.inner.start_year(key)

    def set_password_once(self, key: AccountKey, password: str, version: str) -> None:
        """Write a password if the account is still at ``version``, recorded."""
        with self._about("password.change", key, ["password"]):
            self.inner.set_password_once(key, password, version)


class AuditedTokens:
    """``Tokens`` whose changes are recorded (by name, never the token or its hash)."""

    def __init__(self, inner: Tokens, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail

    def create(
        self, name: str, hashed: str, scopes: tuple[Scope, ...], description: str | None = None
    ) -> None:
        """Store a token's hash, recorded by the token's name."""
        names = ["token", "scopes", *(["description"] if description else [])]
        with self.trail.change("token.create", name, names):
            self.inner.create(name, hashed, scopes, description)

    def list(self) -> list[TokenInfo]:
        """Return every token's name and scopes."""
        return self.inner.list()

    def find(self, hashed: str) -> tuple[TokenInfo, str] | None:
        """Return the token with this hash and its stored hash, or None."""
        return self.inner.find(hashed)

    def revoke(self, name: str) -> None:
        """Remove a token, recorded."""
        with self.trail.change("token.revoke", name):
            self.inner.revoke(name)


class AuditedImport:
    """A roster import recorded as one event (its people are many; the summary says how many)."""

    def __init__(self, inner: RosterImport, trail: Trail) -> None:
        self.inner = inner
        self.trail = trail

    def run(
        self,
        items: Iterable[Row | Rejected],
        on_reject: Callable[[Rejected], None] = lambda _: None,
        on_progress: Callable[[int], None] = lambda _: None,
    ) -> Summary:
        """Apply the rows, then record one ``roster.import`` event."""
        with self.trail.change("roster.import", attributes=["people"]):
            return self.inner.run(items, on_reject, on_progress)


def audited(services: Services, audit: Audit, clock: Clock = _now) -> Services:
    """Return ``services`` with every change recorded in ``audit``."""
    trail = Trail(audit, clock)
    return Services(
        people=AuditedPeople(services.people, trail),
        groups=AuditedGroups(services.groups, trail),
        passwords=AuditedCredentials(services.passwords, trail),
        answers=AuditedAnswers(services.answers, trail),
        tokens=AuditedTokens(services.tokens, trail),
        health=services.health,
        outcomes=services.outcomes,
    )
