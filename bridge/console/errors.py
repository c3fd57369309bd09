"""The console API's JSON errors: ``{"error": code, "detail": words}``, the portal's shape.

The console's own refusals (``ConsoleError``) carry their code, status and words. Domain
errors are answered by their status: out of scope is the same 404 as a missing id (so that
an id never tells whether someone exists outside one's scope), a role's forbidden action 403.
A 500 names only its request id.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.console.service import ConsoleError
from bridge.errors import BridgeError
from bridge.web.request_id import log_internal

# The largest body any console form or API call takes: a login ID and a password, a search.
MAX_BODY_BYTES = 8 * 1024


@dataclass(frozen=True)
class JsonError:
    """How the console shows one kind of error."""

    code: str
    status: int
    words: str


INTERNAL = JsonError("error", 500, "Something went wrong on our side. Please try again later.")
BY_STATUS: dict[int, JsonError] = {
    400: JsonError(
        "invalid_value", 400, "That cannot be done. Check what you typed and try again."
    ),
    403: JsonError("forbidden", 403, "Your role does not allow this. Ask a school administrator."),
    404: JsonError("not_found", 404, "There is nobody with that id that you can see."),
    409: JsonError("changed", 409, "This account changed meanwhile. Please look again."),
    412: JsonError("changed", 409, "This account changed meanwhile. Please look again."),
    423: JsonError("locked", 423, "That account is locked."),
    429: JsonError(
        "too_many_tries",
        429,
        "Too many tries from this address. Please wait a few minutes and try again.",
    ),
    503: JsonError("unavailable", 503, "The service is not working right now. Try again later."),
}


def json_error(error: BaseException) -> tuple[str, str, int]:
    """Return the code, words and status the console answers an error with."""
    if isinstance(error, ConsoleError):
        return error.code, error.detail, error.status
    found = INTERNAL
    if isinstance(error, BridgeError):
        found = BY_STATUS.get(error.status, INTERNAL)
    if found.status == 500:
        request_id = log_internal(error, "the admin console")
        return found.code, f"{found.words} (request id {request_id})", 500
    return found.code, found.words, found.status
