"""The console's pages under /admin/: server-rendered forms that work without JavaScript.

Every action has two steps: a page that says what it will do (GET), and the form that does it
(POST), after which the person's page says what was done. A reset's answer is the printable
slip itself, shown once (a POST's answer, never cached). Out of scope is the same "not found"
page as a missing id.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from bridge.console import present, security, sessions
from bridge.console.errors import BY_STATUS, json_error
from bridge.console.service import Actor, ConsoleError, NotSignedIn
from bridge.core.admin_console import CARD_LEVELS, SearchTooShort
from bridge.core.administration import Action as CoreAction
from bridge.core.administration import same_name
from bridge.core.card_sheet import render as render_cards
from bridge.core.people import Person
from bridge.errors import BridgeError

blueprint = Blueprint(
    "console",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
Page = str | Response | tuple[str, int]
PAGE_SIZE = 25


class Action:
    """One thing an administrator can do to a person, and the words of each step."""

    def __init__(self, name: str, label: str, will: str, did: str) -> None:
        self.name, self.label, self.will, self.did = name, label, will, did


ACTIONS = {
    a.name: a
    for a in (
        Action(
            "unlock",
            "Unlock",
            "{name} can sign in again with their own password, and the count of wrong"
            " passwords starts again from zero.",
            "Unlocked: {name} can sign in again with their own password.",
        ),
        Action(
            "reset",
            "Reset the password",
            "{name} gets a new temporary password, which you will see once, on a slip you can"
            " print. Their old password stops working, and they must choose a new one when"
            " they next sign in.",
            "",
        ),
        Action(
            "print-card",
            "Print the login card",
            "{name} gets a new temporary password and new pre-set challenge answers, on a login"
            " card you can print (a PDF), shown once. Their old password and answers stop"
            " working; they choose a new password when they first sign in.",
            "",
        ),
        Action(
            "clear-answers",
            "Clear the challenge answers",
            "{name}'s three challenge answers are forgotten. They choose new ones the next time"
            " they sign in; until then they cannot reset their password themselves.",
            "Cleared: {name} chooses new challenge answers at the next sign-in.",
        ),
        Action(
            "disable",
            "Disable the account",
            "{name} can no longer sign in anywhere MIMS accounts are used, until an"
            " administrator enables the account again.",
            "Disabled: {name} can no longer sign in.",
        ),
        Action(
            "enable",
            "Enable the account",
            "{name} can sign in again.",
            "Enabled: {name} can sign in again.",
        ),
    )
}
CORE_ACTION: dict[str, CoreAction] = {
    "unlock": "unlock",
    "reset": "reset",
    "clear-answers": "clear_answers",
    "print-card": "print_card",
    "disable": "disable",
    "enable": "enable",
}


@blueprint.before_request
def _csrf() -> None:
    security.check_csrf()


@blueprint.after_request
def _finish(response: Response) -> Response:
    return security.finish(response)


@blueprint.errorhandler(NotSignedIn)
def _signed_out(_: NotSignedIn) -> Response:
    return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))


@blueprint.errorhandler(BridgeError)
def _refused(exc: BridgeError) -> tuple[str, int]:
    _, detail, status = json_error(exc)
    title = {404: "Not found", 403: "Not allowed"}.get(status, "That did not work")
    return render("message.html", status, title=title, message=detail)


@blueprint.errorhandler(TooManyRequests)
def _too_many(_: TooManyRequests) -> tuple[str, int]:
    found = BY_STATUS[429]
    return render("message.html", 429, actor=None, title="Please wait", message=found.words)


@blueprint.app_context_processor
def _template_values() -> dict[str, Any]:
    return {"admin_csrf": security.csrf_token}


def render(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    """Render a console page with a status, for the signed-in administrator if any."""
    values.setdefault("actor", sessions.actor_or_none())
    return render_template(f"console/{template}", **values), status


def _form(name: str) -> str:
    return request.form.get(name, "")[:1000]


def portal_url() -> str:
    """Return the portal's address a slip gives the child: ``[sspr] portal_url``, never the Host."""
    return str(current_app.config["MIMS"].sspr.portal_url)


def _safe_next(value: str) -> str:
    """Return where to go after signing in: only a console page of this site."""
    if value.startswith("/admin/") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("console.search")


# -- signing in ------------------------------------------------------------------------------


@blueprint.route("/", methods=["GET", "POST"])
def sign_in() -> Page:
    """Show the sign-in form; sign in with one's own MIMS account."""
    next_page = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        if sessions.actor_or_none():
            return redirect(next_page)
        return render("sign_in.html", actor=None, next_page=next_page)
    login = _form("login_id").strip()
    try:
        signed = sessions.sign_in(login, _form("password"))
    except ConsoleError as exc:
        return render(
            "sign_in.html",
            exc.status,
            actor=None,
            error=exc.detail,
            login_id=login,
            next_page=next_page,
        )
    return sessions.begin(redirect(next_page), signed)


@blueprint.post("/sign-out")
def sign_out() -> Response:
    """End the administrator's console sessions."""
    return sessions.end(redirect(url_for("console.sign_in", bye=1)))


# -- finding people --------------------------------------------------------------------------


@blueprint.get("/people")
def search() -> Page:
    """Search the people in scope by name or login ID, class and level; one page at a time."""
    actor = sessions.actor()
    q = request.args.get("q", "")[:200].strip()
    class_name = request.args.get("class", "")[:100].strip()
    level = request.args.get("level", "")[:50].strip()
    page = _page_number()
    asked = bool(q or class_name or level or request.args.get("all"))
    total, found, error = 0, list[Person](), None
    if asked:
        try:
            total, found = actor.scoped.search(
                q, class_name, level, (page - 1) * PAGE_SIZE + 1, PAGE_SIZE
            )
        except SearchTooShort as exc:  # said beside the form, which keeps what was typed
            error = exc.detail
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        "search.html",
        400 if error else 200,
        error=error,
        q=q,
        class_name=class_name,
        level=level,
        asked=asked,
        total=total,
        people=[present.item(p) for p in found],
        page=page,
        pages=pages,
        page_url=lambda n: (
            url_for("console.search")
            + "?"
            + urlencode({"q": q, "class": class_name, "level": level, "page": n})
        ),
    )


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 10**6)) if raw.isdigit() and len(raw) < 8 else 1


# -- one person ------------------------------------------------------------------------------


@blueprint.get("/people/<person_id>")
def person(person_id: str) -> Page:
    """Show a person: role, schools, class, status, what can be done, and recent history."""
    actor = sessions.actor()
    found = actor.scoped.get(person_id)
    done = ACTIONS.get(request.args.get("done", ""))
    return render(
        "person.html",
        person=present.detail(found, actor.scoped.history(person_id)),
        actions=_allowed(actor, found),
        done=done.did.format(name=found.display_name or found.full_name) if done else None,
    )


def _allowed(actor: Actor, found: Person) -> list[Action]:
    wanted = ["unlock"] if found.lock.locked else []
    wanted += ["reset", "clear-answers", "enable" if found.disabled else "disable"]
    if any(same_name(found.level, level) for level in CARD_LEVELS):
        wanted.insert(wanted.index("clear-answers"), "print-card")
    return [ACTIONS[name] for name in wanted if actor.scoped.may(CORE_ACTION[name], found)]


@blueprint.get("/people/<person_id>/<action>")
def confirm(person_id: str, action: str) -> Page:
    """Say what an action will do, and ask to go on."""
    actor = sessions.actor()
    found = actor.scoped.get(person_id)
    step = ACTIONS.get(action)
    if step is None:
        return render("message.html", 404, title="Not found", message=NO_ACTION)
    name = found.display_name or found.full_name
    return render(
        "confirm.html", person=present.item(found), action=step, will=step.will.format(name=name)
    )


NO_ACTION = "There is no such action."


@blueprint.post("/people/<person_id>/<action>")
def act(person_id: str, action: str) -> Page:
    """Do an action that was confirmed; show what was done (the reset: its slip)."""
    scoped = sessions.actor().scoped
    if action not in ACTIONS:
        return render("message.html", 404, title="Not found", message=NO_ACTION)
    if action == "reset":
        temporary = scoped.reset(person_id)
        found = present.item(scoped.get(person_id))
        return render("slip.html", person=found, temporary=temporary, portal=portal_url())
    if action == "print-card":
        card = scoped.print_card(person_id)
        pdf, _ = render_cards([card], portal_url())
        return render(
            "slip.html",
            person=present.item(scoped.get(person_id)),
            temporary=card.password,
            answers=card.answers,
            portal=portal_url(),
            pdf=base64.b64encode(pdf).decode("ascii"),
        )
    doing = {
        "unlock": scoped.unlock,
        "clear-answers": scoped.clear_answers,
        "disable": scoped.disable,
        "enable": scoped.enable,
    }
    doing[action](person_id)
    return redirect(url_for("console.person", person_id=person_id, done=action))
