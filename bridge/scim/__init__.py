"""SCIM 2.0 (RFC 7643/7644) at /scim/v2: Flask views over the core's people and groups."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from bridge.config import Config
from bridge.core.services import Services
from bridge.scim import bulk, discovery, groups, users  # noqa: F401  (their routes attach)
from bridge.scim.auth import TokenChecker
from bridge.scim.blueprint import PREFIX, ScimContext, blueprint, http_error
from bridge.scim.errors import body_refusal
from bridge.web.front import BodyLimit

__all__ = ["body_limit", "init_app"]


def init_app(app: Flask, config: Config, shared: Services) -> None:
    """Attach the SCIM context and blueprint to an app."""
    checker = TokenChecker(shared.tokens.find)
    app.extensions["mims.scim"] = ScimContext(config, shared.people, shared.groups, checker)
    app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, http_error)
    limiter = app.extensions.get("mims.limiter")  # the portal's, shared with the console
    if limiter is not None:
        # No limit applies under /scim/v2 (clients hold tokens); without this the limiter
        # resolves the limits of every SCIM request only to find none.
        limiter.request_filter(_is_scim)


def _is_scim() -> bool:
    """Return whether the current request is SCIM's."""
    return request.blueprint == blueprint.name


def body_limit(config: Config) -> BodyLimit:
    """Return the largest body SCIM takes (``[scim] max_payload_bytes``) for the HTTP front."""
    return BodyLimit(PREFIX, config.scim.max_payload_bytes, body_refusal)
