"""The MIMS portal: sign-in, first-login set-up, self-service password reset, under /sspr/."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter import Limiter
from werkzeug.exceptions import TooManyRequests

from bridge.config import Config
from bridge.core.challenges import DEFAULT_PARAMS
from bridge.core.services import Services
from bridge.sspr import api, pages, security, throttle
from bridge.sspr.errors import MAX_BODY_BYTES, body_refusal
from bridge.sspr.secret import portal_secret
from bridge.sspr.service import Portal
from bridge.web import attempts
from bridge.web.front import BodyLimit
from bridge.web.session_store import SESSIONS_FILE, SessionStore

TOO_MANY = "Slow down! You tried many times very quickly. Please wait a minute and try again."


def init_app(app: Flask, config: Config, services: Services) -> None:
    """Attach the portal, its API, rate limits and security headers to the app."""
    secret = portal_secret(config)
    security.configure(app, config.sspr, secret)
    # Kept in the data folder, so every worker and process of the host sees every session.
    store = SessionStore(
        Path(config.slapd.data_dir) / SESSIONS_FILE,
        idle_seconds=config.sspr.session_idle_minutes * 60,
        lifetime_seconds=config.sspr.session_minutes * 60,
    )
    app.extensions["mims.portal"] = Portal(services, config.sspr, secret, store, DEFAULT_PARAMS)
    # Counted in the data folder, so every worker and process of the host shares the counts.
    limiter = Limiter(
        throttle.source, app=app, storage_uri=throttle.storage_uri(config.slapd.data_dir)
    )
    app.extensions["mims.limiter"] = limiter
    failures = limiter.shared_limit(
        config.sspr.address_failures,
        scope="failures",
        methods=["POST"],
        deduct_when=attempts.failed,
        override_defaults=False,
    )
    app.extensions[attempts.FAILURES] = failures  # the console's sign-in counts with the portal's
    for blueprint in (api.blueprint, pages.blueprint):
        limiter.limit(config.sspr.rate_limit, methods=["POST"])(blueprint)
        failures(blueprint)
        app.register_blueprint(blueprint)
    # Each parent's request lands in a school's queue: few per address, pages and API together.
    parents = limiter.shared_limit(
        config.console.request_rate_limit,
        scope="reset-requests",
        methods=["POST"],
        override_defaults=False,
    )
    for endpoint in ("sspr_api.reset_request", "sspr.request_form"):
        # flask-limiter types its wrapper as possibly async; these views are plain functions.
        app.view_functions[endpoint] = parents(app.view_functions[endpoint])  # type: ignore[assignment]
    app.register_error_handler(TooManyRequests, _too_many)
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    if request.path.startswith("/sspr"):
        return security.add_headers(response)
    return response


def _too_many(_: TooManyRequests) -> tuple[Response | str, int]:
    _count_throttled(request.endpoint or "")
    if request.path.startswith("/sspr/api/"):
        return jsonify({"error": "too_many_tries", "detail": TOO_MANY}), 429
    return render_template("sspr/message.html", title="Please wait", message=TOO_MANY), 429


def _count_throttled(endpoint: str) -> None:
    """Count a refusal by rate limit as the outcome of what was tried (sign-in, answers, reset)."""
    portal: Portal | None = current_app.extensions.get("mims.portal")
    if portal is None:
        return
    outcomes = portal.services.outcomes
    view = endpoint.rsplit(".", 1)[-1]
    if view in ("login", "sign_in"):
        outcomes.sign_in("throttled")
    elif "verify" in view or "answers" in view:
        outcomes.answer_check("throttled")
    elif "reset" in view:
        outcomes.password_reset("throttled")


def body_limit() -> BodyLimit:
    """Return the largest body the portal takes, for the HTTP front."""
    return BodyLimit("/sspr", MAX_BODY_BYTES, body_refusal)
