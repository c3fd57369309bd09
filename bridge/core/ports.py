"""What the core and the front doors need from storage, as small protocols (STYLE.md, habit 2).

``bridge.directory`` implements every one of them over LDAP; the composition root
(``bridge.services.build``) wires those implementations in. Nothing here names an LDAP
attribute, a DN or a filter: people and groups are found by id, login ID or a core
:data:`~bridge.core.query.Query`, and changes are typed values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, Protocol

from bridge.core.accounts import AccountKey, AnswerState, SignIn
from bridge.core.administration import Administrator
from bridge.core.administration import Scope as GrantScope
from bridge.core.audit import Event
from bridge.core.challenges import AttemptLimit
from bridge.core.naming import LoginId
from bridge.core.people import Group, NewPerson, Person, PersonChange, Role
from bridge.core.policy_book import PolicyBook
from bridge.core.query import Query, Sort
from bridge.core.roster import Rejected, Row, Summary
from bridge.core.service_accounts import ServiceAccount, ServiceRole
from bridge.core.tokens import Scope, TokenInfo

SignInOutcome = Literal["success", "wrong", "locked", "throttled", "disabled"]
ResetOutcome = Literal["success", "refused", "throttled"]
AnswerOutcome = Literal["right", "wrong", "locked", "throttled"]


class Outcomes(Protocol):
    """Count what sign-ins, resets and answer checks came to (``bridge.metrics``: Prometheus).

    Never given who: an outcome is counted, not a person (no login ID reaches a metric).
    """

    def sign_in(self, outcome: SignInOutcome) -> None:
        """Count one sign-in."""

    def password_reset(self, outcome: ResetOutcome) -> None:
        """Count one self-service reset's last step."""

    def answer_check(self, outcome: AnswerOutcome) -> None:
        """Count one check of a set of challenge answers."""

    def lockout(self) -> None:
        """Count an account the bridge locked (too many wrong answer sets)."""

    def unlock(self) -> None:
        """Count an account an administrator unlocked."""


class NoOutcomes:
    """Outcomes counted nowhere: the default, for the ``mims`` command and tests."""

    def sign_in(self, outcome: SignInOutcome) -> None:
        """Count nothing."""

    def password_reset(self, outcome: ResetOutcome) -> None:
        """Count nothing."""

    def answer_check(self, outcome: AnswerOutcome) -> None:
        """Count nothing."""

    def lockout(self) -> None:
        """Count nothing."""

    def unlock(self) -> None:
        """Count nothing."""


class Audit(Protocol):
    """Keep the audit trail: one record per change, never a secret's value."""

    def record(self, event: Event) -> None:
        """Add one event to the trail; a failure to keep it is logged, never raised."""


class AuditReader(Protocol):
    """Read an audit trail back, oldest first."""

    def events(self) -> Iterator[Event]:
        """Yield every event kept (in the order written)."""


class HealthCheck(Protocol):
    """Tell whether the directory answers."""

    def ping(self) -> None:
        """Return when the directory answers; raise DirectoryUnavailable otherwise."""

    def probe(self) -> str:
        """Bind afresh to the write target and read the suffix; return the target's URL.

        Raise DirectoryUnavailable (words naming the server) when it does not answer.
        """


class PeopleReader(Protocol):
    """Find and read people."""

    def get(self, person_id: str) -> Person:
        """Return the person with this id; NotFound if there is none."""

    def find_login(self, login_id: LoginId) -> Person | None:
        """Return the person with this login ID, or None."""

    def find_sign_in(self, login_id: LoginId) -> Person | None:
        """Return the person with this login ID as a sign-in needs them, or None.

        Only id, login ID, role and disabled: a found ID then costs what a missing one does.
        """

    def search(
        self,
        query: Query,
        order: Sequence[Sort] = (),
        start: int = 1,
        count: int = 1000,
        links: bool = True,
    ) -> tuple[int, list[Person]]:
        """Return how many people match and ``count`` of them from ``start`` (1-based).

        ``links=False`` leaves the ids of each person's groups and manager unread
        (``group_ids`` and ``manager_id`` None): a list that shows neither costs less.
        """

    def iter_people(self, school: str | None = None, level: str | None = None) -> Iterator[Person]:
        """Yield every person (optionally of one school and level), streamed."""


class PeopleWriter(Protocol):
    """Create, change and remove people."""

    def role_for(self, login_id: LoginId, role: Role | None = None) -> Role:
        """Return the role a login ID's domain stands for; InvalidValue for another domain."""

    def create(self, new: NewPerson) -> Person:
        """Add a person, taking the first free login ID from the name unless one is given."""

    def update(
        self,
        person_id: str,
        change: PersonChange,
        version: str | None = None,
        password: str | None = None,
        locked: bool | None = None,
        before: Person | None = None,
    ) -> Person:
        """Change fields, password and lock in one write, only at ``version`` if given.

        ``before``: the person as the caller has just read them, so they need not be found again.
        """

    def rename_login(self, person_id: str, login_id: LoginId | None = None) -> Person:
        """Give a person a new login ID (chosen, or made again from their name).

        A login ID in another role's domain changes the role, its OU and its policy too.
        """

    def change_role(self, person_id: str, role: Role) -> Person:
        """Move a person to another role and its domain, keeping their id."""

    def delete(self, person_id: str, version: str | None = None) -> None:
        """Remove a person and their group memberships."""


class People(PeopleReader, PeopleWriter, Protocol):
    """Read and write people."""


class Groups(Protocol):
    """Read and write groups; members are people's ids."""

    def get(self, group_id: str, members: bool = True) -> Group:
        """Return the group with this id (members read only if asked); NotFound otherwise."""

    def search(
        self,
        query: Query,
        order: Sequence[Sort] = (),
        start: int = 1,
        count: int = 1000,
        members: bool = True,
    ) -> tuple[int, list[Group]]:
        """Return how many groups match and ``count`` of them from ``start`` (1-based)."""

    def ids_of(self, names: Iterable[str]) -> dict[str, str]:
        """Return {group name: id} for the groups among these names."""

    def create(self, name: str, external_id: str | None, member_ids: Sequence[str]) -> Group:
        """Add a client-made group; AlreadyExists if the name is taken."""

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
        """Rename, set externalId (False: leave it), and add, remove or replace members."""

    def delete(self, group_id: str, version: str | None = None) -> None:
        """Remove a client-made group."""


class Credentials(Protocol):
    """Passwords, policies and locks: sign in, change, reset, unlock."""

    book: PolicyBook

    def sync_policies(self) -> list[str]:
        """Write every configured policy where directory readers see it; return the names."""

    def policy_of(self, person: Person) -> str:
        """Return the name of the policy that applies to a person now."""

    def check(self, person: Person, password: str) -> None:
        """Raise PolicyViolation with every rule the password breaks."""

    def set_password(self, person: Person, password: str) -> None:
        """Change a password on the person's behalf, after checking it."""

    def reset(self, person: Person, actor: str) -> str:
        """Set and return a temporary password that must be changed at next sign-in."""

    def unlock(self, person: Person, actor: str) -> None:
        """Lift a lock from failed sign-ins."""

    def assign(self, person: Person) -> bool:
        """Point a person at the policy the rules choose; return whether it changed."""

    def sign_in(self, person: Person | None, password: str) -> SignIn:
        """Check a password as the directory does, counting a failure toward a lock.

        Nobody (None), a disabled or a locked person: refused after the same work as a wrong
        password, so the time does not tell them apart.
        """


class Answers(Protocol):
    """Challenge answers, reset attempts and set-up flags of accounts."""

    def find(self, login_id: LoginId) -> AnswerState | None:
        """Return the state of the account with this login ID, or None."""

    def get(self, key: AccountKey) -> AnswerState:
        """Return the state of the account ``key`` names; NotFound if it is gone."""

    def set_answers(
        self, key: AccountKey, stored: Sequence[str], recovery_email: str | None = None
    ) -> None:
        """Replace the (hashed) answers and clear the must-set flag."""

    def replace_answer(self, key: AccountKey, old: str, new: str) -> None:
        """Swap one stored hash for a rehashed one."""

    def claim_attempt(
        self, key: AccountKey | None, limit: AttemptLimit, known: AnswerState | None = None
    ) -> bool:
        """Count one attempt at the answers atomically, before they are checked.

        Return False, counting nothing, when self-service reset is closed for the account, or
        when there is no account to count for (None); both cost what a counted attempt costs.
        ``known``: the account's state as just read, which spares the first try a read.
        """

    def clear_failures(self, key: AccountKey) -> None:
        """Forget counted attempts and any lock after a right set of answers."""

    def reopen(self, key: AccountKey) -> None:
        """Open self-service reset again after it closed."""

    def require_new_answers(self, key: AccountKey) -> None:
        """Make the person choose new answers at next sign-in."""

    def clear_answers(self, key: AccountKey) -> None:
        """Forget the stored answers and counted attempts; new ones are chosen at next sign-in."""

    def start_year(self, key: AccountKey) -> None:
        """Make the person choose a new password and new answers at next sign-in."""

    def set_password_once(self, key: AccountKey, password: str, version: str) -> None:
        """Write a password only if the account is still at ``version``; else StaleToken."""


class Grants(Protocol):
    """Administrators' grants (``core/administration.py``), kept where LDAP readers see them.

    A grant names the person, not their login ID: a rename keeps it, a delete ends it.
    """

    def grant(self, login_id: LoginId, scopes: Iterable[GrantScope]) -> Administrator:
        """Add grants to a person (those held already stay); NotFound for an unknown login."""

    def revoke(
        self, login_id: LoginId, scopes: Iterable[GrantScope] | None = None
    ) -> Administrator:
        """Take grants away (None: every one); NotFound for an unknown login.

        Return what the person still holds; revoking a grant not held changes nothing.
        """

    def list(self) -> list[Administrator]:
        """Return every person holding a grant, with their grants, by login ID."""

    def of(self, login_id: LoginId) -> frozenset[GrantScope]:
        """Return the grants a person holds (empty for nobody or a person without any)."""


class Tokens(Protocol):
    """API tokens, stored by their hash."""

    def create(
        self, name: str, hashed: str, scopes: tuple[Scope, ...], description: str | None = None
    ) -> None:
        """Store a token's hash under a unique name."""

    def list(self) -> list[TokenInfo]:
        """Return every token's name and scopes."""

    def find(self, hashed: str) -> tuple[TokenInfo, str] | None:
        """Return the token with this hash and its stored hash, or None."""

    def revoke(self, name: str) -> None:
        """Remove a token; NotFound if there is none of that name."""


class ServiceAccounts(Protocol):
    """Accounts of programs (SSO tools, GCDS, readers, writers), each in one role."""

    def create(self, name: str, role: ServiceRole, secret: str) -> ServiceAccount:
        """Make an account with this secret in this role; AlreadyExists if the name is used."""

    def list(self) -> list[ServiceAccount]:
        """Return every service account, the bridge's own among them, by name."""

    def rotate(self, name: str, secret: str) -> ServiceAccount:
        """Give an account a new secret (the old one stops binding); NotFound if none."""

    def revoke(self, name: str) -> None:
        """Take an account out of its role and delete it; NotFound if there is none."""


class RosterImport(Protocol):
    """Apply roster rows to the directory: idempotent, safe to stop and run again."""

    def run(
        self,
        items: Iterable[Row | Rejected],
        on_reject: Callable[[Rejected], None] = ...,
        on_progress: Callable[[int], None] = ...,
    ) -> Summary:
        """Create, update or leave each row's person; report rejects and progress."""
