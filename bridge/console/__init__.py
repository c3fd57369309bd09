"""The admin console at /admin/: school offices, form teachers and MIMS administrators.

Pages (``pages.py``) and a JSON API (``api.py``) over the core's scoped administration
service; sign-in and sessions in ``service.py`` and ``sessions.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from bridge.config import Config
from bridge.console import api, pages
from bridge.console import bulk as _bulk  # noqa: F401  (its routes join api and pages)
from bridge.console import requests as _requests  # noqa: F401  (its routes join api and pages)
from bridge.console.errors import MAX_BODY_BYTES
from bridge.console.service import CONSOLE_SESSIONS_FILE, Console
from bridge.core.admin_console import AdminConsole
from bridge.core.services import Services
from bridge.web import attempts
from bridge.web.front import BodyLimit, Refusal
from bridge.web.session_store import SessionStore


def init_app(app: Flask, config: Config, services: Services, administration: AdminConsole) -> None:
    """Attach the console's pages and API to the app (after the portal: its limits, its style)."""
    store = SessionStore(
        Path(config.slapd.data_dir) / CONSOLE_SESSIONS_FILE,
        idle_seconds=config.sspr.session_idle_minutes * 60,
        lifetime_seconds=config.sspr.session_minutes * 60,
    )
    app.extensions["mims.console"] = Console(services, administration, store)
    limiter = app.extensions.get("mims.limiter")
    failures = app.extensions.get(attempts.FAILURES)  # wrong passwords, counted with the portal's
    for blueprint in (api.blueprint, pages.blueprint):
        if limiter is not None:
            limiter.limit(config.sspr.rate_limit, methods=["POST"])(blueprint)
        if failures is not None:
            failures(blueprint)
        app.register_blueprint(blueprint)
    # Routing errors (an unknown path, a wrong method) under /admin/api are JSON too; any other
    # path keeps the handler registered before (SCIM's, for /scim/v2).
    previous = app.error_handler_spec[None][None].get(HTTPException)

    def _routing(error: HTTPException) -> ResponseReturnValue:
        if request.path.startswith(api.blueprint.url_prefix or "/admin/api"):
            return api.routing_error(error)
        return previous(error) if previous is not None else error  # type: ignore[return-value]

    app.register_error_handler(HTTPException, _routing)


def body_limit() -> BodyLimit:
    """Return the largest body the console takes, for the HTTP front."""
    return BodyLimit("/admin", MAX_BODY_BYTES, _refusal)


def _refusal(status: int, detail: str) -> Refusal:
    """Return the front's refusal of a body (413, 408) as the console's JSON error."""
    code = "too_large" if status == 413 else "too_slow"
    body = json.dumps({"error": code, "detail": f"That request was refused ({detail})."})
    return Refusal(status, "application/json", body.encode())
