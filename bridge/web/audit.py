"""Who acts in each web request, for the audit trail: the door, the client's address, the id.

The address is the request's ``remote_addr``: the peer's, or the one a trusted proxy gave
(``proxies.py``), never an ``X-Forwarded-For`` anyone could send. The actor is left to the
door: SCIM names its token once checked (``bridge.core.audit.act_as``); in the portal the
person acts themself.
"""

from __future__ import annotations

from flask import Flask, g, request

from bridge.core.audit import Door, Origin, reset_origin, set_origin
from bridge.web import request_id

DOORS: tuple[tuple[str, Door], ...] = (
    ("/scim/", "scim"),
    ("/sspr/", "portal"),
    ("/admin/", "console"),
)


def init_app(app: Flask) -> None:
    """Say at the start of every request of ``app`` who acts and from where."""
    app.before_request(_start)
    app.teardown_request(_end)


def door_of(path: str) -> Door:
    """Return the door a request path belongs to."""
    return next((door for prefix, door in DOORS if (path + "/").startswith(prefix)), "other")


def _start() -> None:
    # A stack: a SCIM Bulk operation is a request inside a request, sharing ``g``.
    g.setdefault("audit_origins", []).append(
        set_origin(
            Origin(
                door=door_of(request.path),
                actor=None,
                source=request.remote_addr or "unknown",
                request_id=request_id.current(),
            )
        )
    )


def _end(_: BaseException | None) -> None:
    stack = g.get("audit_origins")
    if stack:
        reset_origin(stack.pop())
