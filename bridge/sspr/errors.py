"""The portal API's JSON errors: ``{"error": code, "detail": words}``, one mapping for all.

The portal's own refusals (``PortalError`` and its kinds in service.py) carry their code,
status and words as class attributes. ``DOMAIN_ERRORS`` is the one mapping for the domain
errors the directory and the rules raise, found by the nearest class in the error's ancestry.
Words are for children and parents: never driver text; a 500 names only its request id.
"""

from __future__ import annotations

import json

from bridge.errors import (
    AlreadyExists,
    BridgeError,
    DirectoryUnavailable,
    InvalidValue,
    Locked,
    NotFound,
    PreconditionFailed,
)
from bridge.sspr.service import ASK_SCHOOL, AccountLocked, PortalError
from bridge.web.front import Refusal
from bridge.web.json_errors import INTERNAL, JsonError, answer

# The largest body any portal form or API call takes: answers, passwords and a login ID are
# a few hundred bytes.
MAX_BODY_BYTES = 8 * 1024


class TooLarge(PortalError):
    """A body over ``MAX_BODY_BYTES`` (werkzeug's 413, when the app is served without the front)."""

    status = 413
    code = "too_large"
    words = "That is more than this page takes. Please try again."


class TooDeep(PortalError):
    """A JSON body nested deeper than any the portal asks for."""

    code = "bad_request"
    words = "That is not what this page expects. Please try again."


DOMAIN_ERRORS: dict[type[BridgeError], JsonError] = {
    DirectoryUnavailable: JsonError(
        "unavailable", 503, "The service is not working right now. Please try again later."
    ),
    NotFound: JsonError("not_found", 404, f"We cannot find your account. Please {ASK_SCHOOL}."),
    Locked: JsonError("locked", 423, AccountLocked.words),
    PreconditionFailed: JsonError(
        "changed", 409, "Your account changed while you were doing this. Please try again."
    ),
    AlreadyExists: JsonError("taken", 409, "Someone else already uses that. Choose another."),
    InvalidValue: JsonError(
        "invalid_value", 400, "That cannot be saved. Check what you typed and try again."
    ),
    BridgeError: INTERNAL,
}


def json_error(error: BaseException) -> tuple[str, str, int]:
    """Return the code, words and status the portal API answers an error with."""
    found = INTERNAL
    if isinstance(error, BridgeError):
        found = next(DOMAIN_ERRORS[kind] for kind in type(error).__mro__ if kind in DOMAIN_ERRORS)
    return answer(error, found, "the portal API")


def body_refusal(status: int, detail: str) -> Refusal:
    """Return the front's refusal of a body (413, 408) as the portal API's JSON error."""
    code = TooLarge.code if status == 413 else "too_slow"
    words = TooLarge.words if status == 413 else "That took too long to arrive. Please try again."
    body = json.dumps({"error": code, "detail": f"{words} ({detail})"}).encode()
    return Refusal(status, "application/json", body)
