"""A person changes their own password: one rule path for every door that offers it.

The portal's "change password" and the LDAP password-change service (``ldappasswd``, SSSD's
``passwd``) both come here, so a new password meets the same rules, gets the same words and
leaves the same audit event whichever way it came. The current password is checked by a bind
as the person (``Credentials.sign_in``): a wrong one counts toward the account's lock, and a
locked, disabled or unknown account costs what a wrong password costs.

The words are the portal's; a front door may show them as they are.
"""

from __future__ import annotations

from bridge.core.accounts import SignIn, StaleToken
from bridge.core.naming import InvalidLoginId, LoginId
from bridge.core.people import Person
from bridge.core.services import Services
from bridge.errors import BridgeError, Locked

ASK_SCHOOL = "ask your teacher or the school office"
WRONG_SIGN_IN = (
    "Wrong login ID or password, or the account is temporarily locked: try again later"
    " or ask your form teacher. Capital letters matter in the password."
)
WRONG_CURRENT = "Your current password is not right. Please type it again."
LOCKED = (
    "Your account is temporarily locked to prevent unauthorized use."
    f" To open it again, {ASK_SCHOOL}."
)


class WrongPassword(BridgeError):
    """The current password given was not right (or there is no such usable account)."""

    status = 400

    def __init__(self, words: str = WRONG_CURRENT) -> None:
        super().__init__(words)


def login_id(text: str) -> LoginId | None:
    """Return the login ID typed, or None if it cannot be one (treated like an unknown ID)."""
    try:
        return LoginId.parse(text.strip())
    except (InvalidLoginId, ValueError):
        return None


def find(services: Services, login: str) -> Person | None:
    """Return the person a typed login ID (their mail) names, or None."""
    parsed = login_id(login)
    return services.people.find_login(parsed) if parsed else None


def sign_in(services: Services, person: Person | None, password: str) -> SignIn:
    """Check a person's password by a bind; a failure counts toward their lock.

    An empty password is refused before any lookup or bind: the same for every login ID.
    """
    if not password:
        return SignIn(ok=False)
    return services.passwords.sign_in(person, password)


def change(services: Services, person: Person, current: str, new: str) -> None:
    """Change a person's own password after checking the current one.

    Raise WrongPassword for a wrong current password (also for a disabled account), Locked
    when ppolicy has locked the account, and PolicyViolation with every rule the new password
    breaks (the policy's checks first, then slapd's length and history). The write clears
    must-change (pwdReset) and is audited as ``password.change``.
    """
    result = sign_in(services, person, current)
    if result.locked:
        raise Locked(LOCKED)
    if not result.ok:
        raise WrongPassword()
    services.passwords.check(person, new)
    state = services.answers.find(person.login_id)
    if state is None:
        raise WrongPassword()
    try:
        services.answers.set_password_once(state.key, new, state.version)
    except StaleToken:  # something else wrote to the entry meanwhile: read it again once
        state = services.answers.find(person.login_id)
        if state is None:
            raise WrongPassword() from None
        services.answers.set_password_once(state.key, new, state.version)


class OwnPassword:
    """Sign-in and change by a typed login ID, for doors without a session (LDAP)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def verify(self, login: str, password: str) -> bool:
        """Return whether the password is the person's; unknown IDs cost a bind as well."""
        if not password:
            return False
        return sign_in(self.services, find(self.services, login), password).ok

    def change(self, login: str, current: str, new: str) -> None:
        """Change the password of the person a login ID names (see :func:`change`)."""
        person = find(self.services, login)
        if person is None:
            sign_in(self.services, None, current)  # the work a wrong password costs
            raise WrongPassword()
        change(self.services, person, current, new)
