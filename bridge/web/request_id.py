"""A request id on every response, so a 500's reference finds its traceback in the log.

Each request gets a fresh random id, or the ``X-Request-Id`` a trusted proxy sent (``[http]
trusted_proxies``, ``proxies.py``) when it is short and plain (``VALID``): a client's own value
is never believed, it goes into log lines and the audit trail. It is returned in the
``X-Request-Id`` header of every response, named in the detail of every 500 and logged with
its traceback. A SCIM Bulk operation runs as a sub-request and keeps the id of
the request that carried it (``ENVIRON_KEY``).
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request

from bridge.web.proxies import TRUSTED_KEY

HEADER = "X-Request-Id"
ENVIRON_KEY = "mims.request_id"
# What a proxy's id may be: nothing that could forge a log line or carry a name.
VALID = re.compile(r"[A-Za-z0-9._-]{1,64}")
INTERNAL = "something went wrong inside the bridge"

log = logging.getLogger("bridge.errors")


def init_app(app: Flask) -> None:
    """Give every request of ``app`` an id and return it in a header."""
    app.before_request(_assign)
    app.after_request(_header)


def current() -> str:
    """Return the current request's id (a new one outside a request or before assignment)."""
    if not has_request_context():
        return uuid.uuid4().hex
    if "request_id" not in g:
        g.request_id = request.environ.get(ENVIRON_KEY) or _forwarded() or uuid.uuid4().hex
    found: str = g.request_id
    return found


def log_internal(error: BaseException, where: str) -> str:
    """Log an internal error with its traceback and the request id; return the id."""
    request_id = current()
    log.error(
        "internal error in %s (request id %s): %s",
        where,
        request_id,
        error,
        exc_info=(type(error), error, error.__traceback__),
    )
    return request_id


def internal_error(error: BaseException, where: str) -> str:
    """Log an internal error; return words that say only under which request id to look."""
    return f"{INTERNAL} (request id {log_internal(error, where)})"


def _forwarded() -> str | None:
    """Return the id a trusted proxy sent, if it sent a valid one."""
    if not request.environ.get(TRUSTED_KEY):
        return None
    sent = request.headers.get(HEADER, "")
    return sent if VALID.fullmatch(sent) else None


def _assign() -> None:
    current()


def _header(response: Response) -> Response:
    response.headers[HEADER] = current()
    return response
