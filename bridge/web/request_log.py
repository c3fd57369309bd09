"""One access line per request, and the request's fields on every line logged in it.

The fields name the request, never the person: the route is Flask's rule template
(``/scim/v2/Users/<id>``, never the path a client sent), the actor a SCIM token's name or a
signed-in person's opaque id (never a login ID), the error the code of the door's error table.
The doors say who acts (:func:`name_actor`) and which error answered (:func:`name_error`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from bridge.web import request_id

FIELDS = ("request_id", "route", "method", "status", "duration_ms", "actor", "error")

log = logging.getLogger("mims.access")


def init_app(app: Flask) -> None:
    """Time every request of ``app`` and log one line when its response is ready."""
    app.before_request(_start)
    app.after_request(_access)


def name_actor(actor: str) -> None:
    """Say who acts in this request: a SCIM token's name or a person's opaque id."""
    if has_request_context():
        g.log_actor = actor


def name_error(code: str) -> None:
    """Say which error of the door's table answered this request."""
    if has_request_context():
        g.log_error = code


def fields() -> dict[str, Any]:
    """Return the current request's fields (all None outside a request)."""
    if not has_request_context():
        return {}
    rule = request.url_rule
    return {
        "request_id": request_id.current(),
        "route": rule.rule if rule is not None else None,
        "method": request.method,
        "actor": g.get("log_actor"),
        "error": g.get("log_error"),
    }


def _start() -> None:
    g.setdefault("log_started", time.perf_counter())


def _access(response: Response) -> Response:
    status = response.status_code
    started = g.get("log_started", time.perf_counter())
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    found = fields()
    route = found["route"] or "(no route)"
    # A Bulk request's failed operations answer inside a 200: the line's error is the request's.
    error = (found["error"] or f"http_{status}") if status >= 400 else None
    log.info(
        "%s %s %d %.1f ms",
        request.method,
        route,
        status,
        duration_ms,
        extra={"status": status, "duration_ms": duration_ms, "error": error},
    )
    return response
