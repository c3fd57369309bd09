"""Headers, cookies and CSRF for the portal: strict by default, nothing inline.

The pages send a CSRF token with every form (a random value kept in the signed session
cookie, compared in constant time); the JSON API accepts ``application/json`` only, which a
cross-site form cannot send without a CORS preflight that the bridge never grants.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import Flask, Response, abort, request, session
from flask.sessions import SecureCookieSessionInterface

from bridge.config import SsprConfig

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Only over HTTPS (RFC 6797 section 7.2: a host must not send it over plain HTTP).
HSTS = "max-age=31536000"
CSRF_FIELD = "csrf_token"


class PortalSessions(SecureCookieSessionInterface):
    """Signed cookie sessions, marked Secure on answers given over HTTPS.

    A browser drops a Secure cookie that arrives over plain HTTP, so the flag follows the
    request's scheme: HTTPS at gunicorn, or reported by a trusted proxy (bridge.web.proxies).
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        """Return whether this answer's cookie is marked Secure."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) and request.is_secure


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
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if not request.path.startswith("/sspr/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


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
