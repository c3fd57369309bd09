"""SCIM error responses (RFC 7644 section 3.12): one renderer for every failure under /scim/v2.

Domain errors carry their own ``status`` and ``scim_type`` (class attributes: the one mapping
from a domain error to SCIM); their messages are written for people and never hold driver
text, so they go out as ``detail``. A 5xx says nothing internal: a 500's detail names the
request id under which the log keeps its traceback. The Bulk endpoint renders each failed
operation with ``error_body_of``, so an error means the same alone or in a bulk request.
"""

from __future__ import annotations

import json

from flask import Response
from werkzeug.exceptions import HTTPException

from bridge.errors import BridgeError
from bridge.web import request_log
from bridge.web.front import Refusal
from bridge.web.request_id import internal_error

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


class BadRequest(BridgeError):
    """The request cannot be read: not JSON, not an object, a wrong parameter."""

    status = 400
    scim_type = "invalidSyntax"


class UnsupportedMediaType(BridgeError):
    """The body is not JSON (RFC 7644 section 3.1 asks for application/scim+json)."""

    status = 415


class Unauthorized(BridgeError):
    """No bearer token, or one the bridge does not know (RFC 6750 section 3)."""

    status = 401


class Forbidden(BridgeError):
    """The token is valid but its scopes do not allow this request."""

    status = 403


class Mutability(BridgeError):
    """The request changes an attribute the schema says cannot be changed."""

    status = 400
    scim_type = "mutability"


class NoTarget(BridgeError):
    """A PATCH path selects nothing (RFC 7644 section 3.5.2)."""

    status = 400
    scim_type = "noTarget"


class InvalidPath(BridgeError):
    """A PATCH path is malformed or names an unknown attribute."""

    status = 400
    scim_type = "invalidPath"


class TooLarge(BridgeError):
    """A bulk request over the published limits (RFC 7644 section 3.7.4)."""

    status = 413


class UnresolvedBulkId(BridgeError):
    """A ``bulkId:`` reference names no resource made earlier in the request (section 3.7.2)."""

    status = 409
    scim_type = "invalidValue"


def error_body(status: int, detail: str, scim_type: str | None = None) -> dict[str, object]:
    """Return an RFC 7644 section 3.12 error body."""
    body: dict[str, object] = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return body


def scim_json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a response with a SCIM JSON body."""
    return scim_encoded(json_bytes(body), status, headers)


def json_bytes(value: object) -> bytes:
    """Return a value as the JSON SCIM responses carry: UTF-8, characters not \\u-escaped."""
    return json.dumps(value, ensure_ascii=False).encode()


def scim_encoded(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a response whose SCIM JSON body is already encoded."""
    return Response(body, status, headers=headers, content_type=SCIM_JSON)


def body_refusal(status: int, detail: str) -> Refusal:
    """Return the front's refusal of a body (413, 408) as an RFC 7644 error."""
    body = json.dumps(error_body(status, detail)).encode()
    return Refusal(status, SCIM_JSON, body)


def error_body_of(error: BridgeError) -> dict[str, object]:
    """Return the RFC 7644 error body of a domain error; a 500's is logged and says nothing."""
    request_log.name_error(type(error).__name__)
    if error.status == 500:
        return error_body(500, internal_error(error, "a SCIM request"))
    return error_body(error.status, str(error), error.scim_type)


def render_bridge_error(error: BridgeError) -> Response:
    """Render a domain error with its status, scimType and message."""
    headers = {"WWW-Authenticate": 'Bearer realm="mims-bridge"'} if error.status == 401 else None
    return scim_json(error_body_of(error), error.status, headers)


def render_http_error(error: HTTPException) -> Response:
    """Render werkzeug's 404, 405 and friends as SCIM errors."""
    status = error.code or 500
    detail = {
        404: "no such resource or endpoint",
        405: "method not allowed here",
        413: "the request body is larger than this endpoint takes",
    }.get(status, error.description or "request failed")
    response = scim_json(error_body(status, detail), status)
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def render_unexpected(error: Exception) -> Response:
    """Log an unexpected error with its traceback; tell the client nothing internal."""
    if isinstance(error, HTTPException):
        return render_http_error(error)
    if isinstance(error, BridgeError):
        return render_bridge_error(error)
    return scim_json(error_body(500, internal_error(error, "a SCIM request")), 500)
