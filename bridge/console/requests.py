"""Parents' reset requests in the console: the queue's JSON API and its pages.

The routes join the console's own blueprints (``api.blueprint``, ``pages.blueprint``), so the
session, CSRF, headers and error answers are the console's. What an administrator sees and
may do is the request desk's rule over their scoped service (``core/request_desk.py``): a
request out of scope is the same 404 as a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, jsonify, redirect, request, url_for

from bridge.console import api, pages, present, sessions
from bridge.core.request_desk import Outcome, Queued, RequestDesk, Settled
from bridge.core.reset_requests import InvalidRequest, ResetRequest

SETTLED = "This request was settled already, by someone else or because it expired."
DID = {
    "reject": "Rejected: the request is closed with your reason.",
    "forward": "Forwarded: the form teacher of the class now sees this request.",
}
WILL = {
    "reset": "{name} gets a new temporary password, which you will see once, on a slip you can"
    " print for the parent. Their old password stops working, and they must choose a new one"
    " when they next sign in. The request is closed as resolved.",
    "reject": "The request is closed as rejected, with the reason you give. The parent is not"
    " told anything by MIMS: contact them if you need to.",
    "forward": "The request goes to the form teacher of class {klass}, who can reset the"
    " password or reject the request.",
}
LABEL = {"reset": "Reset the password", "reject": "Reject the request", "forward": "Forward"}


def desk() -> RequestDesk:
    """Return the app's desk of parents' requests."""
    result: RequestDesk = current_app.extensions["mims.requests"]
    return result


def request_json(found: ResetRequest, days: int) -> dict[str, Any]:
    """Return a request as the API and the pages show it (the contact only to its scope)."""
    settled = found.resolution
    return {
        "id": found.id,
        "childName": found.child_name,
        "school": found.school,
        "class": found.class_name,
        "contact": found.contact,
        "created": _time(found.created),
        "expires": _time(found.expires(days)),
        "status": found.status,
        "resolution": None
        if settled is None
        else {
            "action": settled.action,
            "by": settled.by,
            "at": _time(settled.at),
            "personId": settled.person_id or None,
            "reason": settled.reason or None,
        },
    }


def queued_json(queued: Queued, days: int) -> dict[str, Any]:
    """Return a request with its proposed matches."""
    matches = [present.item(m.person) | {"sameClass": m.same_class} for m in queued.matches]
    return request_json(queued.request, days) | {"matches": matches}


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _form(name: str) -> str:
    return request.form.get(name, "")[:1000].strip()


# -- the JSON API ----------------------------------------------------------------------------


@api.blueprint.get("/requests")
def list_requests() -> Response:
    """Return the waiting requests in the administrator's scope, oldest first, with matches."""
    scoped = sessions.actor().scoped
    found = desk().queue(scoped)
    items = [queued_json(q, desk().days) for q in found]
    return jsonify({"totalResults": len(items), "items": items})


@api.blueprint.get("/requests/<request_id>")
def get_request(request_id: str) -> Response:
    """Return one request in scope (any status), with matches while it waits."""
    queued = desk().get(sessions.actor().scoped, request_id)
    return jsonify(queued_json(queued, desk().days))


@api.blueprint.post("/requests/<request_id>/resolve")
def resolve_request(request_id: str) -> tuple[Response, int] | Response:
    """Reset the chosen child's password, reject with a reason, or forward to the teacher."""
    data = api.body()
    scoped = sessions.actor().scoped
    person_id, reason = data.get("personId"), data.get("reason")
    if not isinstance(person_id, str | None) or not isinstance(reason, str | None):
        raise InvalidRequest("personId", "send the child's id and the reason as text")
    try:
        outcome = desk().resolve(scoped, request_id, str(data.get("action")), person_id, reason)
    except Settled:
        return api.error("settled", SETTLED, 409)
    return jsonify(outcome_json(outcome, desk().days))


def outcome_json(outcome: Outcome, days: int) -> dict[str, Any]:
    """Return what resolving did: the request, the child, and a reset's temporary password."""
    body: dict[str, Any] = {"request": request_json(outcome.request, days) | {"matches": []}}
    if outcome.person is not None:
        body["person"] = present.item(outcome.person)
    if outcome.temporary_password is not None:
        body["temporaryPassword"] = outcome.temporary_password
    return body


@api.blueprint.errorhandler(InvalidRequest)
def _invalid(exc: InvalidRequest) -> tuple[Response, int]:
    response = jsonify({"error": "invalid_request", "detail": exc.words, "field": exc.field})
    return response, 400


# -- the pages -------------------------------------------------------------------------------


@pages.blueprint.get("/requests")
def queue_page() -> pages.Page:
    """List the waiting requests, oldest first."""
    scoped = sessions.actor().scoped
    items = [queued_json(q, desk().days) for q in desk().queue(scoped)]
    return pages.render("requests.html", requests=items, days=desk().days)


@pages.blueprint.get("/requests/<request_id>")
def request_page(request_id: str) -> pages.Page:
    """Show one request: the parent's words, the children it may mean, and the actions."""
    queued = desk().get(sessions.actor().scoped, request_id)
    done = DID.get(request.args.get("done", ""))
    return pages.render("request.html", req=queued_json(queued, desk().days), done=done)


@pages.blueprint.get("/requests/<request_id>/<action>")
def confirm_request(request_id: str, action: str) -> pages.Page:
    """Say what resolving will do (for a reset: to which child), and ask to go on."""
    scoped = sessions.actor().scoped
    queued = desk().get(scoped, request_id)
    if action not in WILL:
        return pages.render("message.html", 404, title="Not found", message=pages.NO_ACTION)
    person = None
    person_id = request.args.get("personId", "")[:100]
    if action == "reset" or person_id:
        if not person_id:
            return pages.render("message.html", 400, title="Choose a child", message=CHOOSE)
        person = present.item(scoped.get(person_id))
    will = WILL[action].format(
        name=person["name"] if person else "", klass=queued.request.class_name
    )
    return pages.render(
        "request_confirm.html",
        req=queued_json(queued, desk().days),
        action=action,
        label=LABEL[action],
        person=person,
        will=will,
    )


CHOOSE = "Choose the child whose password is reset, on the request's page."


@pages.blueprint.post("/requests/<request_id>/<action>")
def resolve_page(request_id: str, action: str) -> pages.Page | Response:
    """Resolve a confirmed request; a reset answers with the child's slip."""
    scoped = sessions.actor().scoped
    person_id = _form("person_id") or None
    reason = _form("reason") or None
    try:
        outcome = desk().resolve(scoped, request_id, action, person_id, reason)
    except Settled:
        return pages.render("message.html", 409, title="Already settled", message=SETTLED)
    except InvalidRequest as exc:
        queued = desk().get(scoped, request_id)
        person = present.item(scoped.get(person_id)) if person_id else None
        return pages.render(
            "request_confirm.html",
            400,
            req=queued_json(queued, desk().days),
            action=action,
            label=LABEL.get(action, action),
            person=person,
            will=WILL.get(action, "").format(
                name=person["name"] if person else "", klass=queued.request.class_name
            ),
            error=exc.words,
        )
    if outcome.temporary_password is not None and outcome.person is not None:
        return pages.render(
            "slip.html",
            person=present.item(outcome.person),
            temporary=outcome.temporary_password,
            portal=pages.portal_url(),
        )
    return redirect(url_for("console.request_page", request_id=request_id, done=action))
