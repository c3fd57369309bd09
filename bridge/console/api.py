"""The console's JSON API under /admin/api/: what the pages do, for scripts and tests.

Requests that send a body must be ``application/json`` (the API's CSRF defence, as the
portal's); every error is ``{"error": code, "detail": words}``. Out of scope is 404, without a
session 401, an action the role may not take 403: the scoped core service decides.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException, TooManyRequests

from bridge.console import present, sessions
from bridge.console.errors import BY_STATUS, MAX_BODY_BYTES, json_error
from bridge.console.service import MissingFields
from bridge.web.headers import add_security_headers
from bridge.web.json_depth import too_deep

blueprint = Blueprint("console_api", __name__, url_prefix="/admin/api")
DEFAULT_COUNT = 25
MAX_COUNT = 100


def error(code: str, detail: str, status: int) -> tuple[Response, int]:
    """Return a JSON error body and status."""
    return jsonify({"error": code, "detail": detail}), status


@blueprint.before_request
def _json_only() -> tuple[Response, int] | None:
    if request.method == "POST" and not request.is_json:
        return error("json_only", "Send this as JSON (Content-Type: application/json).", 415)
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    return add_security_headers(response, static_prefix="/admin/static/")


@blueprint.errorhandler(TooManyRequests)
def _too_many(_: TooManyRequests) -> tuple[Response, int]:
    """Answer a rate limit in the API's own shape (before the portal's page for it)."""
    found = BY_STATUS[429]
    return error(found.code, found.words, 429)


@blueprint.errorhandler(Exception)
def _failed(exc: Exception) -> tuple[Response, int] | HTTPException:
    """Answer every failure by the one mapping in console/errors.py."""
    if isinstance(exc, HTTPException):
        return routing_error(exc)
    code, detail, status = json_error(exc)
    return error(code, detail, status)


def routing_error(exc: HTTPException) -> tuple[Response, int] | HTTPException:
    """Answer werkzeug's own refusals (no such path, wrong method, too large) as JSON."""
    if exc.code == 413:
        return error("too_large", "That is more than this API takes.", 413)
    if exc.code == 404:
        found = BY_STATUS[404]
        return error(found.code, found.words, 404)
    if exc.code == 405:
        return error("method_not_allowed", "That method is not allowed here.", 405)
    return exc


def body() -> dict[str, Any]:
    """Return the JSON object sent (an empty body is an empty object), or refuse."""
    request.max_content_length = MAX_BODY_BYTES
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if too_deep(raw):
        raise MissingFields()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise MissingFields()
    return data


def text(data: dict[str, Any], key: str) -> str:
    """Return a required string field (at most 1,000 characters)."""
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise MissingFields()
    return value


def number(name: str, default: int, low: int, high: int) -> int:
    """Return a whole-number query parameter, kept between ``low`` and ``high``."""
    raw = request.args.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise MissingFields("startIndex and count are whole numbers.")
    return max(low, min(high, int(raw)))


@blueprint.post("/login")
def login() -> Response:
    """Sign in with one's own MIMS account; 200 and a session cookie for an administrator."""
    data = body()
    signed = sessions.sign_in(text(data, "loginId"), text(data, "password"))
    response = jsonify({"loginId": signed.login_id, "name": signed.name})
    return sessions.begin(response, signed)


@blueprint.post("/logout")
def logout() -> Response:
    """End the administrator's console sessions."""
    return sessions.end(jsonify({"next": "signed_out"}))


@blueprint.get("/people")
def people() -> Response:
    """Search the people in scope by name, login ID, class or level; one page."""
    scoped = sessions.actor().scoped
    start = number("startIndex", 1, 1, 10**9)
    count = number("count", DEFAULT_COUNT, 0, MAX_COUNT)
    args = request.args
    total, found = scoped.search(
        args.get("q", "")[:200],
        args.get("class", "")[:100],
        args.get("level", "")[:50],
        start,
        count,
    )
    return jsonify(
        {
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(found),
            "items": [present.item(person) for person in found],
        }
    )


@blueprint.get("/people/<person_id>")
def person(person_id: str) -> Response:
    """Return one person in scope, with their recent history."""
    scoped = sessions.actor().scoped
    found = scoped.get(person_id)
    return jsonify(present.detail(found, scoped.history(person_id)))


@blueprint.post("/people/<person_id>/unlock")
def unlock(person_id: str) -> Response:
    """Unlock an account locked by wrong passwords."""
    body()
    sessions.actor().scoped.unlock(person_id)
    return _person(person_id)


@blueprint.post("/people/<person_id>/reset")
def reset(person_id: str) -> Response:
    """Set a temporary password the person must change at their next sign-in."""
    body()
    temporary = sessions.actor().scoped.reset(person_id)
    return jsonify({"temporaryPassword": temporary})


@blueprint.post("/people/<person_id>/clear-answers")
def clear_answers(person_id: str) -> Response:
    """Clear the challenge answers: the person sets new ones at the next sign-in."""
    body()
    sessions.actor().scoped.clear_answers(person_id)
    return _person(person_id)


@blueprint.post("/people/<person_id>/disable")
def disable(person_id: str) -> Response:
    """Disable an account (school and MIMS administrators only)."""
    body()
    sessions.actor().scoped.disable(person_id)
    return _person(person_id)


@blueprint.post("/people/<person_id>/enable")
def enable(person_id: str) -> Response:
    """Enable a disabled account (school and MIMS administrators only)."""
    body()
    sessions.actor().scoped.enable(person_id)
    return _person(person_id)


def _person(person_id: str) -> Response:
    return jsonify(present.item(sessions.actor().scoped.get(person_id)))
