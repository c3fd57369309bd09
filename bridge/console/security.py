"""The console's cookies, CSRF tokens and headers.

The console's session cookie (``mims_admin``, path ``/admin``) holds only a random session id;
it is HttpOnly and SameSite=Strict, and Secure on answers over HTTPS. The pages' forms carry
a CSRF token: an HMAC, under the app's secret, of a random value in a second cookie
(``mims_admin_csrf``), so that neither a cross-site form nor a planted cookie can forge one.
The JSON API takes ``application/json`` only, which a cross-site form cannot send without a
CORS preflight that the bridge never grants (as the portal's API).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import abort, current_app, g, request
from werkzeug.wrappers import Response

from bridge.web.headers import Answer, add_security_headers

SESSION_COOKIE = "mims_admin"
CSRF_COOKIE = "mims_admin_csrf"
CSRF_FIELD = "csrf_token"
PATH = "/admin"


def _secure() -> bool:
    return bool(current_app.config["MIMS"].sspr.cookie_secure) and request.is_secure


def set_cookie(response: Response, name: str, value: str) -> None:
    """Set one of the console's cookies: HttpOnly, SameSite=Strict, only for /admin."""
    response.set_cookie(name, value, path=PATH, httponly=True, samesite="Strict", secure=_secure())


def drop_cookie(response: Response, name: str) -> None:
    """Tell the browser to forget one of the console's cookies."""
    response.delete_cookie(name, path=PATH, httponly=True, samesite="Strict", secure=_secure())


def _browser_value() -> str:
    """Return this browser's CSRF cookie value, making one (set after the request) if needed."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if len(value) < 32:
        value = g.get("console_csrf_new") or secrets.token_urlsafe(32)
        g.console_csrf_new = value
    return value


def csrf_token() -> str:
    """Return the CSRF token the forms of this page carry."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, b"console-csrf|" + _browser_value().encode(), hashlib.sha256).hexdigest()


def check_csrf() -> None:
    """Refuse a form POST whose CSRF token does not match this browser's (400)."""
    if request.method != "POST" or len(request.cookies.get(CSRF_COOKIE, "")) < 32:
        if request.method == "POST":
            abort(400, description="csrf")
        return
    sent = request.form.get(CSRF_FIELD, "")
    if not hmac.compare_digest(csrf_token(), sent):
        abort(400, description="csrf")


def finish(response: Answer) -> Answer:
    """Set a new CSRF cookie if a page made one; add the security headers."""
    fresh = g.get("console_csrf_new")
    if fresh:
        set_cookie(response, CSRF_COOKIE, fresh)
    return add_security_headers(response, static_prefix="/admin/static/")
