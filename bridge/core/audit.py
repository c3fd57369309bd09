"""The audit trail's record and who is acting: what every change leaves behind.

A front door says once per request (or the ``mims`` command once per run) who acts and from
where: an :class:`Origin`, kept in a context variable so that it follows the request through
the core without being passed down. The audited ports (``core/audited.py``) turn each change
they carry into an :class:`Event` for the :class:`~bridge.core.ports.Audit` port. An event names
the fields a change set, never their values: no password, answer, token or recovery e-mail
reaches the trail.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

Door = Literal["scim", "portal", "cli", "console", "ldap", "other"]
SUCCESS = "success"


@dataclass(frozen=True)
class Origin:
    """Who acts, through which door, from where, under which request id.

    ``actor`` is a SCIM token's name, an administrator's or the CLI user's name; None means the
    person the change is about acts themself (the portal). ``seen`` remembers, for this request
    only, the login ID of people and accounts already read, so events can name them cheaply.
    """

    door: Door
    actor: str | None
    source: str
    request_id: str
    seen: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def acting_as(self, actor: str) -> Origin:
        """Return this origin with ``actor`` acting (a token once it is checked)."""
        return replace(self, actor=actor, seen=self.seen)


UNKNOWN = Origin("other", "unknown", "unknown", "")
_current: contextvars.ContextVar[Origin] = contextvars.ContextVar("mims_origin", default=UNKNOWN)


def origin() -> Origin:
    """Return who acts now (``UNKNOWN`` when no front door said)."""
    return _current.get()


def set_origin(value: Origin) -> contextvars.Token[Origin]:
    """Say who acts for the rest of this request or command; the token puts back the last."""
    return _current.set(value)


def reset_origin(token: contextvars.Token[Origin]) -> None:
    """Put back who acted before ``set_origin`` (at the end of a request, also a nested one)."""
    try:
        _current.reset(token)
    except ValueError:  # set in another context (another thread): nothing of ours to undo
        _current.set(UNKNOWN)


def act_as(actor: str) -> None:
    """Name the actor of the current origin (a SCIM token, once its name is known)."""
    _current.set(_current.get().acting_as(actor))


@dataclass(frozen=True)
class Event:
    """One change, as the audit trail keeps it (one JSON line).

    ``target`` is the entryUUID of the person or group changed (a token's name for tokens);
    ``login`` the person's login ID when known; ``attributes`` the names of the fields set;
    ``outcome`` is ``success`` or the domain error's name (``NotFound``, ``PolicyViolation``).
    """

    time: datetime
    door: str
    actor: str
    source: str
    request_id: str
    operation: str
    target: str = ""
    login: str = ""
    attributes: tuple[str, ...] = ()
    outcome: str = SUCCESS

    def as_json(self) -> dict[str, Any]:
        """Return the event as a JSON object (the time in ISO 8601, UTC)."""
        # Field by field: dataclasses.asdict deep-copies each value, a tenth of a PATCH's time.
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        data["time"] = self.time.astimezone(UTC).isoformat(timespec="milliseconds")
        data["attributes"] = list(self.attributes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """Return the event a JSON object holds; ValueError if it is not one."""
        try:
            return cls(
                time=datetime.fromisoformat(str(data["time"])),
                door=str(data["door"]),
                actor=str(data["actor"]),
                source=str(data["source"]),
                request_id=str(data.get("request_id", "")),
                operation=str(data["operation"]),
                target=str(data.get("target", "")),
                login=str(data.get("login", "")),
                attributes=tuple(str(a) for a in data.get("attributes", ())),
                outcome=str(data.get("outcome", SUCCESS)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an audit event: {exc}") from None

    def line(self) -> str:
        """Return the event as one line for people to read."""
        who = f"{self.actor} via {self.door} from {self.source}"
        about = self.login or self.target
        fields = ",".join(self.attributes) or "-"
        return (
            f"{self.time.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} {self.operation} {about or '-'} "
            f"[{fields}] by {who}: {self.outcome} (request {self.request_id or '-'})"
        )


@dataclass(frozen=True)
class Selection:
    """Which events ``mims audit`` shows: about a person, by an actor, since a time."""

    person: str | None = None
    actor: str | None = None
    since: datetime | None = None

    def admits(self, event: Event) -> bool:
        """Return whether ``event`` is one of those selected (names compared without case)."""
        if self.since is not None and event.time < self.since:
            return False
        if self.person and self.person.lower() not in (event.target.lower(), event.login.lower()):
            return False
        return not self.actor or self.actor.lower() == event.actor.lower()


def in_order(*sources: Iterable[Event]) -> Iterator[Event]:
    """Yield the events of several sources in time order."""
    yield from sorted((e for source in sources for e in source), key=lambda e: e.time)
