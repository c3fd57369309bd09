"""The one place where ldap3's errors become domain errors (STYLE.md, habit 6)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ldap3.core import exceptions as ldap

from bridge.errors import (
    AlreadyExists,
    BridgeError,
    DirectoryUnavailable,
    InvalidValue,
    NameTaken,
    NotFound,
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
            raise AlreadyExists("that login ID or external ID is already used") from None
        raise InvalidValue("the directory refused a value") from None
    except ldap.LDAPAssertionFailedResult:
        raise PreconditionFailed("the resource has changed since the version you sent") from None
    except ldap.LDAPInvalidCredentialsResult:
        raise DirectoryUnavailable("the directory refused the bridge's credentials") from None
    except ldap.LDAPException as exc:
        raise DirectoryError(
            f"the directory refused the operation ({type(exc).__name__})"
        ) from None
