"""Security headers every page door sends (the portal, the console): strict, nothing inline."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from werkzeug.wrappers import Response

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
Answer = TypeVar("Answer", bound=Response)


def add_security_headers(response: Answer, static_prefix: str) -> Answer:
    """Add the security headers; never let a browser or proxy cache an answer but static files."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if not request.path.startswith(static_prefix):
        response.headers["Cache-Control"] = "no-store"
    return response
