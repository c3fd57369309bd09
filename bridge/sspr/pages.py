"""The portal's pages: server-rendered forms that work without JavaScript.

Each view reads a form, calls the portal service and renders a page; refusals come back as
the same page with the words to act on. Passwords and answers are never put back into a page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from bridge.core.challenges import InvalidAnswer
from bridge.core.request_desk import RequestDesk
from bridge.core.reset_requests import InvalidRequest, read_form
from bridge.errors import PolicyViolation
from bridge.sspr import security, sessions, throttle
from bridge.sspr.service import (
    AccountLocked,
    Expired,
    NotSignedIn,
    Portal,
    PortalError,
    ResetClosed,
    ResetRefused,
)

blueprint = Blueprint(
    "sspr",
    __name__,
    url_prefix="/sspr",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
PAGES = {"done": "sspr.home", "change_password": "sspr.password", "setup_answers": "sspr.answers"}
Page = str | Response | tuple[str, int]


def portal() -> Portal:
    """Return the app's portal service."""
    result: Portal = current_app.extensions["mims.portal"]
    return result


@blueprint.before_request
def _csrf() -> None:
    security.check_csrf()


@blueprint.errorhandler(NotSignedIn)
def _signed_out(_: NotSignedIn) -> Response:
    session.clear()
    return redirect(url_for("sspr.sign_in"))


@blueprint.app_context_processor
def _template_values() -> dict[str, Any]:
    return {"csrf_token": security.csrf_token}


def render(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    """Render a portal page with a status."""
    return render_template(f"sspr/{template}", **values), status


def form(name: str) -> str:
    """Return a form field's text, cut to 1,000 characters."""
    return request.form.get(name, "")[:1000]


def person_id() -> str | None:
    """Return the signed-in person's id, if the session goes on."""
    return sessions.person_id()


def go_next() -> Response:
    """Send a signed-in person to the page of their next step."""
    pid = person_id()
    if pid is None:
        return redirect(url_for("sspr.sign_in"))
    return redirect(url_for(PAGES[portal().next_step(pid)]))


# -- signing in ------------------------------------------------------------------------------


@blueprint.route("/", methods=["GET", "POST"])
def sign_in() -> Page:
    """Show the sign-in form; sign in."""
    if request.method == "GET":
        if person_id():
            return go_next()
        return render("sign_in.html")
    login = form("login_id").strip()
    try:
        result = portal().sign_in(login, form("password"))
    except PortalError as exc:
        throttle.note(exc)
        return render("sign_in.html", exc.status, error=exc.detail, login_id=login)
    sessions.begin(result)  # a new session id for a new sign-in (no fixation)
    return redirect(url_for(PAGES[result.next]))


@blueprint.post("/sign-out")
def sign_out() -> Response:
    """End every session of the signed-in person."""
    sessions.end()
    return redirect(url_for("sspr.sign_in", bye=1))


@blueprint.get("/home")
def home() -> Page:
    """Show what a signed-in person can do."""
    pid = person_id()
    if pid is None:
        return redirect(url_for("sspr.sign_in"))
    person = portal().person(pid)
    return render(
        "home.html", login_id=str(person.login_id), name=person.display_name or person.full_name
    )


# -- for a signed-in person ------------------------------------------------------------------


@blueprint.route("/password", methods=["GET", "POST"])
def password() -> Page:
    """Change the password (first login: the temporary one)."""
    pid = person_id()
    if pid is None:
        return redirect(url_for("sspr.sign_in"))
    first = portal().next_step(pid) == "change_password"
    values: dict[str, Any] = {"rules": portal().checklist(pid), "first": first}
    if request.method == "GET":
        return render("password.html", **values)
    new, again = form("new_password"), form("new_password_again")
    if new != again:
        return render("password.html", 400, error=MISMATCH, **values)
    try:
        step = portal().change_password(pid, form("current_password"), new)
        sessions.renew(pid)
    except PolicyViolation as exc:
        return render("password.html", 400, failures=exc.failures, **values)
    except AccountLocked as exc:
        throttle.note(exc)
        session.clear()
        return render("locked.html", exc.status, message=exc.detail)
    except PortalError as exc:
        throttle.note(exc)
        return render("password.html", exc.status, error=exc.detail, **values)
    return redirect(url_for(PAGES[step], changed=1))


MISMATCH = "The two new passwords are not the same. Please type them again."


@blueprint.route("/answers", methods=["GET", "POST"])
def answers() -> Page:
    """Choose the three answers and an optional recovery e-mail."""
    pid = person_id()
    if pid is None:
        return redirect(url_for("sspr.sign_in"))
    questions = list(portal().questions.items())[: len(portal().questions)]
    values: dict[str, Any] = {
        "questions": questions,
        "first": portal().next_step(pid) == "setup_answers",
    }
    if request.method == "GET":
        if portal().next_step(pid) == "change_password":
            return redirect(url_for("sspr.password"))
        return render("answers.html", **values)
    given = {q: form(f"answer_{q}") for q, _ in questions if form(f"answer_{q}").strip()}
    try:
        step = portal().set_answers(pid, form("current_password"), given, form("recovery_email"))
    except InvalidAnswer as exc:
        return render("answers.html", 400, problems=exc.problems, **values)
    except PortalError as exc:
        return render("answers.html", exc.status, error=exc.detail, **values)
    return redirect(url_for(PAGES[step], saved=1))


# -- forgot password -------------------------------------------------------------------------


@blueprint.route("/forgot", methods=["GET", "POST"])
def forgot() -> Page:
    """Ask for the login ID, then show its questions."""
    if request.method == "GET":
        return render("forgot.html", expired=bool(request.args.get("expired")))
    login = form("login_id").strip()
    if not login:
        return render("forgot.html", 400, error="Please type your login ID.")
    ticket, questions = portal().start_reset(login)
    return render("questions.html", ticket=ticket, questions=questions, login_id=login)


@blueprint.post("/forgot/answers")
def forgot_answers() -> Page:
    """Check the three answers; all right leads to choosing a new password."""
    ticket = form("ticket")
    try:
        questions = portal().questions_of(ticket)
        given = {q: form(f"answer_{q}") for q, _ in questions}
        token = portal().verify(ticket, given, sessions.reset_binding())
    except Expired:
        return redirect(url_for("sspr.forgot", expired=1))
    except ResetRefused as exc:
        throttle.note(exc)
        return render(
            "questions.html", exc.status, ticket=ticket, questions=questions, error=exc.detail
        )
    try:
        rules = portal().token_checklist(token, sessions.reset_binding())
    except ResetClosed as exc:
        return closed(exc)
    return render("new_password.html", token=token, rules=rules)


@blueprint.post("/forgot/password")
def forgot_password() -> Page:
    """Set the new password with a reset token."""
    token = form("token")
    try:
        rules = portal().token_checklist(token, sessions.reset_binding())
    except (Expired, NotSignedIn):
        return redirect(url_for("sspr.forgot", expired=1))
    except ResetClosed as exc:
        return closed(exc)
    new, again = form("new_password"), form("new_password_again")
    if new != again:
        return render("new_password.html", 400, token=token, rules=rules, error=MISMATCH)
    try:
        portal().complete(token, new, sessions.reset_binding())
    except PolicyViolation as exc:
        return render("new_password.html", 400, token=token, rules=rules, failures=exc.failures)
    except (Expired, NotSignedIn):
        return redirect(url_for("sspr.forgot", expired=1))
    except ResetClosed as exc:
        return closed(exc)
    return render("reset_done.html")


def closed(exc: ResetClosed) -> Page:
    """Show that this account cannot finish a reset, and whom to ask."""
    return render("message.html", exc.status, title="Please ask at school", message=exc.detail)


# -- a parent's request ----------------------------------------------------------------------

REQUEST_FIELDS = ("child_name", "school", "class_name", "contact")


@blueprint.route("/request", methods=["GET", "POST"])
def request_form() -> Page:
    """Let a parent ask the school to reset a child's password; the same answer for any child."""
    if request.method == "GET":
        return render("request.html", values={})
    values = {name: form(name) for name in REQUEST_FIELDS}
    try:
        parsed = read_form(*(values[name] for name in REQUEST_FIELDS))
    except InvalidRequest as exc:
        return render("request.html", 400, error=f"Please check this: {exc.words}.", values=values)
    desk: RequestDesk = current_app.extensions["mims.requests"]
    desk.submit(parsed)
    return render("request_sent.html", 202)
