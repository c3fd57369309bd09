"""The console's sign-in and sessions in plain Python: who is at the keyboard, and may they stay.

An administrator signs in with their own MIMS account, by the same bind as the portal (the
same password policy and ppolicy lockout; unknown, wrong, locked and disabled are one answer
after the same work). Only someone with a grant gets a session. The session is kept on the
server (``bridge/web/session_store.py``, its own file ``console_sessions.sqlite``) and is
checked on every request: a disable, a lock, a new password or a revoked grant ends it.

What an administrator may see and do is not decided here: ``for_actor`` of the core's
administration service returns the scoped object every view calls (bridge/core/admin_console.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.core import own_password
from bridge.core.admin_console import AdminConsole, ScopedConsole
from bridge.core.people import Person
from bridge.core.services import Services
from bridge.errors import BridgeError, Refused
from bridge.web.session_store import SessionStore, session_person, stamp_of

CONSOLE_SESSIONS_FILE = "console_sessions.sqlite"


class ConsoleError(Refused):
    """A refusal the console shows as it is: status, code and words for a school office."""


class WrongSignIn(ConsoleError):
    """Wrong login ID or password, or a locked or disabled account: one answer for all."""

    status = 401
    code = "wrong_login"
    words = (
        "Wrong login ID or password, or the account is temporarily locked. Capital letters"
        " matter in the password."
    )


class NotSignedIn(ConsoleError):
    """No session, or one that is over."""

    status = 401
    code = "not_signed_in"
    words = "Please sign in first."


class NoAccess(ConsoleError):
    """The password was right, but the account holds no grant to administer anyone."""

    status = 403
    code = "no_access"
    words = (
        "Your account does not have access to the admin console. If you need it, ask a MIMS"
        " administrator."
    )


class ChangePasswordFirst(ConsoleError):
    """A temporary password must be changed (at the portal) before the console opens."""

    status = 403
    code = "change_password_first"
    words = "Your password is a temporary one. Change it at the MIMS portal, then sign in here."


class MissingFields(ConsoleError):
    """A request the console cannot read, or one with a box left empty."""

    code = "bad_request"
    words = "Something is missing. Please fill in every box and try again."


@dataclass(frozen=True)
class Actor:
    """The signed-in administrator and the scoped service that acts for them."""

    person: Person
    scoped: ScopedConsole

    @property
    def login_id(self) -> str:
        """Return the administrator's login ID."""
        return str(self.person.login_id)

    @property
    def name(self) -> str:
        """Return the administrator's name as pages show it."""
        return self.person.display_name or self.person.full_name


class Console:
    """Sign-in, sessions and the scoped service of whoever is signed in."""

    def __init__(
        self, services: Services, administration: AdminConsole, store: SessionStore
    ) -> None:
        self.services = services
        self.administration = administration
        self.store = store

    def sign_in(self, login: str, password: str) -> Actor:
        """Check a login ID and password by a bind, then the grant; return the administrator."""
        outcomes = self.services.outcomes
        if not password:
            outcomes.sign_in("wrong")
            raise WrongSignIn()
        login_id = own_password.login_id(login)
        person = self.services.people.find_sign_in(login_id) if login_id else None
        result = self.services.passwords.sign_in(person, password)
        if person is None or not result.ok:
            outcomes.sign_in(
                "disabled" if result.disabled else "locked" if result.locked else "wrong"
            )
            raise WrongSignIn()
        outcomes.sign_in("success")
        person = self.services.people.get(person.id)  # whole, now that the password was right
        if person.must_change:
            raise ChangePasswordFirst()
        return Actor(person, self._scoped(person, NoAccess))

    def start_session(self, actor: Actor) -> str:
        """Begin a server-side session for an administrator who just signed in; return its id."""
        return self.store.start(actor.person.id, stamp_of(actor.person))

    def actor(self, session_id: str | None) -> Actor:
        """Return who a session is for, as they are now; NotSignedIn once it is over."""
        person = session_person(
            self.store, self.services.people, session_id, lambda person: person.must_change
        )
        if person is None:
            raise NotSignedIn()
        try:
            return Actor(person, self._scoped(person, NotSignedIn))
        except NotSignedIn:
            self.store.end_person(person.id)
            raise

    def drop(self, session_id: str | None) -> None:
        """Forget one session (a browser signing in again gets a new id)."""
        if session_id:
            self.store.end(session_id)

    def end(self, session_id: str | None) -> None:
        """Sign out: end this session and every other console session of the same person."""
        found = self.store.find(session_id) if session_id else None
        if session_id:
            self.store.end(session_id)
        if found is not None:
            self.store.end_person(found.person_id)

    def _scoped(self, person: Person, refusal: type[ConsoleError]) -> ScopedConsole:
        """Return the administration service scoped to a person's grants, or refuse."""
        try:
            return self.administration.for_actor(str(person.login_id))
        except BridgeError as exc:
            if exc.status in (403, 404):
                raise refusal() from None
            raise
