"""The console's session as the views see it: the id in its own cookie, the rest on the server."""

from __future__ import annotations

from flask import current_app, g, request

from bridge.console import security
from bridge.console.service import Actor, Console, NotSignedIn, WrongSignIn
from bridge.core.audit import act_as
from bridge.web import attempts, request_log
from bridge.web.headers import Answer


def console() -> Console:
    """Return the app's console service."""
    result: Console = current_app.extensions["mims.console"]
    return result


def actor() -> Actor:
    """Return the signed-in administrator (once per request), or raise NotSignedIn."""
    found: Actor | None = g.get("console_actor")
    if found is None:
        found = console().actor(request.cookies.get(security.SESSION_COOKIE))
        g.console_actor = found
        act_as(found.login_id)  # the audit trail names the administrator
        request_log.name_actor(found.person.id)  # log lines: the opaque id, not the login
    return found


def actor_or_none() -> Actor | None:
    """Return the signed-in administrator, or None."""
    try:
        return actor()
    except NotSignedIn:
        return None


def sign_in(login: str, password: str) -> Actor:
    """Check an administrator's login ID and password; a wrong one counts against the address."""
    try:
        return console().sign_in(login, password)
    except WrongSignIn:
        attempts.mark_failed()
        raise


def begin(response: Answer, signed: Actor) -> Answer:
    """Give a browser that just signed in a new session (a new id: no fixation)."""
    console().drop(request.cookies.get(security.SESSION_COOKIE))
    security.set_cookie(response, security.SESSION_COOKIE, console().start_session(signed))
    return response


def end(response: Answer) -> Answer:
    """Sign out: end the person's console sessions and forget this browser's cookie."""
    console().end(request.cookies.get(security.SESSION_COOKIE))
    security.drop_cookie(response, security.SESSION_COOKIE)
    return response
