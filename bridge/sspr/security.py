"""Headers, cookies and CSRF for the portal: strict by default, nothing inline.

The pages send a CSRF token with every form (a random value kept in the signed session
cookie, compared in constant time); the JSON API accepts ``application/json`` only, which a
cross-site form cannot send without a CORS preflight that the bridge never grants.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import Flask, Request, Response, abort, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from bridge.config import SsprConfig
from bridge.web.headers import add_security_headers

CSRF_FIELD = "csrf_token"


class PortalSessions(SecureCookieSessionInterface):
    """Signed cookie sessions, marked Secure on answers given over HTTPS.

    A browser drops a Secure cookie that arrives over plain HTTP, so the flag follows the
    request's scheme: HTTPS at gunicorn, or reported by a trusted proxy (bridge.web.proxies).
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        """Return whether this answer's cookie is marked Secure."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) and request.is_secure

    # Every request of every door opens and saves a session; most (SCIM, health) carry no
    # cookie and touch none. Flask's own methods build a signer and read seven settings
    # even then: these two skip that work, and do what Flask would do (nothing) without it.

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Return an empty session at once when the request carries no session cookie."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the cookie unless the session is empty and was never read or changed."""
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def configure(app: Flask, config: SsprConfig, secret: str) -> None:
    """Set the signed session cookie's key and flags."""
    app.secret_key = secret
    app.session_interface = PortalSessions()
    app.config.update(
        SESSION_COOKIE_NAME="mims_portal",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/sspr",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=config.session_minutes),
    )


def add_headers(response: Response) -> Response:
    """Add the security headers; never let a browser or proxy cache a portal answer."""
    return add_security_headers(response, static_prefix="/sspr/static/")


def csrf_token() -> str:
    """Return this session's CSRF token, making one if needed."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
        session.permanent = True
    return token


def check_csrf() -> None:
    """Refuse a form POST whose CSRF token does not match the session's (400)."""
    if request.method != "POST":
        return
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, sent):
        abort(400, description="csrf")
