"""The portal's JSON API under /sspr/api/: the same rules as the pages, for apps and tests.

Requests must be ``application/json`` (the API's CSRF defence); every error is
``{"error": code, "detail": words}`` and never echoes a password or an answer.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from bridge.core.challenges import InvalidAnswer
from bridge.core.request_desk import RequestDesk
from bridge.core.reset_requests import InvalidRequest, read_form
from bridge.errors import PolicyViolation
from bridge.sspr import sessions, throttle
from bridge.sspr.errors import MAX_BODY_BYTES, TooDeep, TooLarge, json_error
from bridge.sspr.service import MissingFields, Portal
from bridge.web.json_depth import too_deep

blueprint = Blueprint("sspr_api", __name__, url_prefix="/sspr/api")


def portal() -> Portal:
    """Return the app's portal service."""
    result: Portal = current_app.extensions["mims.portal"]
    return result


def error(code: str, detail: str, status: int, **extra: Any) -> tuple[Response, int]:
    """Return a JSON error body and status."""
    return jsonify({"error": code, "detail": detail, **extra}), status


@blueprint.before_request
def _json_only() -> tuple[Response, int] | None:
    if not request.is_json:
        return error("json_only", "Send this as JSON (Content-Type: application/json).", 415)
    return None


@blueprint.errorhandler(Exception)
def _failed(exc: Exception) -> tuple[Response, int] | HTTPException:
    """Answer every other failure by the one mapping in sspr/errors.py."""
    if isinstance(exc, HTTPException) and exc.code == TooLarge.status:
        exc = TooLarge()
    if isinstance(exc, HTTPException):
        return exc
    throttle.note(exc)
    code, detail, status = json_error(exc)
    return error(code, detail, status)


@blueprint.errorhandler(PolicyViolation)
def _policy(exc: PolicyViolation) -> tuple[Response, int]:
    failures = [{"code": code, "message": message} for code, message in exc.failures]
    detail = "Your new password does not follow the rules yet. " + " ".join(
        message for _, message in exc.failures
    )
    return error("password_rules", detail, 400, failures=failures)


@blueprint.errorhandler(InvalidRequest)
def _request_form(exc: InvalidRequest) -> tuple[Response, int]:
    return error("invalid_request", f"Please check this: {exc.words}.", 400, field=exc.field)


@blueprint.errorhandler(InvalidAnswer)
def _answers(exc: InvalidAnswer) -> tuple[Response, int]:
    problems = [{"detail": p.reason, "questions": list(p.question_ids)} for p in exc.problems]
    return error("answers", str(exc), 400, problems=problems)


def body() -> dict[str, Any]:
    """Return the JSON object sent, or refuse anything else."""
    request.max_content_length = MAX_BODY_BYTES  # werkzeug's 413 when served without the front
    if too_deep(request.get_data(cache=True)):
        raise TooDeep()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise MissingFields()
    return data


def text(data: dict[str, Any], key: str, required: bool = True) -> str:
    """Return a string field (at most 1,000 characters)."""
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > 1000 or (required and not value):
        raise MissingFields()
    return value


@blueprint.post("/login")
def login() -> Response:
    """Sign in; 200 with the next step and a session cookie, 401 otherwise (any reason)."""
    data = body()
    result = portal().sign_in(text(data, "loginId"), text(data, "password"))
    sessions.begin(result)
    return jsonify({"next": result.next})


@blueprint.post("/logout")
def logout() -> Response:
    """End every session of the signed-in person."""
    sessions.end()
    return jsonify({"next": "signed_out"})


@blueprint.post("/reset/start")
def reset_start() -> Response:
    """Return a ticket and the questions; the same shape for every login ID."""
    ticket, questions = portal().start_reset(text(body(), "loginId"))
    return jsonify({"ticket": ticket, "questions": [{"id": q, "text": t} for q, t in questions]})


@blueprint.post("/reset/verify")
def reset_verify() -> Response:
    """Return a reset token only when every answer is right, for this browser (its cookie)."""
    data = body()
    answers = data.get("answers")
    if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
        raise MissingFields()
    token = portal().verify(text(data, "ticket"), answers, sessions.reset_binding())
    return jsonify({"resetToken": token})


@blueprint.post("/reset/complete")
def reset_complete() -> Response:
    """Set the new password (once per token, from the browser that answered)."""
    data = body()
    token, new = text(data, "resetToken"), text(data, "newPassword")
    portal().complete(token, new, sessions.reset_binding())
    return jsonify({"next": "sign_in"})


@blueprint.post("/password")
def change_password() -> Response:
    """Change the signed-in person's password; return the next step."""
    data = body()
    person_id = sessions.signed_in()
    step = portal().change_password(
        person_id, text(data, "currentPassword"), text(data, "newPassword")
    )
    sessions.renew(person_id)
    return jsonify({"next": step})


@blueprint.post("/answers")
def set_answers() -> Response:
    """Set the signed-in person's answers and optional recovery e-mail (password again)."""
    data = body()
    person_id = sessions.signed_in()
    current = text(data, "currentPassword")
    answers = data.get("answers")
    if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
        raise MissingFields()
    email = data.get("recoveryEmail")
    if email is not None and not isinstance(email, str):
        raise MissingFields()
    return jsonify({"next": portal().set_answers(person_id, current, answers, email)})


# The one answer to every parent's request: it tells nothing of the child or the school.
REQUEST_RECEIVED = {
    "status": "received",
    "detail": "Thank you. If the details match a child of the school, the school will contact you.",
}


def request_desk() -> RequestDesk:
    """Return the app's desk of parents' reset requests."""
    result: RequestDesk = current_app.extensions["mims.requests"]
    return result


@blueprint.post("/reset-request")
def reset_request() -> tuple[Response, int]:
    """Take a parent's request for a child's reset; 202 with the same body whatever it names."""
    data = body()
    form = read_form(
        data.get("childName"), data.get("school"), data.get("class"), data.get("contact")
    )
    request_desk().submit(form)
    return jsonify(REQUEST_RECEIVED), 202
