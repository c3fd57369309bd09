"""The SCIM blueprint at /scim/v2: request checks, authentication, error rendering.

Views live in users.py, groups.py, discovery.py and bulk.py and attach themselves to it;
``bridge.scim.init_app`` imports them and registers the blueprint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from bridge.config import Config
from bridge.core.audit import act_as
from bridge.core.ports import Groups, People
from bridge.errors import BridgeError
from bridge.scim.auth import TokenChecker
from bridge.scim.errors import (
    BadRequest,
    UnsupportedMediaType,
    render_bridge_error,
    render_http_error,
    render_unexpected,
)
from bridge.web import request_log
from bridge.web.json_depth import MAX_JSON_DEPTH, too_deep

PREFIX = "/scim/v2"
JSON_TYPES = ("application/scim+json", "application/json")

blueprint = Blueprint("scim", __name__, url_prefix=PREFIX)


@dataclass(frozen=True)
class ScimContext:
    """What the SCIM views work with: the configuration, people, groups and the token checker."""

    config: Config
    people: People
    groups: Groups
    tokens: TokenChecker


def context() -> ScimContext:
    """Return the SCIM context of the current app."""
    found: ScimContext = current_app.extensions["mims.scim"]
    return found


def http_error(error: HTTPException) -> Response | HTTPException:
    """Routing errors under /scim/v2 (unknown path, wrong method) as SCIM error bodies."""
    if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
        return render_http_error(error)
    return error


@blueprint.before_request
def _limit_body() -> None:
    """Refuse a body over ``[scim] max_payload_bytes`` however it is served (werkzeug's 413).

    Under ``mims serve`` the front (bridge.web.front) has refused it already, unread.
    """
    request.max_content_length = context().config.scim.max_payload_bytes


@blueprint.before_request
def _authenticate() -> None:
    """Refuse requests without a valid bearer token; writes need scim:write."""
    reading = request.method in ("GET", "HEAD") or request.path.endswith("/.search")
    token = context().tokens.check(
        request.headers.get("Authorization"), "scim:read" if reading else "scim:write"
    )
    act_as(token.name)  # every change this request makes is attributed to the token's name
    request_log.name_actor(token.name)


def body() -> dict[str, Any]:
    """Return the request's JSON object; refuse other media types and malformed JSON."""
    mimetype = request.mimetype
    if mimetype and mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(f"send the body as {JSON_TYPES[0]} (got {mimetype})")
    raw = request.get_data(cache=True)
    if too_deep(raw):
        raise BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


blueprint.register_error_handler(BridgeError, render_bridge_error)
blueprint.register_error_handler(Exception, render_unexpected)
