"""The Flask application factory: the only place where the web app is put together."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from bridge import sspr
from bridge.config import Config, load_config
from bridge.directory import settings
from bridge.directory.client import LdapClient
from bridge.scim import init_app as init_scim
from bridge.services import build
from bridge.web import health

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, directory: LdapClient | None = None) -> Flask:
    """Build the bridge's WSGI app over the configured directory (no connection opened yet)."""
    config = config or load_config()
    app = Flask("bridge")
    app.config["MIMS"] = config
    directory = directory or LdapClient(settings.client_settings(config))
    app.extensions["mims.directory"] = directory
    app.register_blueprint(health.blueprint)
    services = build(config, directory)
    sspr.init_app(app, config, services)
    init_scim(app, config, services)
    app.register_error_handler(Exception, _internal_error)
    return app


def _internal_error(error: Exception) -> tuple[dict[str, str], int] | HTTPException:
    """Log an unexpected error with its traceback; tell the client nothing internal."""
    if isinstance(error, HTTPException):
        return error
    log.exception("unhandled error")
    return {"status": "error", "detail": "something went wrong inside the bridge"}, 500
