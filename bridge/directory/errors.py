"""The one place where ldap3's errors become domain errors (STYLE.md, habit 6)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ldap3.core import exceptions as ldap

from bridge.errors import (
    AlreadyExists,
    BridgeError,
    DirectoryUnavailable,
    InvalidValue,
    Locked,
    NameTaken,
    NotFound,
    PolicyViolation,
    PreconditionFailed,
)

# The server is gone, slow or refusing work: the caller may try again later or elsewhere.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    ldap.LDAPSocketOpenError,
    ldap.LDAPSocketReceiveError,
    ldap.LDAPSocketSendError,
    ldap.LDAPSocketCloseError,
    ldap.LDAPSessionTerminatedByServerError,
    ldap.LDAPServerPoolExhaustedError,
    ldap.LDAPResponseTimeoutError,
    ldap.LDAPBusyResult,
    ldap.LDAPUnavailableResult,
)


class DirectoryError(BridgeError):
    """The directory refused an operation for a reason the bridge did not expect."""

    status = 500


@contextmanager
def translated() -> Iterator[None]:
    """Turn ldap3 exceptions raised inside the block into domain errors."""
    try:
        yield
    except CONNECTION_ERRORS:
        raise DirectoryUnavailable("the directory does not answer") from None
    except ldap.LDAPNoSuchObjectResult:
        raise NotFound("no such entry") from None
    except ldap.LDAPEntryAlreadyExistsResult:
        raise NameTaken("an entry with that name already exists") from None
    except ldap.LDAPConstraintViolationResult as exc:
        if "non-unique" in str(exc.message):  # the unique overlay: mail or mimsExternalId
            raise AlreadyExists("that login ID, userName or external ID is already used") from None
        raise InvalidValue("the directory refused a value") from None
    except ldap.LDAPAssertionFailedResult:
        raise PreconditionFailed("the resource has changed since the version you sent") from None
    except ldap.LDAPInvalidCredentialsResult:
        raise DirectoryUnavailable("the directory refused the bridge's credentials") from None
    except ldap.LDAPException as exc:
        raise DirectoryError(
            f"the directory refused the operation ({type(exc).__name__})"
        ) from None


# What slapd's own password checks mean for a person, in the same plain words as the core's.
PPOLICY_FAILURES = {
    "passwordInHistory": ("in_history", "You have used this password before. Choose a new one."),
    "passwordTooShort": ("too_short", "Make it longer."),
    "passwordTooLong": ("too_long", "Make it shorter."),
    "insufficientPasswordQuality": ("too_weak", "Choose a stronger password."),
    "passwordTooYoung": ("too_soon", "You changed it very recently. Try again later."),
    "passwordModNotAllowed": ("not_allowed", "This password cannot be changed here."),
}


def raise_for_password_result(result: Mapping[str, Any], ppolicy_error: str | None) -> None:
    """Raise the domain error for a password modify that slapd refused (ppolicy-aware)."""
    if result.get("result") == 0:
        return
    if ppolicy_error in PPOLICY_FAILURES:
        raise PolicyViolation([PPOLICY_FAILURES[ppolicy_error]])
    if ppolicy_error == "accountLocked":
        raise Locked("the account is locked")
    if result.get("result") == 32:
        raise NotFound("no such entry")
    if result.get("result") in (51, 52):
        raise DirectoryUnavailable("the directory does not answer")
    raise DirectoryError(f"the directory refused the password change ({result.get('description')})")


def error_for_code(code: int, message: str = "") -> BridgeError:
    """Return the domain error for an LDAP result code (RFC 4511 section 4.1.9).

    For results read outside ldap3 (the bulk writer), keyed like ``translated`` above.
    """
    if code == 68:
        return NameTaken("an entry with that name already exists")
    if code == 19 and "non-unique" in message:
        return AlreadyExists("that login ID, userName or external ID is already used")
    if code in (19, 21, 65):
        return InvalidValue("the directory refused a value")
    if code == 32:
        return NotFound("no such entry")
    if code in (51, 52, 81, 85, 91):
        return DirectoryUnavailable("the directory does not answer")
    return DirectoryError(f"the directory refused the operation (result {code})")
