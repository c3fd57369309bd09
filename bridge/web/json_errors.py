"""The page doors' JSON errors: ``{"error": code, "detail": words}``, one way to answer them.

The portal's API and the console's API answer errors alike: their own refusals (a
:class:`~bridge.errors.Refused`) as they are, a domain error by the door's table of
:class:`JsonError`, and a 500 with words that name only its request id (the traceback goes to
the log).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.errors import Refused
from bridge.web import request_log
from bridge.web.request_id import log_internal


@dataclass(frozen=True)
class JsonError:
    """How a door shows one kind of error."""

    code: str
    status: int
    words: str


INTERNAL = JsonError("error", 500, "Something went wrong on our side. Please try again later.")


def answer(error: BaseException, found: JsonError, where: str) -> tuple[str, str, int]:
    """Return the code, words and status for ``error``, ``found`` in the door's table."""
    request_log.name_error(error.code if isinstance(error, Refused) else found.code)
    if isinstance(error, Refused):
        return error.code, error.detail, error.status
    if found.status == 500:
        request_id = log_internal(error, where)
        return found.code, f"{found.words} (request id {request_id})", 500
    return found.code, found.words, found.status
