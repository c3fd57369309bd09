"""People and their history as the console shows them: plain JSON, the same for pages and API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bridge.core.audit import Event
from bridge.core.people import Person

# What each operation in the audit trail means, in a school office's words.
OPERATIONS = {
    "unlock": "Unlocked",
    "reset_password": "Password reset to a temporary one",
    "reset": "Password reset to a temporary one",
    "clear_answers": "Challenge answers cleared",
    "disable": "Disabled",
    "enable": "Enabled",
    "change_password": "Password changed",
    "set_answers": "Challenge answers set",
    "create": "Account created",
    "update": "Details changed",
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
        "what": OPERATIONS.get(event.operation, event.operation.replace("_", " ").capitalize()),
        "operation": event.operation,
        "actor": event.actor,
        "door": event.door,
        "outcome": event.outcome,
    }


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds")
