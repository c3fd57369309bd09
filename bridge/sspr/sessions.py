"""The portal's session as the views see it: an id in the cookie, the rest on the server.

What a session stands for is kept in bridge/web/session_store.py and checked against the
directory on every request (service.py).

The cookie holds the session id (``sid``), the pages' CSRF token, and the browser's reset
binding (``rb``): a random value a reset token is bound to. A new sign-in always gets a new
id (no fixation), and signing out ends every session of the person.
"""

from __future__ import annotations

from flask import current_app, session

from bridge.sspr.security import CSRF_FIELD
from bridge.sspr.service import NotSignedIn, Portal, SignedIn
from bridge.web import request_log
from bridge.web.session_store import new_id

SESSION_ID = "sid"
RESET_BINDING = "rb"


def _portal() -> Portal:
    result: Portal = current_app.extensions["mims.portal"]
    return result


def begin(signed: SignedIn) -> None:
    """Give a browser that just signed in a new session, ending the one it had."""
    _drop()
    csrf = session.get(CSRF_FIELD)
    session.clear()
    session.permanent = True
    if isinstance(csrf, str):
        session[CSRF_FIELD] = csrf
    session[SESSION_ID] = _portal().start_session(signed)


def renew(person_id: str) -> None:
    """After a new password: end the person's sessions, and give this browser a fresh one."""
    session[SESSION_ID] = _portal().renew_session(person_id)


def person_id() -> str | None:
    """Return the signed-in person's id, or None (an over session is forgotten)."""
    try:
        return signed_in()
    except NotSignedIn:
        return None


def signed_in() -> str:
    """Return the signed-in person's id, or raise NotSignedIn."""
    value = session.get(SESSION_ID)
    try:
        found = _portal().session_person(value if isinstance(value, str) else None)
    except NotSignedIn:
        session.pop(SESSION_ID, None)
        raise
    request_log.name_actor(found)
    return found


def end() -> None:
    """Sign out: end every session of the person, and forget this browser's."""
    value = session.get(SESSION_ID)
    if isinstance(value, str):
        found = person_id()
        if found is not None:
            _portal().end_sessions(found)
    _drop()
    session.clear()


def _drop() -> None:
    value = session.get(SESSION_ID)
    if isinstance(value, str):
        _portal().store.end(value)


def reset_binding() -> str:
    """Return this browser's reset binding, making one (in its cookie) if needed."""
    value = session.get(RESET_BINDING)
    if not isinstance(value, str):
        value = new_id()
        session[RESET_BINDING] = value
        session.permanent = True
    return value
