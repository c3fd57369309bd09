"""Login cards and bulk actions in the console: a class's or a level's cards and reset.

The routes join the console's own blueprints (``api.blueprint``, ``pages.blueprint``), so the
session, CSRF, headers and error answers are the console's. Who may do what is the scoped
core service's rule (``core/admin_console.py``, ``core/class_actions.py``).

A bulk action is confirmed with the number of people it touches: the confirming form (and an
API caller) sends that number back, and if the class changed meanwhile nothing is done (409).
The PDF holds passwords, so it is made once, in the answer to the POST (never cached), and
never kept on the server: a page offers it as a download of that answer, the API as base64.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from flask import Response, current_app, jsonify, request

from bridge.console import api, pages, present, sessions
from bridge.console.service import ConsoleError, MissingFields
from bridge.core.admin_console import CARD_LEVELS, START_YEAR_LEVELS
from bridge.core.administration import same_name
from bridge.core.card_sheet import CARD, SLIP, Card, render
from bridge.core.class_actions import Bulk, Group, Outcome, members, run
from bridge.core.people import Person
from bridge.errors import InvalidValue, NotFound

BULK: dict[str, Bulk] = {"cards": "cards", "reset": "reset"}
LABEL = {
    "cards": "Print login cards",
    "reset": "Start-of-year reset",
}
WILL = {
    "cards": "Each of them gets a new temporary password and new pre-set challenge answers,"
    " printed on a login card (one PDF, eight cards a page). Their old passwords and answers"
    " stop working; they choose a new password when they first sign in.",
    "reset": "Each of them gets a new temporary password, printed on a slip (one PDF, eight"
    " slips a page). Their old passwords stop working; at their next sign-in they choose a new"
    " password and new challenge answers.",
}
NO_CLASS = "There is no class or level by that name among the people you can see."


class CountChanged(ConsoleError):
    """The group is not the size that was confirmed: someone joined or left meanwhile."""

    status = 409
    code = "changed"
    words = "The class changed since you confirmed. Nothing was done: please look again."


def _portal() -> str:
    """Return the portal's address as cards print it (the configured one, as `mims cards`)."""
    return str(current_app.config["MIMS"].sspr.portal_url)


def _pdf(cards: Sequence[Card], heading: str) -> str:
    """Return the cards as a base64 PDF, for a JSON answer or a data: download link."""
    pdf, _ = render(cards, _portal(), heading)
    return base64.b64encode(pdf).decode("ascii")


def group_json(group: Group, people: Sequence[Person]) -> dict[str, Any]:
    """Return a class or level and its members, as the class page shows them."""
    return {
        "school": group.school,
        "class": group.class_name,
        "level": group.level,
        "totalResults": len(people),
        "items": [present.item(person) for person in people],
        "actions": bulk_actions(people),
    }


def bulk_actions(people: Sequence[Person]) -> list[str]:
    """Return the bulk actions for a group: cards for P1-3, the reset for P4-6."""
    if not people:
        return []
    if all(any(same_name(p.level, level) for level in CARD_LEVELS) for p in people):
        return ["cards"]
    if all(any(same_name(p.level, level) for level in START_YEAR_LEVELS) for p in people):
        return ["reset"]
    return []


def outcome_json(outcome: Outcome, heading: str) -> dict[str, Any]:
    """Return what a bulk action did: who got a card, who did not and why, and the PDF."""
    cards = [card for _, card in outcome.cards]
    return {
        "touched": outcome.touched,
        "done": len(outcome.cards),
        "failed": [
            {
                "id": failure.person.id,
                "loginId": str(failure.person.login_id),
                "name": failure.person.display_name or failure.person.full_name,
                "reason": failure.reason,
            }
            for failure in outcome.failures
        ],
        "items": [
            {
                "id": person.id,
                "loginId": card.login_id,
                "name": card.name,
                "class": person.class_name,
                "temporaryPassword": card.password,
            }
            for person, card in outcome.cards
        ],
        "pdf": _pdf(cards, heading) if cards else None,
    }


def _group(values: dict[str, Any]) -> Group:
    """Return the class or level named by ``school`` and ``class`` or ``level``."""
    school, class_name, level = (values.get(k) for k in ("school", "class", "level"))
    fields = [v for v in (school, class_name, level) if v is not None]
    if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in fields) or not school:
        raise MissingFields("Name a school and either a class or a level.")
    try:
        return Group(str(school), class_name or None, level or None)
    except InvalidValue:
        raise MissingFields("Name a school and either a class or a level.") from None


def _confirmed(values: dict[str, Any]) -> int:
    """Return the number of people the caller confirmed (``people``)."""
    raw = values.get("people")
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 7:
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise MissingFields("Send the number of people you confirmed (people).")
    return raw


def do_bulk(action: str, values: dict[str, Any]) -> Outcome:
    """Check the group and the confirmed count, then do a bulk action for everyone in it."""
    scoped = sessions.actor().scoped
    group = _group(values)
    expected = _confirmed(values)
    if len(members(scoped, group)) != expected:
        raise CountChanged()
    return run(scoped, group, BULK[action])


# -- the JSON API ----------------------------------------------------------------------------


@api.blueprint.get("/classes")
def class_api() -> Response:
    """Return everyone in a class or level in scope, and the bulk actions that apply."""
    group = _group(dict(request.args))
    people = members(sessions.actor().scoped, group)
    return jsonify(group_json(group, people))


@api.blueprint.post("/classes/cards")
def cards_api() -> Response:
    """Print login cards (P1-3) for everyone in a class or level, confirmed by their number."""
    return jsonify(outcome_json(do_bulk("cards", api.body()), CARD))


@api.blueprint.post("/classes/reset")
def reset_api() -> Response:
    """Do the start-of-year reset (P4-6) of a class or level, confirmed by their number."""
    return jsonify(outcome_json(do_bulk("reset", api.body()), SLIP))


@api.blueprint.post("/people/<person_id>/card")
def card_api(person_id: str) -> Response:
    """Print a P1-3 child's login card: a temporary password and new pre-set answers."""
    api.body()
    card = sessions.actor().scoped.print_card(person_id)
    return jsonify(
        {
            "temporaryPassword": card.password,
            "answers": [{"question": q, "answer": a} for q, a in card.answers],
            "pdf": _pdf([card], CARD),
        }
    )


# -- the pages -------------------------------------------------------------------------------


def _group_page(group: Group) -> pages.Page:
    try:
        people = members(sessions.actor().scoped, group)
    except NotFound:
        return pages.render("message.html", 404, title="Not found", message=NO_CLASS)
    return pages.render("class.html", group=group_json(group, people), label=LABEL)


@pages.blueprint.get("/classes/<path:school>/<class_name>")
def class_page(school: str, class_name: str) -> pages.Page:
    """Show everyone in one class of one school, their status, and the bulk actions."""
    return _group_page(Group(school, class_name=class_name))


@pages.blueprint.get("/levels/<path:school>/<level>")
def level_page(school: str, level: str) -> pages.Page:
    """Show everyone in one level of one school, their status, and the bulk actions."""
    return _group_page(Group(school, level=level))


@pages.blueprint.get("/class-actions/<action>")
def confirm_bulk(action: str) -> pages.Page:
    """Say what a bulk action will do and to how many people, and ask to go on."""
    if action not in BULK:
        return pages.render("message.html", 404, title="Not found", message=pages.NO_ACTION)
    group = _group(dict(request.args))
    try:
        people = members(sessions.actor().scoped, group)
    except NotFound:
        return pages.render("message.html", 404, title="Not found", message=NO_CLASS)
    return pages.render(
        "bulk_confirm.html",
        group=group_json(group, people),
        label=group.label,
        action=action,
        title=LABEL[action],
        will=WILL[action],
    )


@pages.blueprint.post("/class-actions/<action>")
def bulk_page(action: str) -> pages.Page:
    """Do a confirmed bulk action; show who got a card, who did not, and the PDF."""
    if action not in BULK:
        return pages.render("message.html", 404, title="Not found", message=pages.NO_ACTION)
    values = {k: request.form.get(k, "")[:200] or None for k in ("school", "class", "level")}
    group = _group(values)
    try:
        outcome = do_bulk(action, values | {"people": request.form.get("people", "")})
    except CountChanged as exc:
        return pages.render("message.html", 409, title="The class changed", message=exc.detail)
    heading = CARD if action == "cards" else SLIP
    return pages.render(
        "bulk_done.html",
        result=outcome_json(outcome, heading),
        label=group.label,
        school=group.school,
        title=LABEL[action],
        filename=f"{heading.lower().replace(' ', '-')}s-{_slug(group)}.pdf",
    )


def _slug(group: Group) -> str:
    name = group.class_name or group.level or ""
    return "".join(c if c.isalnum() else "-" for c in name).strip("-") or "class"
