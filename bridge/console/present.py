"""People and their history as the console shows them: plain JSON, the same for pages and API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bridge.core.audit import Event
from bridge.core.people import Person

# What each operation in the audit trail means, in a school office's words.
OPERATIONS = {
    "lock.clear": "Unlocked",
    "password.reset": "Password reset to a temporary one",
    "password.change": "Password changed",
    "password.set": "Password set",
    "answers.clear": "Challenge answers cleared",
    "answers.set": "Challenge answers set",
    "answers.require_new": "Asked to choose new challenge answers",
    "answers.attempt": "Tried to reset the password with the answers",
    "answers.passed": "Answered the challenge questions",
    "account.start_year": "Start-of-year reset",
    "card.print": "Login card printed (new temporary password and answers)",
    "person.create": "Account created",
    "person.update": "Details changed",
    "person.rename": "Login ID changed",
    "person.change_role": "Role changed",
    "admin.unlock": "Tried to unlock",
    "admin.reset": "Tried to reset the password",
    "admin.clear_answers": "Tried to clear the challenge answers",
    "admin.disable": "Tried to disable",
    "admin.enable": "Tried to enable",
    "admin.print_card": "Tried to print the login card",
    "admin.view": "Tried to look at the account",
    # A parent's request (core/request_desk.py), on the page of the child it was matched to.
    "request.match": "Matched to a parent's reset request",
    "request.reset": "Parent's reset request resolved with a new password",
    "request.forward": "Parent's reset request forwarded to the form teacher",
    "request.reject": "Parent's reset request rejected",
}


def item(person: Person) -> dict[str, Any]:
    """Return a person as one item of a search's answer."""
    return {
        "id": person.id,
        "loginId": str(person.login_id),
        "name": person.display_name or person.full_name,
        "school": person.school,
        "class": person.class_name,
        "locked": person.lock.locked,
        "disabled": person.disabled,
        "mustChange": person.must_change,
        "answersSet": person.answers_set,
    }


def detail(person: Person, history: Iterable[Event] = ()) -> dict[str, Any]:
    """Return a person with everything their page shows, and their recent history."""
    return item(person) | {
        "role": person.role,
        "schools": list(person.schools),
        "level": person.level,
        "title": person.title,
        "lockedSince": _time(person.lock.locked_since),
        "passwordChanged": _time(person.password_changed),
        "history": [event_json(event) for event in history],
    }


def event_json(event: Event) -> dict[str, Any]:
    """Return one audit event as the person's history shows it."""
    return {
        "time": _time(event.time),
        "what": OPERATIONS.get(event.operation, event.operation),
        "operation": event.operation,
        "actor": event.actor,
        "door": event.door,
        "outcome": event.outcome,
    }


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds")
