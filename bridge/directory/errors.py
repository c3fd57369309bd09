"""The one place where LDAP results become domain errors (STYLE.md, habit 6).

Both LDAP libraries report the server's RFC 4511 result code: ldap3's exceptions carry it as
``.result``, python-ldap's as ``args[0]["result"]``, and ldap3's result dicts as ``["result"]``.
``RESULTS`` says, for every code the bridge can meet, which domain error it is and in which
words; ``translated``, ``error_for_code`` and ``raise_for_password_result`` all read it, so a
refusal means the same whichever library or path met it. The server's own diagnostic text goes
to the log, never into an error's words.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class Row:
    """One row of the table: an LDAP result and the domain error it becomes."""

    name: str
    error: type[BridgeError]
    words: str


_UNAVAILABLE = "the directory does not answer"
_REFUSED = "the directory refused the operation"
_CREDENTIALS = "the directory refused the bridge's credentials"

# RFC 4511 section 4.1.9 and appendix A, with the codes of RFC 3909 (cancel), RFC 4528
# (assertion), RFC 4370 (proxied authorization) and RFC 4533 (syncrepl), every other code
# either library knows, and the client-side codes of libldap (negative today, 81-91 in the
# LDAPv2 API) that python-ldap reports. A refusal the client's data caused is InvalidValue
# (400); one that says the bridge or the directory is set up wrong is DirectoryError (500).
RESULTS: dict[int, Row] = {
    1: Row("operationsError", DirectoryError, _REFUSED),
    2: Row("protocolError", DirectoryError, _REFUSED),
    3: Row("timeLimitExceeded", DirectoryUnavailable, "the directory took too long to answer"),
    4: Row("sizeLimitExceeded", DirectoryError, _REFUSED),
    5: Row("compareFalse", DirectoryError, _REFUSED),
    6: Row("compareTrue", DirectoryError, _REFUSED),
    7: Row("authMethodNotSupported", DirectoryUnavailable, _CREDENTIALS),
    8: Row("strongerAuthRequired", DirectoryUnavailable, _CREDENTIALS),
    9: Row("partialResults", DirectoryError, _REFUSED),  # LDAPv2, still in libldap
    # A read-only consumer (`mims slapd init-replica --read-only`) answers every write so.
    10: Row(
        "referral",
        DirectoryUnavailable,
        "the directory server sent the bridge to another: a read-only replica takes no writes",
    ),
    11: Row("adminLimitExceeded", DirectoryError, _REFUSED),
    12: Row("unavailableCriticalExtension", DirectoryError, _REFUSED),
    13: Row("confidentialityRequired", DirectoryUnavailable, _CREDENTIALS),
    14: Row("saslBindInProgress", DirectoryError, _REFUSED),
    16: Row("noSuchAttribute", InvalidValue, "a value to remove is not there"),
    17: Row("undefinedAttributeType", DirectoryError, _REFUSED),
    18: Row("inappropriateMatching", DirectoryError, _REFUSED),
    19: Row("constraintViolation", InvalidValue, "the directory refused a value"),
    20: Row("attributeOrValueExists", InvalidValue, "that value is already there"),
    21: Row("invalidAttributeSyntax", InvalidValue, "a value has a form the directory cannot hold"),
    32: Row("noSuchObject", NotFound, "no such entry"),
    33: Row("aliasProblem", DirectoryError, _REFUSED),
    34: Row("invalidDNSyntax", InvalidValue, "a name has a form the directory cannot hold"),
    35: Row("isLeaf", DirectoryError, _REFUSED),  # LDAPv2, still in libldap
    36: Row("aliasDereferencingProblem", DirectoryError, _REFUSED),
    47: Row("proxiedAuthorizationDenied", DirectoryError, _REFUSED),  # libldap's name
    48: Row("inappropriateAuthentication", DirectoryUnavailable, _CREDENTIALS),
    49: Row("invalidCredentials", DirectoryUnavailable, _CREDENTIALS),
    50: Row("insufficientAccessRights", DirectoryError, _REFUSED),
    51: Row("busy", DirectoryUnavailable, _UNAVAILABLE),
    52: Row("unavailable", DirectoryUnavailable, _UNAVAILABLE),
    53: Row("unwillingToPerform", DirectoryError, _REFUSED),
    54: Row("loopDetect", DirectoryError, _REFUSED),
    64: Row("namingViolation", InvalidValue, "a name breaks the directory's naming rules"),
    65: Row("objectClassViolation", InvalidValue, "the entry would lack a value it needs"),
    66: Row("notAllowedOnNonLeaf", DirectoryError, _REFUSED),
    67: Row("notAllowedOnRDN", InvalidValue, "that value names the entry and cannot be removed"),
    68: Row("entryAlreadyExists", NameTaken, "an entry with that name already exists"),
    69: Row("objectClassModsProhibited", DirectoryError, _REFUSED),
    70: Row("resultsTooLarge", DirectoryError, _REFUSED),  # LDAPv2 (CLDAP), still in libldap
    71: Row("affectsMultipleDSAs", DirectoryError, _REFUSED),
    76: Row("vlvError", DirectoryError, _REFUSED),  # draft-ietf-ldapext-ldapv3-vlv
    80: Row("other", DirectoryError, _REFUSED),
    # RFC 3928 (LCUP), which ldap3 knows; slapd does not implement it.
    113: Row("lcupResourcesExhausted", DirectoryError, _REFUSED),
    114: Row("lcupSecurityViolation", DirectoryError, _REFUSED),
    115: Row("lcupInvalidData", DirectoryError, _REFUSED),
    116: Row("lcupUnsupportedScheme", DirectoryError, _REFUSED),
    117: Row("lcupReloadRequired", DirectoryError, _REFUSED),
    118: Row("canceled", DirectoryError, _REFUSED),
    119: Row("noSuchOperation", DirectoryError, _REFUSED),
    120: Row("tooLate", DirectoryError, _REFUSED),
    121: Row("cannotCancel", DirectoryError, _REFUSED),
    122: Row(
        "assertionFailed", PreconditionFailed, "the resource has changed since the version you sent"
    ),
    123: Row("authorizationDenied", DirectoryError, _REFUSED),
    4096: Row("syncRefreshRequired", DirectoryError, _REFUSED),
    -1: Row("serverDown", DirectoryUnavailable, _UNAVAILABLE),
    -2: Row("localError", DirectoryError, _REFUSED),
    -3: Row("encodingError", DirectoryError, _REFUSED),
    -4: Row("decodingError", DirectoryError, _REFUSED),
    -5: Row("timeout", DirectoryUnavailable, _UNAVAILABLE),
    -6: Row("authUnknown", DirectoryError, _REFUSED),
    -7: Row("filterError", DirectoryError, _REFUSED),
    -8: Row("userCancelled", DirectoryError, _REFUSED),
    -9: Row("paramError", DirectoryError, _REFUSED),
    -10: Row("noMemory", DirectoryError, _REFUSED),
    -11: Row("connectError", DirectoryUnavailable, _UNAVAILABLE),
    -12: Row("notSupported", DirectoryError, _REFUSED),
    -13: Row("controlNotFound", DirectoryError, _REFUSED),
    -14: Row("noResultsReturned", DirectoryError, _REFUSED),
    -15: Row("moreResultsToReturn", DirectoryError, _REFUSED),
    -16: Row("clientLoop", DirectoryError, _REFUSED),
    -17: Row("referralLimitExceeded", DirectoryError, _REFUSED),
    81: Row("serverDown", DirectoryUnavailable, _UNAVAILABLE),
    85: Row("timeout", DirectoryUnavailable, _UNAVAILABLE),
    91: Row("connectError", DirectoryUnavailable, _UNAVAILABLE),
}
CONSTRAINT_VIOLATION = 19
# slapd's unique overlay refuses a duplicate mail or mimsExternalId as a constraintViolation
# whose text says so; nothing else in the result tells it apart from other constraints.
UNIQUE = Row(
    "constraintViolation (unique overlay)",
    AlreadyExists,
    "that login ID, userName, e-mail address or external ID is already used",
)
UNIQUE_TEXT = "non-unique"
UNKNOWN = Row("unknown result", DirectoryError, _REFUSED)


def row_for(code: int, message: str = "") -> Row:
    """Return the table row for a result code and the server's diagnostic text."""
    if code == CONSTRAINT_VIOLATION and UNIQUE_TEXT in message:
        return UNIQUE
    return RESULTS.get(code, UNKNOWN)


def error_for_code(code: int, message: str = "") -> BridgeError:
    """Return the domain error for an LDAP result code (RFC 4511 section 4.1.9).

    ``message`` is the server's diagnostic text: it is logged for errors the bridge did not
    expect and read only to tell the unique overlay's refusals apart, never shown.
    """
    row = row_for(code, message)
    if row.error is DirectoryError:
        log.info("the directory refused an operation: %s (%d): %s", row.name, code, message)
        return DirectoryError(f"{row.words}: {row.name} ({code})")
    return row.error(row.words)


def error_for_result(result: Mapping[str, Any]) -> BridgeError:
    """Return the domain error for an ldap3 result or a python-ldap error's details."""
    message = result.get("message") or result.get("info") or ""
    return error_for_code(int(result.get("result", 80)), str(message))


@contextmanager
def translated() -> Iterator[None]:
    """Turn ldap3 exceptions raised inside the block into domain errors."""
    try:
        yield
    except CONNECTION_ERRORS:
        raise DirectoryUnavailable(_UNAVAILABLE) from None
    except ldap.LDAPOperationResult as exc:
        raise error_for_code(int(exc.result), str(exc.message or "")) from None
    except ldap.LDAPException as exc:
        # ldap3 refused before sending (a bad attribute, filter or control): a bridge bug.
        log.info("the LDAP library refused an operation: %r", exc)
        raise DirectoryError(_REFUSED) from None


# What slapd's password policy (draft-behera-ldap-password-policy section 6.2) means for a
# person, in the same plain words as the core's rules.
PPOLICY_FAILURES = {
    "passwordInHistory": ("in_history", "You have used this password before. Choose a new one."),
    "passwordTooShort": ("too_short", "Make it longer."),
    "passwordTooLong": ("too_long", "Make it shorter."),
    "insufficientPasswordQuality": ("too_weak", "Choose a stronger password."),
    "passwordTooYoung": ("too_soon", "You changed it very recently. Try again later."),
    "passwordModNotAllowed": ("not_allowed", "This password cannot be changed here."),
    "mustSupplyOldPassword": ("not_allowed", "This password cannot be changed here."),
}
# The other ppolicy errors: not a broken rule but the state of an account.
PPOLICY_REFUSALS: dict[str, Row] = {
    "accountLocked": Row("accountLocked", Locked, "the account is locked"),
    # Only the bridge's own account could be asked to change its password on a modify.
    "passwordExpired": Row("passwordExpired", DirectoryUnavailable, _CREDENTIALS),
    "changeAfterReset": Row("changeAfterReset", DirectoryUnavailable, _CREDENTIALS),
}


def raise_for_password_result(result: Mapping[str, Any], ppolicy_error: str | None) -> None:
    """Raise the domain error for a password modify that slapd refused (ppolicy-aware).

    The ppolicy control says more than the result code (a constraintViolation may be any of
    its rules), so it is read first; without it the result code decides, as everywhere.
    """
    if result.get("result") == 0:
        return
    if ppolicy_error in PPOLICY_FAILURES:
        raise PolicyViolation([PPOLICY_FAILURES[ppolicy_error]])
    refusal = PPOLICY_REFUSALS.get(ppolicy_error or "")
    if refusal is not None:
        raise refusal.error(refusal.words)
    raise error_for_result(result)
