"""The console API's JSON errors: ``{"error": code, "detail": words}``, the portal's shape.

The console's own refusals (``ConsoleError``) carry their code, status and words. Domain
errors are answered by their status: out of scope is the same 404 as a missing id (so that
an id never tells whether someone exists outside one's scope), a role's forbidden action 403.
A 500 names only its request id (bridge/web/json_errors.py).
"""

from __future__ import annotations

from bridge.errors import BridgeError
from bridge.web.json_errors import INTERNAL, JsonError, answer

# The largest body any console form or API call takes: a login ID and a password, a search.
MAX_BODY_BYTES = 8 * 1024

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
    found = BY_STATUS.get(error.status, INTERNAL) if isinstance(error, BridgeError) else INTERNAL
    return answer(error, found, "the admin console")
